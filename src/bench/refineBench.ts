/**
 * Refinement benchmark (inside the worker, on the shared device): the procedural vase (its own geometry and
 * texture) photographed by `views` cameras at size x size with the render stage; the refinement starts from a
 * degraded copy (vertices jittered by 0.5% of the radius, the texture blurred and darkened) and runs `iterations`
 * steps of `batch` views. Reports wall time, GPU ms per iteration split into raster / shading / backward /
 * optimiser (timestamp queries over a window of iterations), validation PSNR before/after and the VRAM peak.
 */
import { lookAt } from '../core/camera';
import { computeVertexNormals, type RgbaImage, type TexturedMesh } from '../core/mesh';
import { psnr } from '../eval/image';
import type { GpuContext } from '../gpu/device';
import { seededRandom } from '../ml/onnxBuilder';
import type { StageContext } from '../stages/context';
import type { RefineView } from '../stages/refine/problem';
import { DEFAULT_REFINE_OPTIONS, refineMesh, type RefineOptions, type RefineStats } from '../stages/refine/refineMesh';
import { bakeTexture } from '../stages/texture/bake';
import { MeshRenderer, MeshRenderers } from '../stages/render/renderMesh';
import { texturedRenderable } from '../stages/render/texturedRenderable';
import { makeVase } from '../synth/procedural';

export interface RefineBenchSpec {
  iterations?: number;
  size?: number;
  batch?: number;
  views?: number;
  textureSize?: number;
  /** Instead of the procedural benchmark: refinement settings on a real capture (bench/refineExperiment.ts). */
  experiment?: RefineExperimentSpec;
}

export async function benchmarkRefine(gpu: GpuContext, spec: RefineBenchSpec): Promise<Record<string, unknown>> {
  if (spec.experiment) return experimentRefine(gpu, spec.experiment);
  const iterations = spec.iterations ?? 500, size = spec.size ?? 512, batch = spec.batch ?? 4, viewCount = spec.views ?? 24;
  const scope = gpu.vram.scope('bench:refine');
  const ctx: StageContext = { gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined };
  const vase = makeVase(96, 64, spec.textureSize ?? 1024);
  const mesh: TexturedMesh = { positions: vase.positions, indices: vase.indices, uvs: vase.uvs, texture: vase.texture };
  const renderable = texturedRenderable(mesh, false);
  const { centre, radius } = renderable;
  gpu.vram.resetPeak();
  try {
    const renderer = new MeshRenderer(ctx, renderable, size, size);
    const views: RefineView[] = [];
    try {
      for (let k = 0; k < viewCount; k++) {
        const a = (2 * Math.PI * k) / viewCount;
        const eye = [centre[0] + 2.6 * radius * Math.cos(a), centre[1] + radius * (k % 2 ? 0.8 : -0.3), centre[2] + 2.6 * radius * Math.sin(a)];
        const K = [1.2 * size, 0, (size - 1) / 2, 0, 1.2 * size, (size - 1) / 2, 0, 0, 1];
        const camFromWorld = lookAt(eye, centre);
        const r = await renderer.render({ K, camFromWorld });
        views.push({ width: size, height: size, K, camFromWorld, rgba: r.rgba });
      }
    } finally {
      renderer.dispose();
    }
    // Degraded start: jittered vertices (seam copies moved together), blurred and darkened texture.
    const rand = seededRandom(3);
    const jitter = new Map<string, number[]>();
    const positions = mesh.positions.slice();
    for (let v = 0; v < positions.length; v += 3) {
      const key = `${positions[v]},${positions[v + 1]},${positions[v + 2]}`;
      if (!jitter.has(key)) jitter.set(key, [0, 1, 2].map(() => (rand() - 0.5) * 0.01 * radius));
      const j = jitter.get(key)!;
      for (let k = 0; k < 3; k++) positions[v + k] += j[k];
    }
    const T = mesh.texture.width, src = mesh.texture.data, blurred = new Uint8Array(src.length);
    for (let y = 0; y < T; y++) for (let x = 0; x < T; x++) for (let c = 0; c < 4; c++) {
      let s = 0, n = 0;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
        const xx = Math.min(T - 1, Math.max(0, x + dx)), yy = Math.min(T - 1, Math.max(0, y + dy));
        s += src[4 * (yy * T + xx) + c];
        n++;
      }
      blurred[4 * (y * T + x) + c] = c === 3 ? 255 : Math.round((0.85 * s) / n);
    }
    const start: TexturedMesh = { ...mesh, positions, texture: { width: T, height: T, data: blurred } };
    const validation = views.filter((_, i) => i % 8 === 7), train = views.filter((_, i) => i % 8 !== 7);
    const t0 = performance.now();
    const result = await refineMesh(start, train, validation, true, {
      ...DEFAULT_REFINE_OPTIONS, iterations, batchSize: batch, patience: 1e9, validateEvery: 50, timing: { from: 50, count: 50 },
    }, ctx);
    const wallMs = performance.now() - t0;
    const psnr = (mse: number) => 10 * Math.log10(1 / mse);
    return {
      iterations: result.stats.iterations,
      size,
      batch,
      views: viewCount,
      faces: mesh.indices.length / 3,
      textureSize: T,
      wallMs,
      wallMsPerIteration: wallMs / Math.max(1, result.stats.iterations),
      gpuMsPerIteration: result.stats.msPerIteration ?? null,
      validationPsnrBefore: psnr(result.stats.validationMseBefore),
      validationPsnrAfter: psnr(result.stats.validationMseBest),
      lossHistory: result.stats.lossHistory,
      vramPeakBytes: gpu.vram.getVramUsage().peakBytes,
      adapter: gpu.summary?.description ?? null,
    };
  } finally {
    await scope.cleanup();
  }
}

