/**
 * Differentiable-rendering refinement (the nvdiffrec role): starting from a textured mesh, Adam on vertex positions,
 * the kd texture, per-view exposure gains and a global light, so that renders match the photos (L2 inside the
 * masks, outline-consistency silhouette loss against the masks, uniform Laplacian on the vertex offsets).
 * Minibatches of views; warm-up + cosine learning-rate schedule; early stop on held-back validation views (the
 * best parameters are kept). The result is a TexturedMesh whose texture has the fitted light baked in at each
 * texel's normal, so that viewers that render unlit albedo (and the evaluator) see what the photos saw.
 */
import { throwIfAborted } from '../../core/errors';
import { computeVertexNormals, type RgbaImage, type TexturedMesh } from '../../core/mesh';
import { GpuTimer } from '../../gpu/timer';
import { seededRandom } from '../../ml/onnxBuilder';
import type { StageContext } from '../context';
import { sampleVertexColors } from '../texture/bake';
import { RefineProblem, type Layout, type RefineView } from './problem';
import { resampleView } from './resample';
import { gpuDone } from '../../gpu/readback';

export interface RefineOptions {
  iterations: number;
  batchSize: number;
  /** Adam learning rates: positions in units of the mesh's bounding radius, texture in 0..1 units. */
  lrPos: number;
  lrTex: number;
  lrGain: number;
  lrLight: number;
  /** Weight of the Laplacian energy (mean over vertices of |L(offset) / radius|^2) against the mean pixel loss. */
  lapWeight: number;
  /** Weight of the silhouette loss per pixel (0 = off; also off without masks). */
  silWeight: number;
  /** Fraction of the iterations spent warming the learning rates up. */
  warmup: number;
  /** Validate every this many iterations; stop after `patience` validations without improvement. */
  validateEvery: number;
  patience: number;
  seed: number;
  /** Resampling of the photos before fitting (resample.ts): < 1 faster, > 1 supersampled visibility. */
  imageScale: number;
  /**
   * Coarse levels of the multi-resolution texture step (refine_pyramid.wgsl: Adam on a Laplacian pyramid of kd,
   * blocks of 2..2^levels texels; 0 = per-texel Adam only), and the finest level's share of lrTex.
   */
  texPyramid: number;
  texFineScale: number;
  /**
   * The exported texture: 0 = the optimised kd (with the fitted light baked in); 1 = baked again from the photos
   * (the texture stage's bake, full-resolution photos) on the refined geometry; 2 = baked again, then
   * `tuneIterations` of texture-only refinement on top (refine model, src/models/refine.ts).
   */
  texture: number;
  tuneIterations: number;
  /** Texture learning rate of the fine-tune after the re-bake. */
  tuneLrTex: number;
  /**
   * REFINE_KEEP_RULE (refine model): the exported refined mesh and the input mesh are both rendered at the validation
   * photos; when the refined one is worse there, the model gives the input mesh back unchanged. false: always the
   * refined mesh.
   */
  keepCheck: boolean;
  /**
   * The colour term's edge blend across occlusion edges inside the surface as well as at its outline
   * (refine_forward.wgsl): where a part of the surface ends in front of another, the pixels on both sides mix the two
   * surfaces by where the edge crosses between them, and the edge's vertices get the gradient of that mixture.
   */
  occlusionBlend: boolean;
  /** Time passes (timestamp queries) for iterations [from, from + count). */
  timing?: { from: number; count: number };
}

