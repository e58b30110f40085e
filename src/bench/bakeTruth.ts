/**
 * Geometry vs texture: a synthetic capture's TRUE mesh (gt.json's mesh and worldFromMesh) is textured by the texture
 * stage from the capture's training views and scored at the held-out views, next to the mesh the feed-forward path
 * fuses from the same capture's depth. When the true mesh bakes well and the fused one does not, the geometry limits;
 * when the true mesh bakes poorly too, the bake does. The true mesh with its own true texture is scored as well: it
 * measures the scoring itself (renderer vs synthesizer, antialiased edges), the ceiling any bake can reach.
 * PSNR is split into the mask's 2-pixel boundary band and its interior, where the error sits differently for the two.
 */
import { throwIfAborted } from '../core/errors';
import { computeVertexNormals, type Mesh, type TexturedMesh } from '../core/mesh';
import type { GpuContext } from '../gpu/device';
import { decodePhotoInBrowser } from '../io/decode';
import { errorBreakdown } from '../eval/image';
import { ingestCapture } from '../io/ingest';
import { loadTexturedObj, transformRenderable } from '../io/objMesh';
import type { StageContext } from '../stages/context';
import { MeshRenderers } from '../stages/render/renderMesh';
import { texturedRenderable } from '../stages/render/texturedRenderable';
import { FLOATS_PER_CORNER, type RenderableMesh } from '../stages/render/types';
import { textureMesh, type TextureOptions } from '../stages/texture/textureMesh';
import type { TexturePreset } from '../stages/texture/decimate';

export interface BakeTruthSpec {
  kind: 'bake-truth';
  /** The capture's files (images, masks, depth, cameras) as ingest reads them. */
  capture: { path: string; bytes: ArrayBuffer }[];
  /** The true mesh's files (OBJ, MTL, texture) by the names the OBJ uses. */
  mesh: { name: string; bytes: ArrayBuffer }[];
  objName: string;
  /** gt.json's worldFromMesh, row-major 4x4. */
  worldFromMesh: number[];
  preset: TexturePreset;
  holdout: number;
  /** Also fuse the capture's depth (the feed-forward path) and bake that mesh. */
  fused?: boolean;
  /** Texture stage options (bake long side, bake settings) for the true mesh, one bake each; default one bake with the
   * stage's defaults. The fused mesh is baked with the first. */
  variants?: Pick<TextureOptions, 'bakeLongSide' | 'atlasSize' | 'bake'>[];
  /** Edge margins for the fused mesh's bakes, in fusion voxels (one bake each; default [0]: the 2-pixel floor). */
  fusedEdgeMarginVoxels?: number[];
  /** Further fused-mesh bakes, one each: a fusion grid (voxels per side) and texture options (face budget, atlas...). */
  fusedVariants?: ({ voxelsPerSide?: number } & Pick<TextureOptions, 'bakeLongSide' | 'atlasSize' | 'bake' | 'faceBudget'>)[];
}

interface HeldOut { name: string; width: number; height: number; K: number[]; camFromWorld: number[]; rgba: Uint8Array; mask: Uint8Array; band: Uint8Array; /** The true mesh's rendered coverage (alpha), once scored. */ trueAlpha?: Uint8Array }

/** Squared-error sums inside the mask, split into the 2-pixel boundary band and the interior. */
function errorSums(rendered: Uint8Array, v: HeldOut) {
  let band = 0, bandN = 0, inner = 0, innerN = 0;
  for (let i = 0; i < v.width * v.height; i++) {
    if (!v.mask[i]) continue;
    let e = 0;
    for (let c = 0; c < 3; c++) e += (rendered[4 * i + c] - v.rgba[4 * i + c]) ** 2;
    if (v.band[i]) {
      band += e;
      bandN += 3;
    } else {
      inner += e;
      innerN += 3;
    }
  }
  return { band, bandN, inner, innerN };
}

const db = (sum: number, n: number) => (n ? 10 * Math.log10((255 * 255) / Math.max(1e-9, sum / n)) : NaN);

/** The mesh in unlit white: its render's red channel is the 4x MSAA coverage of each pixel (the background is black). */
function whiteOf(mesh: RenderableMesh): RenderableMesh {
  const corners = new Float32Array(mesh.corners);
  for (let i = 8; i < corners.length; i += FLOATS_PER_CORNER) corners.set([1, 1, 1], i);
  return { ...mesh, corners, texture: null, vertexColors: true };
}

async function coverageOf(ctx: StageContext, mesh: RenderableMesh, views: HeldOut[]): Promise<Uint8Array[]> {
  const renderers = new MeshRenderers(ctx, whiteOf(mesh));
  try {
    const out: Uint8Array[] = [];
    for (const v of views) out.push((await renderers.of(v.width, v.height).render({ K: v.K, camFromWorld: v.camFromWorld })).rgba.filter((_, i) => i % 4 === 0));
    return out;
  } finally {
    renderers.dispose();
  }
}