/** One refinement setting of an experiment: refine options, then what the exported texture is. */
export interface RefineVariant {
  name: string;
  /** Overrides of the refine options (DEFAULT_REFINE_OPTIONS otherwise); `iterations: 0` skips the refinement. */
  options: Partial<RefineOptions>;
  /** 'refined': the optimised texture (the model's output); 'rebake': baked again from the bake photos on the
   * refined geometry; 'rebake+tune': rebaked, then `tune` refine options on top (texture fine-tune). */
  texture: 'refined' | 'rebake' | 'rebake+tune';
  tune?: Partial<RefineOptions>;
}

/** A real capture's refinement, scored on held-out views: the photos come decoded (RGBA8, alpha = mask). */
export interface RefineExperimentSpec {
  mesh: { positions: Float32Array; indices: Uint32Array; uvs: Float32Array; texture: RgbaImage };
  /** The model's working images: training and validation views (as the refine model splits them). */
  train: RefineView[];
  validation: RefineView[];
  /** The photos the texture stage bakes from (full resolution up to the preset's bake size). */
  bake: RefineView[];
  /** Held-out views (never trained on) with their masks (255 = object). */
  heldOut: (RefineView & { mask: Uint8Array | null })[];
  hasMasks: boolean;
  variants: RefineVariant[];
}

/** Mean PSNR (inside the masks, as `npm run evaluate` scores) of `mesh` rendered at the held-out views. */
async function heldOutPsnr(ctx: StageContext, mesh: TexturedMesh, views: RefineExperimentSpec['heldOut']): Promise<{ psnr: number; perView: number[] }> {
  const perView: number[] = [];
  const renderers = new MeshRenderers(ctx, texturedRenderable(mesh, false));
  try {
    for (const v of views) perView.push(psnr((await renderers.of(v.width, v.height).render({ K: v.K, camFromWorld: v.camFromWorld })).rgba, v.rgba, v.mask));
  } finally {
    renderers.dispose();
  }
  return { psnr: perView.reduce((a, b) => a + b, 0) / Math.max(1, perView.length), perView };
}

/** Runs each variant from the same starting mesh and scores it on the held-out views (the experiment of issue 10). */
export async function experimentRefine(gpu: GpuContext, spec: RefineExperimentSpec): Promise<Record<string, unknown>> {
  const results: Record<string, unknown>[] = [];
  const base: TexturedMesh = { ...spec.mesh };
  const scoreScope = gpu.vram.scope('bench:refine-score');
  const ctxOf = (scope: ReturnType<GpuContext['vram']['scope']>): StageContext => ({ gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined });
  try {
    const before = await heldOutPsnr(ctxOf(scoreScope), base, spec.heldOut);
    results.push({ name: 'feed-forward', psnr: before.psnr, perView: before.perView });
    for (const variant of spec.variants) {
      const scope = gpu.vram.scope('bench:refine-experiment');
      const ctx = ctxOf(scope);
      const t0 = performance.now();
      try {
        const options = { ...DEFAULT_REFINE_OPTIONS, ...variant.options };
        let mesh = base;
        let stats: RefineStats | null = null;
        if (options.iterations > 0) {
          const r = await refineMesh(base, spec.train, spec.validation, spec.hasMasks, options, ctx);
          mesh = r.mesh;
          stats = r.stats;
        }
        const afterRefine = variant.texture === 'refined' ? null : (await heldOutPsnr(ctx, mesh, spec.heldOut)).psnr;
        let tuneStats: RefineStats | null = null;
        if (variant.texture !== 'refined') {
          const normals = mesh.normals ?? computeVertexNormals(mesh.positions, mesh.indices);
          const baked = await bakeTexture({ positions: mesh.positions, normals, indices: mesh.indices, uvs: mesh.uvs, atlasSize: mesh.texture.width, padding: 4 }, spec.bake, ctx);
          mesh = { ...mesh, normals, texture: baked.texture };
          if (variant.texture === 'rebake+tune') {
            const r = await refineMesh(mesh, spec.train, spec.validation, spec.hasMasks, { ...DEFAULT_REFINE_OPTIONS, ...variant.tune }, ctx);
            mesh = r.mesh;
            tuneStats = r.stats;
          }
        }
        const scored = await heldOutPsnr(ctx, mesh, spec.heldOut);
        const psnrOf = (mse: number) => 10 * Math.log10(1 / mse);
        const brief = (s: RefineStats | null) => s && {
          iterations: s.iterations, bestIteration: s.bestIteration, validationPsnrBefore: psnrOf(s.validationMseBefore), validationPsnrBest: psnrOf(s.validationMseBest),
          history: s.lossHistory.map((h) => [h.iteration, +h.train.toFixed(5), +psnrOf(h.validation).toFixed(2)]), gains: [Math.min(...s.gains), Math.max(...s.gains)].map((g) => +g.toFixed(3)), light: s.light.map((l) => +l.toFixed(3)), vertexShiftMean: s.vertexShiftMean,
        };
        results.push({ name: variant.name, psnr: scored.psnr, perView: scored.perView, psnrRefinedTexture: afterRefine, refine: brief(stats), tune: brief(tuneStats), ms: performance.now() - t0, positions: mesh.positions, indices: mesh.indices });
      } finally {
        await scope.cleanup();
      }
    }
  } finally {
    await scoreScope.cleanup();
  }
  return { results };
}