export const DEFAULT_REFINE_OPTIONS: RefineOptions = {
  iterations: 400,
  batchSize: 4,
  // lrPos 4e-4 (x the mesh radius per step) with lapWeight 500, against 1.2e-4 with 2e4 (session 3's step, chosen at the
  // draft preset before the feed-forward geometry was as good as now): chosen on the refinement's own validation
  // photos (H200, standard, holdout 8, docs/benchmarks.md session 15), spot without depth 23.88 -> 25.33 dB, bob
  // 22.16 -> 23.31, lego 21.28 -> 22.31; at the held-out views 24.04 -> 25.74, 23.83 -> 24.70, 22.05 -> 23.21 dB. The
  // Laplacian on the offsets at 2e4 held the vertices to the fused surface's shape, so the photos could not move the
  // geometry (the step alone at 2e4: spot 4e-4 24.45 dB validation; lego 8e-4 21.45 dB validation, 22.28 held-out).
  // At 200 validation falls again on spot and bob while lego rises (22.57 dB): 500 had the best sum then (session 15,
  // before the occlusion blend; lapWeight below).
  lrPos: 4e-4,
  lrTex: 0.003,
  lrGain: 0.005,
  lrLight: 0.005,
  // 100 since the occlusion blend (session 18; H200, standard, holdout 8, 600 iterations; validation photos, then
  // held-out): lapWeight 500 / 200 / 100 / 50 gave lego 23.90 / 24.28 / 24.48 / 24.64 dB (held-out 25.23 / 25.71 /
  // 25.96 / 26.18), spot without depth 26.41 / 26.61 / 26.52 / 25.91 (26.68 / 26.79 / 26.84 / -), bob 24.41 / 24.47 /
  // 24.35 / 24.06 (25.16 / 25.29 / 25.04 / -), the fountain 29.30 / 29.47 / 29.59 / 29.76 (28.10 / 28.23 / 28.32 /
  // 28.28): 100 has the best sum over the validation photos. Once interior edges pass gradient to the vertices, the
  // photos hold the geometry better than the Laplacian on the offsets does.
  lapWeight: 100,
  // 1 against 0.1 (H200, standard, holdout 8, refined held-out PSNR): lego 21.04 -> 21.60 dB, spot without depth
  // 22.76 -> 23.16, spot with depth 29.30 -> 29.74 (docs/benchmarks.md, session 8); 3 gave spot with depth 28.57 in an
  // intermediate build.
  silWeight: 1,
  warmup: 0.05,
  // Validation every 5 iterations picks the best state finer than every 25 (spot draft, CPU: held-out 27.25 dB,
  // best at 30, against 27.13 dB, best at 25). Patience 60 = 300 iterations without improvement, so that in practice
  // only the second half of the schedule can end the run early (the best state is kept either way). The validation
  // photos' PSNR is noisy while the learning rate is high: with patience 12 (session 12) spot without depth stopped at
  // iteration 115 on a best state at 55 (held-out 25.72 dB, Chamfer 0.293%); run on, its best state comes at 295
  // (26.52 dB, 0.260%; H200, standard, holdout 8, docs/benchmarks.md session 16). Bob: best at 70 (25.28 dB) against
  // 285 (25.21 dB, validation 23.93 -> 24.03 dB); lego runs all 600 either way.
  validateEvery: 5,
  patience: 60,
  seed: 1,
  imageScale: 1,
  texPyramid: 0,
  texFineScale: 1,
  keepCheck: true,
  occlusionBlend: true,
  texture: 0,
  tuneIterations: 100,
  tuneLrTex: 0.001,
};

export interface RefineStats {
  iterations: number;
  stoppedEarly: boolean;
  bestIteration: number;
  trainViews: number;
  validationViews: number;
  /** Mean squared error per colour channel (0..1 units) on the validation views, before and at the best step. */
  validationMseBefore: number;
  validationMseBest: number;
  /** Train loss (mean per covered pixel, summed over channels) per validation interval. */
  lossHistory: { iteration: number; train: number; silhouette: number; validation: number }[];
  gains: number[];
  light: number[];
  vertexShiftMean: number;
  ms: number;
  /** GPU ms per iteration by phase (timed window), when timing was asked for and the device can. */
  msPerIteration?: Record<string, number>;
}

export interface RefineResult {
  mesh: TexturedMesh;
  stats: RefineStats;
}

