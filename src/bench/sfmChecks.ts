/**
 * SfM front-end checks (kernelCheck kinds 'sift', 'sift-invariance', 'match', 'sfm-pair') and the features +
 * matching benchmark ('sfm-features'), run in the worker on the shared device.
 */
import type { CaptureSet } from '../core/capture';
import type { RgbaImage } from '../core/mesh';
import { fetchDataFiles } from '../app/dataSource';
import type { GpuContext } from '../gpu/device';
import { GpuTimer } from '../gpu/timer';
import { decodePhotoInBrowser } from '../io/decode';
import { ingestCapture, type Preset } from '../io/ingest';
import { seededRandom } from '../ml/onnxBuilder';
import type { StageContext } from '../stages/context';
import { siftRawCpu } from '../stages/sfm/features/siftCpu';
import { extractFeatures, type ExtractStats } from '../stages/sfm/features/siftGpu';
import { siftSettings, toInputFrame, type SiftOptions } from '../stages/sfm/features/siftPlan';
import { filterMatches, nearestCpu } from '../stages/sfm/matching/matchCpu';
import { DescriptorStore, matchPairs, nearestBatch } from '../stages/sfm/matching/matchGpu';
import { computeGlobalDescriptors, computeGlobalDescriptorsCpu, selectPairs } from '../stages/sfm/matching/pairs';
import type { ImageFeatures } from '../stages/sfm/types';

export type SfmCheckSpec =
  | { kind: 'sift'; size: [number, number]; seed?: number; options?: SiftOptions }
  | { kind: 'sift-invariance'; size: [number, number]; angleDeg: number; scale: number; seed?: number; options?: SiftOptions }
  | { kind: 'match'; counts: [number, number]; seed?: number }
  | { kind: 'sfm-pair'; dataset: string; pattern?: string; views: [number, number]; preset?: Preset; maxFeatures?: number };

export interface SfmBenchSpec {
  dataset: string;
  pattern?: string;
  /** Working-image preset of ingest ('high' = 1600 long side). */
  preset?: Preset;
  /** SIFT options (maxFeatures 4000, maxLongSide 1600, upsample 'auto' unless given). */
  sift?: SiftOptions;
  /** Warm runs after the first (which includes shader compilation). Default 2. */
  repeats?: number;
}

/** A smooth random texture (anisotropic Gaussian blobs of many sizes) as a function of the plane, so that warped
 * copies can be rendered exactly instead of resampled. */
function blobField(width: number, height: number, seed: number): (x: number, y: number) => number {
  const rand = seededRandom(seed);
  const count = Math.round((width * height) / 120);
  const blobs = Array.from({ length: count }, () => {
    const r = 1.5 + 7 * rand() ** 2;
    const a = rand() * Math.PI, e = 0.4 + 0.6 * rand();
    const c = Math.cos(a), s = Math.sin(a);
    const ia = 1 / (2 * r * r), ib = 1 / (2 * r * r * e * e);
    return { x: rand() * width, y: rand() * height, amp: (rand() - 0.5) * 0.9, c, s, ia, ib, reach: 4 * r };
  });
  return (x, y) => {
    let v = 0.5;
    for (const b of blobs) {
      const dx = x - b.x, dy = y - b.y;
      if (Math.abs(dx) > b.reach || Math.abs(dy) > b.reach) continue;
      const u = b.c * dx + b.s * dy, w = -b.s * dx + b.c * dy;
      v += b.amp * Math.exp(-u * u * b.ia - w * w * b.ib);
    }
    return v;
  };
}

/** Renders the field through pixel -> field-coordinate map `at` (2x2 supersampled). */
function render(width: number, height: number, field: (x: number, y: number) => number, at: (x: number, y: number) => [number, number]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    let sum = 0;
    for (const [ox, oy] of [[-0.25, -0.25], [0.25, -0.25], [-0.25, 0.25], [0.25, 0.25]]) {
      const [fx, fy] = at(x + ox, y + oy);
      sum += field(fx, fy);
    }
    const g = Math.max(0, Math.min(255, Math.round((sum / 4) * 255)));
    data.set([g, Math.max(0, Math.min(255, g + 10)), Math.max(0, g - 10), 255], 4 * (y * width + x));
  }
  return { width, height, data };
}

