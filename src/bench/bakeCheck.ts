/**
 * Baking check with a known answer: views of a textured mesh are rendered (unlit, exact cameras), then the mesh's
 * OWN uvs are baked from them; the baked texture is compared with the true one at the texels the surface covers
 * (PSNR in texture space) and coverage is reported. Validates the baker, its visibility and the UV conventions.
 */
import type { BakeCheckRequest } from '../../workers/api';
import { lookAt } from '../core/camera';
import { computeVertexNormals } from '../core/mesh';
import type { GpuContext } from '../gpu/device';
import { psnr } from '../eval/image';
import { loadTexturedObj } from '../io/objMesh';
import { parseObj } from '../export/parse';
import type { StageContext } from '../stages/context';
import { MeshRenderer } from '../stages/render/renderMesh';
import { bakeTexture, type BakeView } from '../stages/texture/bake';

export async function runBakeCheck(gpu: GpuContext, request: BakeCheckRequest): Promise<Record<string, number>> {
  const scope = gpu.vram.scope('check:bake');
  const ctx: StageContext = { gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined };
  try {
    const files = Object.fromEntries(request.files.map((f) => [f.name, new Uint8Array(f.bytes)]));
    const loaded = loadTexturedObj(request.objName, files);
    const truth = loaded.renderable.texture!;
    // Views on two rings around the bounding sphere.
    const [w, h] = request.size;
    const f = 0.9 * w;
    const K = [f, 0, (w - 1) / 2, 0, f, (h - 1) / 2, 0, 0, 1];
    const c = loaded.renderable.centre, r = loaded.renderable.radius;
    const renderer = new MeshRenderer(ctx, loaded.renderable, w, h);
    const views: BakeView[] = [];
    for (let k = 0; k < request.views; k++) {
      const a = (2 * Math.PI * k) / request.views, el = k % 2 ? -0.35 : 0.6;
      const eye = [c[0] + 2.6 * r * Math.cos(a) * Math.cos(el), c[1] + 2.6 * r * Math.sin(el), c[2] + 2.6 * r * Math.sin(a) * Math.cos(el)];
      const camFromWorld = lookAt(eye, c, [0, 1, 0]);
      const view = await renderer.render({ K, camFromWorld });
      // Every other view is exposed differently (x0.7, x1.3 alternately) when the check asks for it.
      const exposure = request.exposureChange ? (k % 2 ? 0.7 : 1.3) : 1;
      if (exposure !== 1) for (let i = 0; i < view.rgba.length; i++) if (i % 4 !== 3) view.rgba[i] = Math.min(255, Math.round(view.rgba[i] * exposure));
      views.push({ width: w, height: h, K, camFromWorld, rgba: view.rgba });
    }
    renderer.dispose();
    // The mesh with one uv per vertex: split OBJ corners by (position, uv) pairs.
    const obj = parseObj(files[request.objName]);
    const key = new Map<string, number>();
    const positions: number[] = [], uvs: number[] = [], indices: number[] = [];
    for (let i = 0; i < obj.faceV.length; i++) {
      const v = obj.faceV[i], t = obj.faceVt[i];
      const id = `${v}/${t}`;
      let out = key.get(id);
      if (out === undefined) {
        out = positions.length / 3;
        key.set(id, out);
        positions.push(obj.positions[3 * v], obj.positions[3 * v + 1], obj.positions[3 * v + 2]);
        uvs.push(obj.uvs[2 * t], 1 - obj.uvs[2 * t + 1]);
      }
      indices.push(out);
    }
    const P = new Float32Array(positions), I = new Uint32Array(indices);
    const baked = await bakeTexture({ positions: P, normals: computeVertexNormals(P, I), indices: I, uvs: new Float32Array(uvs), atlasSize: request.atlasSize, padding: 0, exposureCompensation: request.exposureCompensation ?? true }, views, ctx);
    // Compare at the true texture's resolution where the bake saw the surface (dilation off, coverage from the bake).
    const size = request.atlasSize;
    const sample = (img: { width: number; height: number; data: Uint8Array }, x: number, y: number) => {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / size)), sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / size));
      return img.data.subarray(4 * (sy * img.width + sx), 4 * (sy * img.width + sx) + 4);
    };
    const a = new Uint8Array(size * size * 4), b = new Uint8Array(size * size * 4), mask = new Uint8Array(size * size);
    const seen = baked.seen;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const i = y * size + x;
      a.set(baked.texture.data.subarray(4 * i, 4 * i + 4), 4 * i);
      b.set(sample(truth, x, y), 4 * i);
      mask[i] = seen[i] ? 255 : 0;
    }
    // With changed exposures the truth is only known up to one global gain: compare after matching mean luma.
    let la = 0, lb = 0;
    for (let i = 0; i < size * size; i++) if (mask[i]) for (let ch = 0; ch < 3; ch++) {
      la += a[4 * i + ch];
      lb += b[4 * i + ch];
    }
    const scale = la > 0 ? lb / la : 1;
    for (let i = 0; i < a.length; i++) if (i % 4 !== 3) a[i] = Math.min(255, Math.round(a[i] * scale));
    return { uncapturedErrors: gpu.uncapturedErrors.length, psnr: psnr(a, b, mask), coverage: baked.stats.coveredTexels / Math.max(1, baked.stats.surfaceTexels), surfaceTexels: baked.stats.surfaceTexels, views: views.length, gainSpread: Math.max(...baked.stats.gains) / Math.min(...baked.stats.gains) };
  } finally {
    await scope.cleanup();
  }
}
