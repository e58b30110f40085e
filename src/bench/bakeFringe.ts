/**
 * The depth-edge fringe with a known answer: a uniformly coloured wall (1 x 1, at z = 0) in front of a sky-blue
 * backdrop is rendered from views around it; the wall is then baked onto a mesh with the error fusion typically has at
 * an open border: a little too large (overshoot beyond the true edge) and a little in front. Texels near the border
 * see the backdrop in the photos; the figures say how much of it reaches the texture (mean colour error against the
 * wall's colour) in the border band, in the overshoot and inside, for the bake settings given.
 */
import { lookAt } from '../core/camera';
import { computeVertexNormals } from '../core/mesh';
import type { GpuContext } from '../gpu/device';
import type { StageContext } from '../stages/context';
import { MeshRenderer } from '../stages/render/renderMesh';
import { FLOATS_PER_CORNER, type RenderableMesh } from '../stages/render/types';
import { bakeTexture, type BakeSettings, type BakeView } from '../stages/texture/bake';

export interface BakeFringeSpec {
  kind: 'bake-fringe';
  views: number;
  size: [number, number];
  atlasSize: number;
  /** How far the baked mesh reaches beyond the true wall's edge, and how far in front of it (world units). */
  overshoot: number;
  offset: number;
  settings: BakeSettings[];
}

const WALL = [0.8, 0.45, 0.2], SKY = [0.6, 0.8, 0.95];

function quad(corners: number[], half: number, z: number, colour: number[]) {
  const p = [[-half, -half], [half, -half], [half, half], [-half, -half], [half, half], [-half, half]];
  for (const [x, y] of p) corners.push(x, y, z, 0, 0, 0, 0, 1, ...colour);
}

export async function runBakeFringe(gpu: GpuContext, spec: BakeFringeSpec): Promise<Record<string, unknown>> {
  const scope = gpu.vram.scope('check:bake-fringe');
  const ctx: StageContext = { gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined };
  try {
    const corners: number[] = [];
    quad(corners, 0.5, 0, WALL);
    quad(corners, 10, -1.5, SKY);
    const scene: RenderableMesh = { corners: new Float32Array(corners), texture: null, vertexColors: true, centre: [0, 0, 0], radius: 3 };
    if (corners.length !== 12 * FLOATS_PER_CORNER) throw new Error('bake-fringe: corner layout changed');
    const [w, h] = spec.size;
    const f = 0.9 * w;
    const K = [f, 0, (w - 1) / 2, 0, f, (h - 1) / 2, 0, 0, 1];
    const renderer = new MeshRenderer(ctx, scene, w, h);
    const views: BakeView[] = [];
    for (let k = 0; k < spec.views; k++) {
      // Around the wall's normal: up to 40 degrees sideways, alternately 15 degrees up and down, 3 units away.
      const yaw = ((k / Math.max(1, spec.views - 1)) * 2 - 1) * 0.7, pitch = k % 2 ? 0.26 : -0.26;
      const eye = [3 * Math.sin(yaw) * Math.cos(pitch), 3 * Math.sin(pitch), 3 * Math.cos(yaw) * Math.cos(pitch)];
      const camFromWorld = lookAt(eye, [0, 0, 0], [0, 1, 0]);
      const view = await renderer.render({ K, camFromWorld });
      for (let i = 3; i < view.rgba.length; i += 4) view.rgba[i] = 255; // a photo: no mask
      views.push({ width: w, height: h, K, camFromWorld, rgba: view.rgba });
    }
    renderer.dispose();
    // The baked mesh: an n x n grid over the enlarged wall, in front by `offset`, uv = planar.
    const H = 0.5 + spec.overshoot, n = 16;
    const P: number[] = [], U: number[] = [], I: number[] = [];
    for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) {
      P.push(-H + (2 * H * i) / n, H - (2 * H * j) / n, spec.offset);
      U.push(i / n, j / n);
    }
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      const a = j * (n + 1) + i;
      I.push(a, a + n + 2, a + 1, a, a + n + 1, a + n + 2);
    }
    const positions = new Float32Array(P), indices = new Uint32Array(I);
    const normals = computeVertexNormals(positions, indices);
    const size = spec.atlasSize;
    const results = [];
    for (const settings of spec.settings) {
      const baked = await bakeTexture({ positions, normals, indices, uvs: new Float32Array(U), atlasSize: size, padding: 2, exposureCompensation: false, ...settings }, views, ctx);
      // Mean colour error (0-255, RGB mean of absolute differences) against the wall's colour, per region.
      const sums = { inside: [0, 0], band: [0, 0], overshoot: [0, 0] };
      const band = 0.06;
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        const px = -H + ((x + 0.5) / size) * 2 * H, py = H - ((y + 0.5) / size) * 2 * H;
        const m = Math.max(Math.abs(px), Math.abs(py));
        const region = m > 0.5 ? 'overshoot' : m > 0.5 - band ? 'band' : 'inside';
        const t = baked.texture.data.subarray(4 * (y * size + x), 4 * (y * size + x) + 3);
        const e = (Math.abs(t[0] - 255 * WALL[0]) + Math.abs(t[1] - 255 * WALL[1]) + Math.abs(t[2] - 255 * WALL[2])) / 3;
        sums[region][0] += e;
        sums[region][1]++;
      }
      results.push({
        settings,
        insideError: sums.inside[0] / Math.max(1, sums.inside[1]),
        bandError: sums.band[0] / Math.max(1, sums.band[1]),
        overshootError: sums.overshoot[0] / Math.max(1, sums.overshoot[1]),
        coverage: baked.stats.coveredTexels / Math.max(1, baked.stats.surfaceTexels),
      });
    }
    return { uncapturedErrors: gpu.uncapturedErrors.length, results };
  } finally {
    await scope.cleanup();
  }
}