function schedule(options: RefineOptions, it: number): number {
  const warm = Math.max(1, Math.round(options.warmup * options.iterations));
  const w = Math.min(1, (it + 1) / warm);
  const t = Math.min(1, it / Math.max(1, options.iterations - 1));
  return w * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Refines `mesh` against `train` photos; `validation` photos decide the early stop. */
export async function refineMesh(mesh: TexturedMesh, train: RefineView[], validation: RefineView[], hasMasks: boolean, options: RefineOptions, ctx: StageContext): Promise<RefineResult> {
  const start = performance.now();
  const { device } = ctx.gpu;
  if (options.imageScale !== 1) {
    train = train.map((v) => resampleView(v, options.imageScale));
    validation = validation.map((v) => resampleView(v, options.imageScale));
  }
  const problem = new RefineProblem(ctx, mesh, [...train, ...validation], train.length, options.batchSize, hasMasks, options.texPyramid, options.occlusionBlend);
  const timer = options.timing ? GpuTimer.create(device, ctx.scope, Math.min(4096, options.timing.count * (options.batchSize + 3))) : null;
  try {
    const L = problem.layout;
    const rand = seededRandom(options.seed);
    let order: number[] = [];
    const nextBatch = (): number[] => {
      const batch: number[] = [];
      while (batch.length < Math.min(problem.batchSlots, train.length)) {
        if (order.length === 0) {
          order = train.map((_, i) => i);
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(rand() * (i + 1));
            [order[i], order[j]] = [order[j], order[i]];
          }
        }
        const v = order.pop()!;
        if (!batch.includes(v)) batch.push(v);
      }
      return batch;
    };
    const lrs = (it: number) => {
      const s = schedule(options, it);
      return { lrPos: options.lrPos * problem.radius * s, lrTex: options.lrTex * s, lrGain: options.lrGain * s, lrLight: options.lrLight * s };
    };
    const lapWeight = options.lapWeight / (L.vertexCount * problem.radius * problem.radius);
    const validate = async (): Promise<number> => {
      if (validation.length === 0) return NaN;
      const enc = device.createCommandEncoder({ label: 'refine.validate' });
      problem.clearStats(enc);
      device.queue.submit([enc.finish()]);
      for (let from = 0; from < validation.length; from += problem.batchSlots) {
        const batch = validation.slice(from, from + problem.batchSlots).map((_, k) => train.length + from + k);
        problem.writeSetup({ batch, step: 1, lrPos: 0, lrTex: 0, lrGain: 0, lrLight: 0, lapWeight: 0, silWeight: 0, statsBase: 4 });
        const e = device.createCommandEncoder({ label: 'refine.validate' });
        problem.encodeSyncGains(e);
        problem.encodeVisibility(e, batch);
        problem.encodeForward(e, batch.length);
        device.queue.submit([e.finish()]);
      }
      const s = await problem.readStats();
      return s.validation / Math.max(1, s.validationPixels) / 3;
    };
    const before = await validate();
    let best = before, bestIteration = 0, sinceBest = 0, stoppedEarly = false, it = 0;
    const history: RefineStats['lossHistory'] = [];
    {
      const e = device.createCommandEncoder();
      problem.clearStats(e);
      problem.saveBest(e);
      device.queue.submit([e.finish()]);
    }
    const timed = (i: number) => timer && options.timing && i >= options.timing.from && i < options.timing.from + options.timing.count;
    for (it = 0; it < options.iterations; it++) {
      throwIfAborted(ctx.signal);
      const batch = nextBatch();
      problem.writeSetup({ batch, step: it + 1, ...lrs(it), lapWeight, silWeight: options.silWeight, statsBase: 0, texFineScale: options.texFineScale });
      const t = timed(it) ? timer : null;
      const enc = device.createCommandEncoder({ label: 'refine.step' });
      problem.encodeVisibility(enc, batch, t);
      problem.encodeForward(enc, batch.length, t);
      problem.encodeBackward(enc, batch.length, options.silWeight > 0, t);
      problem.encodeAdam(enc, t);
      device.queue.submit([enc.finish()]);
      const last = it === options.iterations - 1;
      if ((it + 1) % options.validateEvery === 0 || last) {
        const s = await problem.readStats();
        const train = s.train / Math.max(1, s.trainPixels);
        const silhouette = s.silhouette / Math.max(1, s.silhouettePixels);
        const v = await validate();
        history.push({ iteration: it + 1, train, silhouette, validation: v });
        ctx.progress(it + 1, options.iterations, `iteration ${it + 1}: loss ${train.toFixed(5)}${validation.length ? `, held-out ${v.toFixed(5)}` : ''}`);
        const e = device.createCommandEncoder();
        problem.clearStats(e);
        if (!(v >= best) || validation.length === 0) {
          best = Number.isFinite(v) ? v : best;
          bestIteration = it + 1;
          sinceBest = 0;
          problem.saveBest(e);
        } else sinceBest++;
        device.queue.submit([e.finish()]);
        if (validation.length && sinceBest >= options.patience) {
          stoppedEarly = !last;
          it++;
          break;
        }
      } else if ((it + 1) % 8 === 0) {
        // Back-pressure: keep the queue a few steps deep, so cancellation is prompt and memory bounded.
        await gpuDone(device, ctx.signal);
      }
    }
    const iterations = Math.min(it, options.iterations);
    {
      const e = device.createCommandEncoder();
      problem.restoreBest(e);
      device.queue.submit([e.finish()]);
    }
    const params = await problem.readParams();
    const msPerIteration = timer && options.timing ? perIteration(await timer.read(), Math.min(options.timing.count, Math.max(0, iterations - options.timing.from))) : undefined;
    const refined = meshFromParams(mesh, problem, params);
    let shift = 0;
    for (let i = 0; i < 3 * L.vertexCount; i += 3) {
      shift += Math.hypot(params[i] - problem.welded.positions[i], params[i + 1] - problem.welded.positions[i + 1], params[i + 2] - problem.welded.positions[i + 2]);
    }
    return {
      mesh: refined,
      stats: {
        iterations,
        stoppedEarly,
        bestIteration,
        trainViews: train.length,
        validationViews: validation.length,
        validationMseBefore: before,
        validationMseBest: best,
        lossHistory: history,
        gains: Array.from(params.subarray(L.gainOff, L.gainOff + train.length)),
        light: Array.from(params.subarray(L.lightOff, L.lightOff + 4)),
        vertexShiftMean: shift / Math.max(1, L.vertexCount),
        ms: performance.now() - start,
        ...(msPerIteration ? { msPerIteration } : {}),
      },
    };
  } finally {
    timer?.dispose();
    problem.dispose();
  }
}