export function syntheticImage(width: number, height: number, seed = 1): RgbaImage {
  return render(width, height, blobField(width, height, seed), (x, y) => [x, y]);
}

const median = (v: number[]) => {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function cosine(a: Uint8Array, b: Uint8Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let k = 0; k < a.length; k++) { ab += a[k] * b[k]; aa += a[k] * a[k]; bb += b[k] * b[k]; }
  return ab / Math.sqrt(Math.max(1e-12, aa * bb));
}

export async function runSfmCheck(ctx: StageContext, spec: SfmCheckSpec): Promise<Record<string, unknown>> {
  if (spec.kind === 'sift') return checkSift(ctx, spec.size, spec.seed ?? 1, spec.options ?? {});
  if (spec.kind === 'sift-invariance') return checkInvariance(ctx, spec);
  if (spec.kind === 'match') return checkMatch(ctx, spec.counts, spec.seed ?? 1);
  return checkPair(ctx, spec);
}

/** GPU vs CPU SIFT: every CPU keypoint looked up among the GPU's (same octave, 0.05 octave px, 0.05 level, angle). */
async function checkSift(ctx: StageContext, size: [number, number], seed: number, extra: SiftOptions) {
  const image = syntheticImage(size[0], size[1], seed);
  const options = { ...extra, maxFeatures: 100000 };
  const settings = siftSettings(options);
  const timer = GpuTimer.create(ctx.gpu.device, ctx.scope);
  const t0 = performance.now();
  const [gpu] = await extractFeatures(ctx, [image], { ...options, timer });
  const gpuWallMs = performance.now() - t0;
  const gpuMs = timer ? await timer.read() : {};
  timer?.dispose();
  // Determinism: a second run must give the same bytes (selection does not depend on GPU atomic order).
  const [again] = await extractFeatures(ctx, [image], options);
  const repeatIdentical = again.count === gpu.count && again.keypoints.every((v, i) => v === gpu.keypoints[i]) && again.descriptors.every((v, i) => v === gpu.descriptors[i]);
  const t1 = performance.now();
  const cpu = siftRawCpu(image, options);
  const cpuMs = performance.now() - t1;
  const cpuKp = cpu.keypoints.map((k) => ({ p: toInputFrame(cpu.plan, settings, k), angle: k.angle }));
  let matched = 0, descGood = 0;
  const posErr: number[] = [], scaleErr: number[] = [], cosines: number[] = [];
  const used = new Uint8Array(gpu.count);
  cpuKp.forEach((c, i) => {
    let best = -1, bestD = Infinity;
    for (let g = 0; g < gpu.count; g++) {
      if (used[g]) continue;
      const dx = gpu.keypoints[4 * g] - c.p[0], dy = gpu.keypoints[4 * g + 1] - c.p[1];
      const d = Math.hypot(dx, dy);
      let da = Math.abs(gpu.keypoints[4 * g + 3] - c.angle);
      da = Math.min(da, 2 * Math.PI - da);
      if (d < bestD && d < 0.1 && da < 0.05 && Math.abs(gpu.keypoints[4 * g + 2] / c.p[2] - 1) < 0.02) { best = g; bestD = d; }
    }
    if (best < 0) return;
    used[best] = 1;
    matched++;
    posErr.push(bestD);
    scaleErr.push(Math.abs(gpu.keypoints[4 * best + 2] / c.p[2] - 1));
    const cs = cosine(gpu.descriptors.subarray(128 * best, 128 * best + 128), cpu.descriptors.subarray(128 * i, 128 * i + 128));
    cosines.push(cs);
    if (cs > 0.95) descGood++;
  });
  return {
    gpuCount: gpu.count, cpuCount: cpu.keypoints.length, repeatIdentical, matched, matchedFraction: matched / Math.max(1, cpu.keypoints.length),
    positionErrorMax: posErr.length ? Math.max(...posErr) : null, positionErrorMedian: median(posErr), scaleErrorMax: scaleErr.length ? Math.max(...scaleErr) : null,
    descriptorCosineMedian: median(cosines), descriptorCosineMin: cosines.length ? Math.min(...cosines) : null, descriptorsAbove095: descGood / Math.max(1, matched),
    octaves: cpu.plan.octaves.length, octave0: [cpu.plan.width, cpu.plan.height], gpuMs, gpuWallMs, cpuMs, uncapturedErrors: ctx.gpu.uncapturedErrors.slice(0, 5),
  };
}