async function score(ctx: StageContext, mesh: RenderableMesh, views: HeldOut[], keepAlpha = false) {
  const coverage = await coverageOf(ctx, mesh, views);
  if (keepAlpha) views.forEach((v, k) => (v.trueAlpha = coverage[k]));
  const perView: number[] = [];
  let band = 0, bandN = 0, inner = 0, innerN = 0;
  // evaluate's classes (outline / miss / meshEdge / interior) summed over the views, and the outline band's error
  // where the mesh does not render at all (a silhouette inside the true one) apart from where it renders a wrong colour.
  const classes: Record<string, number> = { outline: 0, miss: 0, meshEdge: 0, interior: 0 };
  let outlineUncovered = 0, total = 0, spill = 0, bandUncoveredPixels = 0, bandPixels = 0;
  // Covered band pixels: their error, and what is left of it with the true mesh's coverage (the rendered colour
  // unpremultiplied from this mesh's coverage, times the true one's; the background is black): the rest is the outline's place.
  let bandCovered = 0, bandCoveredColourOnly = 0;
  const renderers = new MeshRenderers(ctx, mesh);
  try {
    for (const v of views) {
      throwIfAborted(ctx.signal);
      const r = (await renderers.of(v.width, v.height).render({ K: v.K, camFromWorld: v.camFromWorld })).rgba;
      const alpha = coverage[perView.length];
      const s = errorSums(r, v);
      const b = errorBreakdown(r, v.rgba, v.mask, v.width, v.height);
      for (const [k, c] of Object.entries(b.classes)) classes[k] += c.sse;
      spill += b.spillPixels;
      for (let i = 0; i < v.width * v.height; i++) {
        if (!v.mask[i]) continue;
        let e = 0;
        for (let c = 0; c < 3; c++) e += (r[4 * i + c] - v.rgba[4 * i + c]) ** 2;
        total += e;
        if (v.band[i]) {
          bandPixels++;
          if (r[4 * i + 3] === 0) {
            outlineUncovered += e;
            bandUncoveredPixels++;
          } else if (v.trueAlpha) {
            bandCovered += e;
            const scale = v.trueAlpha[i] / Math.max(1, alpha[i]);
            for (let c = 0; c < 3; c++) bandCoveredColourOnly += (Math.min(255, r[4 * i + c] * scale) - v.rgba[4 * i + c]) ** 2;
          }
        }
      }
      perView.push(db(s.band + s.inner, s.bandN + s.innerN));
      band += s.band;
      bandN += s.bandN;
      inner += s.inner;
      innerN += s.innerN;
    }
  } finally {
    renderers.dispose();
  }
  return {
    // The mean of per-view PSNRs, as `npm run evaluate` reports it.
    psnr: perView.reduce((a, b) => a + b, 0) / Math.max(1, perView.length),
    perView: perView.map((p) => Math.round(p * 100) / 100),
    interiorPsnr: db(inner, innerN),
    bandPsnr: db(band, bandN),
    bandErrorShare: band / Math.max(1e-9, band + inner),
    classShares: Object.fromEntries(Object.entries(classes).map(([k, v]) => [k, Math.round((1000 * v) / Math.max(1e-9, total)) / 1000])),
    bandUncoveredShare: Math.round((1000 * outlineUncovered) / Math.max(1e-9, total)) / 1000,
    bandUncoveredPixels: bandUncoveredPixels / Math.max(1, bandPixels),
    spillPixels: spill,
    // shares of the total error: covered band pixels, and the part of it left with the true coverage
    bandCoveredShare: Math.round((1000 * bandCovered) / Math.max(1e-9, total)) / 1000,
    bandCoveredColourShare: Math.round((1000 * bandCoveredColourOnly) / Math.max(1e-9, total)) / 1000,
  };
}