function perIteration(ms: Record<string, number>, count: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of Object.entries(ms)) {
    out[k] = v / Math.max(1, count);
    total += out[k];
  }
  out.total = total;
  return out;
}

/** The refined TexturedMesh: positions un-welded, normals recomputed, the texture = kd x mean gain x light. */
export function meshFromParams(mesh: TexturedMesh, problem: Pick<RefineProblem, 'layout' | 'welded' | 'trainViews'>, params: Float32Array): TexturedMesh {
  const L = problem.layout;
  const { weldOf } = problem.welded;
  const positions = new Float32Array(mesh.positions.length);
  for (let v = 0; v < weldOf.length; v++) positions.set(params.subarray(3 * weldOf[v], 3 * weldOf[v] + 3), 3 * v);
  const weldedNormals = computeVertexNormals(params.subarray(0, 3 * L.vertexCount), weldedIndices(problem.welded.faces));
  const normals = new Float32Array(positions.length);
  for (let v = 0; v < weldOf.length; v++) normals.set(weldedNormals.subarray(3 * weldOf[v], 3 * weldOf[v] + 3), 3 * v);
  let gain = 0;
  for (let k = 0; k < problem.trainViews; k++) gain += params[L.gainOff + k];
  gain /= Math.max(1, problem.trainViews);
  const texture = bakeRadiance(params, L, positions, mesh.indices, mesh.uvs, gain);
  const out: TexturedMesh = { positions, indices: mesh.indices, normals, uvs: mesh.uvs, texture };
  out.colors = sampleVertexColors(out);
  return out;
}