/** Features of an image and of a rotated + scaled rendering of the same texture, matched on the GPU. */
async function checkInvariance(ctx: StageContext, spec: Extract<SfmCheckSpec, { kind: 'sift-invariance' }>) {
  const [w, h] = spec.size;
  const field = blobField(w, h, spec.seed ?? 2);
  const a = (spec.angleDeg * Math.PI) / 180, s = spec.scale;
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  // B(p') = A(T^-1 p'), T p = c + s R (p - c).
  const forward = (x: number, y: number): [number, number] => [cx + s * (Math.cos(a) * (x - cx) - Math.sin(a) * (y - cy)), cy + s * (Math.sin(a) * (x - cx) + Math.cos(a) * (y - cy))];
  const inverse = (x: number, y: number): [number, number] => {
    const dx = (x - cx) / s, dy = (y - cy) / s;
    return [cx + Math.cos(a) * dx + Math.sin(a) * dy, cy - Math.sin(a) * dx + Math.cos(a) * dy];
  };
  const imageA = render(w, h, (x, y) => (x >= 0 && y >= 0 && x < w && y < h ? field(x, y) : 0.5), (x, y) => [x, y]);
  const imageB = render(w, h, (x, y) => (x >= 0 && y >= 0 && x < w && y < h ? field(x, y) : 0.5), inverse);
  const timer = GpuTimer.create(ctx.gpu.device, ctx.scope);
  const features = await extractFeatures(ctx, [imageA, imageB], { ...spec.options, timer });
  const [pair] = await matchPairs(ctx, features, [[0, 1]], { timer });
  const gpuMs = timer ? await timer.read() : {};
  timer?.dispose();
  const [fa, fb] = features;
  let correct = 0;
  const errors: number[] = [];
  let angleErr = 0, scaleRatio = 0;
  for (let m = 0; m < pair.matches.length; m += 2) {
    const i = pair.matches[m], j = pair.matches[m + 1];
    const [px, py] = forward(fa.keypoints[4 * i], fa.keypoints[4 * i + 1]);
    const e = Math.hypot(px - fb.keypoints[4 * j], py - fb.keypoints[4 * j + 1]);
    errors.push(e);
    if (e < 3) {
      correct++;
      let da = fb.keypoints[4 * j + 3] - fa.keypoints[4 * i + 3] - a;
      da = Math.atan2(Math.sin(da), Math.cos(da));
      angleErr += Math.abs(da);
      scaleRatio += fb.keypoints[4 * j + 2] / fa.keypoints[4 * i + 2];
    }
  }
  // Features of A whose true position lies inside B: the most that could match.
  let inside = 0;
  for (let i = 0; i < fa.count; i++) {
    const [px, py] = forward(fa.keypoints[4 * i], fa.keypoints[4 * i + 1]);
    if (px >= 0 && py >= 0 && px < w && py < h) inside++;
  }
  const n = pair.matches.length / 2;
  return {
    featuresA: fa.count, featuresB: fb.count, matches: n, correct, correctFraction: correct / Math.max(1, n), medianError: median(errors),
    recall: correct / Math.max(1, Math.min(inside, fb.count)), meanAngleErrorDeg: correct ? ((angleErr / correct) * 180) / Math.PI : null,
    meanScaleRatio: correct ? scaleRatio / correct : null, gpuMs,
  };
}