export async function runBakeTruth(ctx: StageContext, spec: BakeTruthSpec): Promise<Record<string, unknown>> {
  const capture = await ingestCapture(spec.capture, { preset: spec.preset, holdout: spec.holdout, decodePhoto: decodePhotoInBrowser });
  const heldOut: HeldOut[] = [];
  for (const v of capture.views) {
    if (!v.heldOut || !v.camFromWorld) continue;
    const n = v.width * v.height;
    const mask = v.mask ? v.mask.map((m) => (m ? 1 : 0)) : new Uint8Array(n).fill(1);
    // The 2-pixel band: mask pixels with a background pixel within 2 pixels (Chebyshev).
    const band = new Uint8Array(n);
    for (let y = 0; y < v.height; y++) for (let x = 0; x < v.width; x++) {
      if (!mask[y * v.width + x]) continue;
      search: for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= v.width || yy >= v.height || !mask[yy * v.width + xx]) {
          band[y * v.width + x] = 1;
          break search;
        }
      }
    }
    heldOut.push({ name: v.name, width: v.width, height: v.height, K: v.K, camFromWorld: v.camFromWorld, rgba: v.image.data, mask, band });
  }
  if (!heldOut.length) throw new Error('bake-truth: no held-out view with a camera (give holdout > 1)');
  const files = Object.fromEntries(spec.mesh.map((f) => [f.name, new Uint8Array(f.bytes)]));
  const loaded = loadTexturedObj(spec.objName, files);
  const out: Record<string, unknown> = { heldOut: heldOut.map((v) => v.name), trainingViews: capture.views.filter((v) => !v.heldOut).length };
  // 1. The true mesh with its true texture: the scoring's ceiling.
  out.trueTexture = await score(ctx, transformRenderable(loaded.renderable, spec.worldFromMesh), heldOut, true);
  // 2. The true mesh (welded OBJ positions) through the texture stage.
  const m = spec.worldFromMesh;
  const P = new Float32Array(loaded.positions.length);
  for (let i = 0; i < P.length; i += 3) {
    const [x, y, z] = [loaded.positions[i], loaded.positions[i + 1], loaded.positions[i + 2]];
    for (let r = 0; r < 3; r++) P[i + r] = m[4 * r] * x + m[4 * r + 1] * y + m[4 * r + 2] * z + m[4 * r + 3];
  }
  const trueMesh: Mesh = { positions: P, indices: new Uint32Array(loaded.indices), normals: computeVertexNormals(P, new Uint32Array(loaded.indices)) };
  const variants = spec.variants?.length ? spec.variants : [{}];
  const baked = [];
  for (const variant of variants) {
    const t0 = performance.now();
    const trueBaked = await textureMesh(trueMesh, capture.views, spec.preset, ctx, { decodePhoto: decodePhotoInBrowser, ...variant });
    const s = await score(ctx, texturedRenderable(trueBaked.mesh, true), heldOut);
    baked.push({ variant, ...s, faces: trueBaked.stats.facesOut, charts: trueBaked.stats.charts, coverage: trueBaked.stats.coveredTexels / Math.max(1, trueBaked.stats.surfaceTexels), gainRange: [Math.min(...trueBaked.stats.gains), Math.max(...trueBaked.stats.gains)], ms: Math.round(performance.now() - t0) });
  }
  out.trueMeshBaked = baked;
  const options: TextureOptions = { decodePhoto: decodePhotoInBrowser, ...variants[0] };
  // 3. The fused mesh, as the feed-forward model makes it from the given depth.
  if (spec.fused) {
    const { fuseDepthMaps } = await import('../stages/fusion/fuseDepth');
    const posed = capture.views.filter((v) => !v.heldOut && v.camFromWorld && v.depthMeters);
    const fused = await fuseDepthMaps(posed, { preset: spec.preset }, ctx);
    out.fusedMeshBaked = [];
    for (const voxels of spec.fusedEdgeMarginVoxels ?? [0]) {
      const fusedBaked = await textureMesh(fused.mesh, capture.views, spec.preset, ctx, { ...options, bake: { ...options.bake, edgeMargin: voxels * fused.spec.voxelSize } });
      (out.fusedMeshBaked as unknown[]).push({ edgeMarginVoxels: voxels, voxelSize: fused.spec.voxelSize, ...(await score(ctx, texturedRenderable(fusedBaked.mesh, true), heldOut)), faces: fusedBaked.stats.facesOut, removedFaces: fusedBaked.stats.removedFaces, holesFilled: fusedBaked.stats.holesFilled, charts: fusedBaked.stats.charts, coverage: fusedBaked.stats.coveredTexels / Math.max(1, fusedBaked.stats.surfaceTexels) });
    }
    for (const variant of spec.fusedVariants ?? []) {
      const { voxelsPerSide, ...textureOptions } = variant;
      const t0 = performance.now();
      const fusedV = voxelsPerSide ? await fuseDepthMaps(posed, { preset: spec.preset, voxelsPerSide }, ctx) : fused;
      const t1 = performance.now();
      const b = await textureMesh(fusedV.mesh, capture.views, spec.preset, ctx, { ...options, ...textureOptions });
      (out.fusedMeshBaked as unknown[]).push({ variant, voxelSize: fusedV.spec.voxelSize, ...(await score(ctx, texturedRenderable(b.mesh, true), heldOut)), facesIn: b.stats.facesIn, faces: b.stats.facesOut, charts: b.stats.charts, coverage: b.stats.coveredTexels / Math.max(1, b.stats.surfaceTexels), fuseMs: Math.round(t1 - t0), textureMs: Math.round(performance.now() - t1) });
    }
  }
  return out;
}

/** The kernel-check entry (a scope of its own, freed at the end). */
export async function runBakeTruthCheck(gpu: GpuContext, spec: BakeTruthSpec): Promise<Record<string, unknown>> {
  const scope = gpu.vram.scope('check:bake-truth');
  try {
    return { ...(await runBakeTruth({ gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined }, spec)), uncapturedErrors: gpu.uncapturedErrors.length };
  } finally {
    await scope.cleanup();
  }
}