function weldedIndices(faces: Uint32Array): Uint32Array {
  const out = new Uint32Array((faces.length / 6) * 3);
  for (let f = 0; f < faces.length / 6; f++) out.set(faces.subarray(6 * f, 6 * f + 3), 3 * f);
  return out;
}

/**
 * kd x gain x (a + l . n) per texel, n the face normal of the triangle covering the texel in UV space (texels no
 * triangle covers take their covered neighbours' shading, then the mean).
 */
export function bakeRadiance(params: Float32Array, L: Layout, positions: Float32Array, indices: Uint32Array, uvs: Float32Array, gain: number): RgbaImage {
  const T = L.texSize;
  const [a, lx, ly, lz] = params.subarray(L.lightOff, L.lightOff + 4);
  const shade = new Float32Array(T * T).fill(NaN);
  for (let f = 0; f < indices.length / 3; f++) {
    const i0 = indices[3 * f], i1 = indices[3 * f + 1], i2 = indices[3 * f + 2];
    const p = (i: number, k: number) => positions[3 * i + k];
    const e1 = [p(i1, 0) - p(i0, 0), p(i1, 1) - p(i0, 1), p(i1, 2) - p(i0, 2)];
    const e2 = [p(i2, 0) - p(i0, 0), p(i2, 1) - p(i0, 1), p(i2, 2) - p(i0, 2)];
    const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const len = Math.hypot(n[0], n[1], n[2]) || 1;
    const s = a + (lx * n[0] + ly * n[1] + lz * n[2]) / len;
    const ux = [uvs[2 * i0] * T - 0.5, uvs[2 * i1] * T - 0.5, uvs[2 * i2] * T - 0.5];
    const uy = [uvs[2 * i0 + 1] * T - 0.5, uvs[2 * i1 + 1] * T - 0.5, uvs[2 * i2 + 1] * T - 0.5];
    const det = (ux[1] - ux[0]) * (uy[2] - uy[0]) - (ux[2] - ux[0]) * (uy[1] - uy[0]);
    if (det === 0) continue;
    const x0 = Math.max(0, Math.floor(Math.min(...ux))), x1 = Math.min(T - 1, Math.ceil(Math.max(...ux)));
    const y0 = Math.max(0, Math.floor(Math.min(...uy))), y1 = Math.min(T - 1, Math.ceil(Math.max(...uy)));
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
      const b1 = ((x - ux[0]) * (uy[2] - uy[0]) - (ux[2] - ux[0]) * (y - uy[0])) / det;
      const b2 = ((ux[1] - ux[0]) * (y - uy[0]) - (x - ux[0]) * (uy[1] - uy[0])) / det;
      if (b1 >= -1e-6 && b2 >= -1e-6 && b1 + b2 <= 1 + 1e-6) shade[y * T + x] = s;
    }
  }
  // Gutters: a few rings from covered neighbours, then the mean.
  for (let pass = 0; pass < 6; pass++) {
    const next = shade.slice();
    for (let y = 0; y < T; y++) for (let x = 0; x < T; x++) {
      if (!Number.isNaN(shade[y * T + x])) continue;
      let sum = 0, n = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= T || yy >= T || Number.isNaN(shade[yy * T + xx])) continue;
        sum += shade[yy * T + xx];
        n++;
      }
      if (n) next[y * T + x] = sum / n;
    }
    shade.set(next);
  }
  let mean = 0, count = 0;
  for (const s of shade) if (!Number.isNaN(s)) {
    mean += s;
    count++;
  }
  mean = count ? mean / count : a;
  const data = new Uint8Array(T * T * 4);
  for (let i = 0; i < T * T; i++) {
    const s = (Number.isNaN(shade[i]) ? mean : shade[i]) * gain;
    for (let c = 0; c < 3; c++) data[4 * i + c] = Math.round(255 * Math.min(1, Math.max(0, params[L.texOff + 3 * i + c] * s)));
    data[4 * i + 3] = 255;
  }
  return { width: T, height: T, data };
}