/** GPU nearest-neighbour kernel against the CPU reference on random descriptors (some near-copies, some ties). */
async function checkMatch(ctx: StageContext, counts: [number, number], seed: number) {
  const rand = seededRandom(seed);
  const A = new Uint8Array(counts[0] * 128), B = new Uint8Array(counts[1] * 128);
  for (let i = 0; i < A.length; i++) A[i] = Math.floor(rand() * rand() * 256);
  for (let j = 0; j < counts[1]; j++) {
    // Half of B are noisy copies of A's descriptors (true matches), a few exact duplicates (ties), the rest random.
    const src = Math.floor(rand() * counts[0]);
    const kind = rand();
    for (let k = 0; k < 128; k++) {
      const v = kind < 0.5 ? A[128 * src + k] + Math.round((rand() - 0.5) * 40) : kind < 0.55 ? A[128 * (src % counts[0]) + k] : Math.floor(rand() * rand() * 256);
      B[128 * j + k] = Math.max(0, Math.min(255, v));
    }
  }
  const store = new DescriptorStore(ctx, [A, B]);
  try {
    const timer = GpuTimer.create(ctx.gpu.device, ctx.scope);
    const [fwd, bwd] = await nearestBatch(ctx, store, [{ query: 0, ref: 1 }, { query: 1, ref: 0 }], timer, true);
    const gpuMs = timer ? await timer.read() : {};
    timer?.dispose();
    // The direct kernel (CPU fallback adapters' default) must give the same records.
    const t1 = performance.now();
    const [fwdDirect, bwdDirect] = await nearestBatch(ctx, store, [{ query: 0, ref: 1 }, { query: 1, ref: 0 }], null, false);
    const directMs = performance.now() - t1;
    const t0 = performance.now();
    const cf = nearestCpu(A, B), cb = nearestCpu(B, A);
    const cpuMs = performance.now() - t0;
    let mismatches = 0, directMismatches = 0;
    for (const [g, c] of [[fwd, cf], [bwd, cb]] as const) {
      for (let i = 0; i < c.index.length; i++) if (g.index[i] !== c.index[i] || g.d1[i] !== c.d1[i] || g.d2[i] !== c.d2[i]) mismatches++;
    }
    for (const [g, c] of [[fwdDirect, cf], [bwdDirect, cb]] as const) {
      for (let i = 0; i < c.index.length; i++) if (g.index[i] !== c.index[i] || g.d1[i] !== c.d1[i] || g.d2[i] !== c.d2[i]) directMismatches++;
    }
    const gm = filterMatches(fwd, bwd), cm = filterMatches(cf, cb);
    let matchMismatch = gm.length === cm.length ? 0 : -1;
    if (matchMismatch === 0) for (let i = 0; i < gm.length; i++) if (gm[i] !== cm[i]) matchMismatch++;
    // The full entry point too (features wrapping the same descriptors).
    const feats: ImageFeatures[] = [A, B].map((d) => ({ width: 1, height: 1, count: d.length / 128, keypoints: new Float32Array(d.length / 32), descriptors: d }));
    const [viaEntry] = await matchPairs(ctx, feats, [[0, 1]], { queriesPerBatch: 64 });
    let entryMismatch = viaEntry.matches.length === cm.length ? 0 : -1;
    if (entryMismatch === 0) for (let i = 0; i < cm.length; i++) if (viaEntry.matches[i] !== cm[i]) entryMismatch++;
    // Bag-of-words global descriptors (word assignment on the GPU) against the CPU path: exact integer distances
    // make the assignments, hence the codebooks and histograms, identical.
    const sets: ImageFeatures[] = Array.from({ length: 6 }, (_, i) => {
      const d = (i % 2 ? A : B).slice(0, 128 * 120);
      return { width: 1, height: 1, count: 120, keypoints: new Float32Array(480), descriptors: d };
    });
    const bowOptions = { words: 24, sample: 600, iterations: 3 };
    const [gBow, cBow] = [await computeGlobalDescriptors(ctx, sets, bowOptions), await computeGlobalDescriptorsCpu(sets, bowOptions)];
    let bowWorst = 0;
    gBow.forEach((g, i) => g.forEach((v, k) => { bowWorst = Math.max(bowWorst, Math.abs(v - cBow[i][k])); }));
    return { queries: counts[0] + counts[1], mismatches, directMismatches, matches: cm.length / 2, matchMismatch, entryMismatch, bowWorst, gpuMs, directMs, cpuMs };
  } finally {
    store.dispose();
  }
}

async function loadCapture(dataset: string, pattern: string | undefined, preset: Preset, signal: AbortSignal): Promise<CaptureSet> {
  const re = pattern ? new RegExp(pattern) : null;
  const files = await fetchDataFiles(dataset, re ? (p) => re.test(p) : undefined);
  return ingestCapture(files, { preset, decodePhoto: decodePhotoInBrowser, signal });
}

/** Fundamental matrix x2^T F x1 = 0 from two posed views (K row-major, camFromWorld 3x4). */
export function fundamentalFromCameras(K1: number[], P1: number[], K2: number[], P2: number[]): number[] {
  const R1 = [P1[0], P1[1], P1[2], P1[4], P1[5], P1[6], P1[8], P1[9], P1[10]], t1 = [P1[3], P1[7], P1[11]];
  const R2 = [P2[0], P2[1], P2[2], P2[4], P2[5], P2[6], P2[8], P2[9], P2[10]], t2 = [P2[3], P2[7], P2[11]];
  const mul = (a: number[], b: number[]) => Array.from({ length: 9 }, (_, i) => a[3 * Math.floor(i / 3)] * b[i % 3] + a[3 * Math.floor(i / 3) + 1] * b[3 + (i % 3)] + a[3 * Math.floor(i / 3) + 2] * b[6 + (i % 3)]);
  const T = (a: number[]) => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];
  const inv = (m: number[]) => {
    const d = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    return [
      (m[4] * m[8] - m[5] * m[7]) / d, (m[2] * m[7] - m[1] * m[8]) / d, (m[1] * m[5] - m[2] * m[4]) / d,
      (m[5] * m[6] - m[3] * m[8]) / d, (m[0] * m[8] - m[2] * m[6]) / d, (m[2] * m[3] - m[0] * m[5]) / d,
      (m[3] * m[7] - m[4] * m[6]) / d, (m[1] * m[6] - m[0] * m[7]) / d, (m[0] * m[4] - m[1] * m[3]) / d,
    ];
  };
  const R = mul(R2, T(R1));
  const Rt1 = [0, 1, 2].map((r) => R[3 * r] * t1[0] + R[3 * r + 1] * t1[1] + R[3 * r + 2] * t1[2]);
  const t = [t2[0] - Rt1[0], t2[1] - Rt1[1], t2[2] - Rt1[2]];
  const tx = [0, -t[2], t[1], t[2], 0, -t[0], -t[1], t[0], 0];
  return mul(mul(T(inv(K2)), mul(tx, R)), inv(K1));
}

/** Distance (px) of x2 from the epipolar line of x1 and of x1 from that of x2; the larger. */
export function epipolarError(F: number[], x1: number, y1: number, x2: number, y2: number): number {
  const l2 = [F[0] * x1 + F[1] * y1 + F[2], F[3] * x1 + F[4] * y1 + F[5], F[6] * x1 + F[7] * y1 + F[8]];
  const l1 = [F[0] * x2 + F[3] * y2 + F[6], F[1] * x2 + F[4] * y2 + F[7], F[2] * x2 + F[5] * y2 + F[8]];
  const e = x2 * l2[0] + y2 * l2[1] + l2[2];
  return Math.max(Math.abs(e) / Math.hypot(l2[0], l2[1]), Math.abs(e) / Math.hypot(l1[0], l1[1]));
}

/** Two views of a dataset with true cameras: matches scored against the epipolar geometry. */
async function checkPair(ctx: StageContext, spec: Extract<SfmCheckSpec, { kind: 'sfm-pair' }>) {
  const capture = await loadCapture(spec.dataset, spec.pattern, spec.preset ?? 'draft', ctx.signal);
  const [va, vb] = spec.views.map((k) => capture.views[k]);
  if (!va?.camFromWorld || !vb?.camFromWorld) throw new Error(`sfm-pair: views ${spec.views.join(', ')} of ${spec.dataset} have no cameras`);
  const timer = GpuTimer.create(ctx.gpu.device, ctx.scope);
  const t0 = performance.now();
  const features = await extractFeatures(ctx, [va.image, vb.image], { maxFeatures: spec.maxFeatures ?? 4000, timer });
  const t1 = performance.now();
  const [pair] = await matchPairs(ctx, features, [[0, 1]], { timer });
  const t2 = performance.now();
  const gpuMs = timer ? await timer.read() : {};
  timer?.dispose();
  const F = fundamentalFromCameras(va.K, va.camFromWorld, vb.K, vb.camFromWorld);
  const errors: number[] = [];
  for (let m = 0; m < pair.matches.length; m += 2) {
    const i = pair.matches[m], j = pair.matches[m + 1];
    errors.push(epipolarError(F, features[0].keypoints[4 * i], features[0].keypoints[4 * i + 1], features[1].keypoints[4 * j], features[1].keypoints[4 * j + 1]));
  }
  const n = errors.length;
  return {
    width: va.width, height: va.height, featuresA: features[0].count, featuresB: features[1].count, matches: n,
    within2px: errors.filter((e) => e < 2).length / Math.max(1, n), within1px: errors.filter((e) => e < 1).length / Math.max(1, n),
    medianEpipolarError: median(errors), featureWallMs: t1 - t0, matchWallMs: t2 - t1, gpuMs,
  };
}

/** Features per image and all-pairs matching on a dataset (npm run bench / the H200 URL mode). */
export async function benchmarkSfmFeatures(gpu: GpuContext, spec: SfmBenchSpec): Promise<Record<string, unknown>> {
  const scope = gpu.vram.scope('bench:sfm');
  const ctx: StageContext = { gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined };
  try {
    const tl = performance.now();
    const capture = await loadCapture(spec.dataset, spec.pattern, spec.preset ?? 'high', ctx.signal);
    const loadMs = performance.now() - tl;
    const images = capture.views.map((v) => v.image);
    const pairs = selectPairs(images.length);
    gpu.vram.resetPeak();
    const runs: Record<string, number>[] = [];
    let last: { features: ImageFeatures[]; matches: number[]; stats: ExtractStats } | null = null;
    for (let r = 0; r < (spec.repeats ?? 2) + 1; r++) {
      const timer = GpuTimer.create(gpu.device, scope, 1024);
      const stats: ExtractStats = { found: [], retries: 0 };
      const t0 = performance.now();
      const features = await extractFeatures(ctx, images, { ...spec.sift, timer }, stats);
      const t1 = performance.now();
      const matched = await matchPairs(ctx, features, pairs, { timer });
      const t2 = performance.now();
      const gpuMs = timer ? await timer.read() : {};
      timer?.dispose();
      // Run 0 includes shader compilation: reported apart.
      runs.push({ ...Object.fromEntries(Object.entries(gpuMs).map(([k, v]) => [`gpu.${k}`, v])), 'wall.features': t1 - t0, 'wall.matching': t2 - t1 });
      last = { features, matches: matched.map((p) => p.matches.length / 2), stats };
    }
    const warm = runs.slice(1);
    const med: Record<string, number> = {};
    for (const key of Object.keys(warm[0] ?? {})) med[key] = median(warm.map((r) => r[key])) ?? 0;
    const views = images.length;
    return {
      spec, views, size: [images[0].width, images[0].height], pairs: pairs.length, loadMs,
      featuresPerImage: last!.features.map((f) => f.count), foundPerImage: last!.stats.found, retries: last!.stats.retries,
      matchesPerPairMedian: median(last!.matches), matchesTotal: last!.matches.reduce((a, b) => a + b, 0),
      firstRun: runs[0], median: med, featuresMsPerImage: (med['wall.features'] ?? 0) / views,
      vramPeakBytes: gpu.vram.getVramUsage().peakBytes, adapter: gpu.summary.description || gpu.summary.architecture,
    };
  } finally {
    await scope.cleanup();
  }
}
