/**
 * GPU kernel checks against the CPU references, run inside the worker on the shared device: the browser tests call
 * them (through the worker API's `kernelCheck`), and a user's "GPU self-test" can too. Each returns plain numbers.
 */
import { lookAt } from '../core/camera';
import { base64ToBytes } from '../core/format';
import type { GpuContext } from '../gpu/device';
import { readBuffer, readBuffers, uploadBuffer } from '../gpu/readback';
import { makeRng } from '../stages/sfm/geometry/linalg';
import { PrefixSum } from '../gpu/scan';
import { seededRandom } from '../ml/onnxBuilder';
import type { StageContext } from '../stages/context';
import { fillHullCpu, integrateCpu, marchingCubesCpu, type CpuVolume } from '../stages/fusion/cpuReference';
import { createVolume, destroyVolume, extractMesh, integrateViews, readVolume } from '../stages/fusion/fusion';
import type { FusionViewData, VolumeSpec } from '../stages/fusion/types';

export type KernelCheckSpec =
  | { kind: 'scan'; sizes: number[] }
  | { kind: 'integrate'; dims: [number, number, number]; views: number; size: [number, number]; hullFill?: boolean; slabVoxels?: number }
  | { kind: 'hull-fill'; shape: AnalyticShape; voxels: number; views: number; size: [number, number] }
  | { kind: 'sfm-run'; files: { path: string; bytes: ArrayBuffer }[]; photoPattern: string; maxFeatures?: number;
      /** Pair verification workers (runSfm's verifyWorkers; absent: the pool's default size, 0: in-process). */
      verifyWorkers?: number;
      /** Cancel the stage at pair verification's first report of pairs done (then report what is left alive). */
      cancelDuringVerify?: boolean;
      /** report the reconstruction's input (runSfm's dumpInput) in stats.input, for replaying it in Node */
      dumpInput?: boolean;
      /** XFeat + LighterGlue instead of SIFT (runSfm's learnedFeatures), e.g. { baseUrl: '/third-party/' } */
      learned?: import('../stages/sfm/features/learned').LearnedFeatureOptions }
  | { kind: 'sfm-verify-pool'; files: { path: string; bytes: ArrayBuffer }[]; maxFeatures?: number; workers: number[] }
  | { kind: 'marching-cubes'; dims: [number, number, number]; shape: 'sphere' | 'empty' | 'full' | 'noise'; slabVoxels?: number }
  | { kind: 'accuracy'; shape: AnalyticShape; voxels: number; views: number; size: [number, number] }
  | { kind: 'mvs'; shape: AnalyticShape; views: number; size: [number, number]; depthCount: number }
  | { kind: 'image-prep'; cases: { source: [number, number]; target: [number, number] }[] }
  | { kind: 'gpu-error-count'; errors: number }
  | import('./sfmChecks').SfmCheckSpec
  | import('./refineChecks').RefineCheckSpec
  | import('./mvsStudy').MvsStudySpec
  | import('./bakeTruth').BakeTruthSpec
  | import('./bakeFringe').BakeFringeSpec
  | import('./mvsStudy').MvsRawSpec
  | import('./mvsSpeed').MvsSpeedSpec
  | { kind: 'mvs-cost-volume'; size: [number, number]; channels: number; groups: number; depthCount: number; sources: number; mode: 0 | 1 }
  | { kind: 'mvs-net'; model: string; shape: AnalyticShape; views: number; size: [number, number]; corruptManifest?: boolean }
  | { kind: 'mvs-net-fixture'; model: string; fixture: MvsFixture }
  | { kind: 'mvs-capture'; files: { path: string; bytes: ArrayBuffer }[]; preset: 'draft' | 'standard' | 'high'; model?: string; networkOptions?: { minConfidence?: number; minConsistent?: number; depthTolerance?: number }[] };

/** The fixture training/export.py writes (test/fixtures/mvsnet-fixture.json): float32 arrays as base64. */
export interface MvsFixture {
  width: number;
  height: number;
  views: number;
  sources: number[];
  images: string;
  K: number[][];
  camFromWorld: number[][];
  invNear: number;
  invFar: number;
  gtDepthHalf: string;
  expected: Record<string, { inv1: string; conf1: string; inv2: string; conf2: string }>;
}

function fnv1a(arrays: ArrayBufferView[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  }
  return h.toString(16);
}

function stageContext(gpu: GpuContext, owner: string): StageContext {
  return { gpu, scope: gpu.vram.scope(owner), signal: new AbortController().signal, progress: () => undefined, warn: () => undefined };
}

export async function runKernelCheck(gpu: GpuContext, spec: KernelCheckSpec): Promise<Record<string, unknown>> {
  const ctx = stageContext(gpu, `check:${spec.kind}`);
  try {
    if (spec.kind === 'scan') return await checkScan(ctx, spec.sizes);
    if (spec.kind === 'integrate') return await checkIntegrate(ctx, spec.dims, spec.views, spec.size, spec.hullFill ?? false, spec.slabVoxels);
    if (spec.kind === 'hull-fill') return await checkHullFill(ctx, spec.shape, spec.voxels, spec.views, spec.size);
    if (spec.kind === 'sfm-run') return await checkSfmRun(ctx, spec.files, new RegExp(spec.photoPattern), spec.maxFeatures, spec.verifyWorkers, spec.cancelDuringVerify, spec.dumpInput, spec.learned);
    if (spec.kind === 'sfm-verify-pool') return await checkSfmVerifyPool(ctx, spec.files, spec.workers, spec.maxFeatures);
    if (spec.kind === 'accuracy') return await checkAccuracy(ctx, spec.shape, spec.voxels, spec.views, spec.size);
    if (spec.kind === 'mvs') return await checkMvs(ctx, spec.shape, spec.views, spec.size, spec.depthCount);
    if (spec.kind === 'image-prep') return await checkImagePrep(ctx, spec.cases);
    if (spec.kind === 'gpu-error-count') return await checkGpuErrorCount(ctx, spec.errors);
    if (spec.kind === 'sift' || spec.kind === 'sift-invariance' || spec.kind === 'match' || spec.kind === 'sfm-pair') {
      const { runSfmCheck } = await import('./sfmChecks');
      return await runSfmCheck(ctx, spec);
    }
    if (spec.kind === 'refine-gradients' || spec.kind === 'refine-fit' || spec.kind === 'refine-geometry' || spec.kind === 'refine-vram' || spec.kind === 'refine-keep') {
      const { runRefineCheck } = await import('./refineChecks');
      return await runRefineCheck(ctx, spec);
    }
    if (spec.kind === 'mvs-cost-volume') return await checkCostVolume(ctx, spec);
    if (spec.kind === 'mvs-net') return await checkMvsNet(ctx, spec);
    if (spec.kind === 'mvs-net-fixture') return await checkMvsFixture(ctx, spec.model, spec.fixture);
    if (spec.kind === 'mvs-capture') return await checkMvsCapture(ctx, spec);
    if (spec.kind === 'bake-fringe') return await (await import('./bakeFringe')).runBakeFringe(gpu, spec);
    if (spec.kind === 'bake-truth') return await (await import('./bakeTruth')).runBakeTruthCheck(gpu, spec);
    if (spec.kind === 'mvs-raw') return await (await import('./mvsStudy')).runMvsRaw(ctx, spec);
    if (spec.kind === 'mvs-net-speed') return await (await import('./mvsSpeed')).runMvsSpeed(ctx, spec);
    if (spec.kind === 'mvs-filter-study') return await (await import('./mvsStudy')).runMvsStudy(ctx, spec);
    return await checkMarchingCubes(ctx, spec.dims, spec.shape, spec.slabVoxels);
  } finally {
    await ctx.scope.cleanup();
  }
}

async function checkScan(ctx: StageContext, sizes: number[]) {
  const { device } = ctx.gpu;
  const results = [];
  for (const n of sizes) {
    const rand = seededRandom(n);
    const input = Uint32Array.from({ length: n }, () => Math.floor(rand() * 4));
    const buffer = uploadBuffer(device, ctx.scope, 'check:scan', input);
    const scan = new PrefixSum(device, ctx.scope, n, 'check:scan');
    const encoder = device.createCommandEncoder();
    scan.encode(encoder, buffer, n);
    device.queue.submit([encoder.finish()]);
    const [scanned, totalBytes] = await readBuffers(device, ctx.scope, [buffer, scan.total]);
    const out = new Uint32Array(scanned, 0, n);
    const total = new Uint32Array(totalBytes)[0];
    let running = 0, mismatches = 0;
    for (let i = 0; i < n; i++) {
      if (out[i] !== running) mismatches++;
      running += input[i];
    }
    results.push({ n, mismatches, total, expectedTotal: running });
    scan.dispose();
    ctx.scope.destroy(buffer);
  }
  return { results };
}

export type AnalyticShape = 'sphere' | 'box';

/** Sphere: centre (0.5, 0.5, 0.5), radius 0.3. Box: centre (0.5, 0.5, 0.5), half extents (0.3, 0.2, 0.25). */
export function distanceToShape(shape: AnalyticShape, p: number[]): number {
  if (shape === 'sphere') return Math.abs(Math.hypot(p[0] - 0.5, p[1] - 0.5, p[2] - 0.5) - 0.3);
  const h = [0.3, 0.2, 0.25];
  const q = [0, 1, 2].map((k) => Math.abs(p[k] - 0.5) - h[k]);
  const outside = Math.hypot(Math.max(q[0], 0), Math.max(q[1], 0), Math.max(q[2], 0));
  return Math.abs(outside + Math.min(Math.max(q[0], q[1], q[2]), 0));
}

/** Ray parameter of the first hit of eye + t * dir with the shape, or -1. */
function intersect(shape: AnalyticShape, eye: number[], dir: number[]): number {
  if (shape === 'sphere') {
    const oc = eye.map((e) => e - 0.5);
    const b = 2 * (dir[0] * oc[0] + dir[1] * oc[1] + dir[2] * oc[2]);
    const a = dir[0] ** 2 + dir[1] ** 2 + dir[2] ** 2;
    const c = oc[0] ** 2 + oc[1] ** 2 + oc[2] ** 2 - 0.09;
    const disc = b * b - 4 * a * c;
    return disc >= 0 ? (-b - Math.sqrt(disc)) / (2 * a) : -1;
  }
  const h = [0.3, 0.2, 0.25];
  let tmin = -Infinity, tmax = Infinity;
  for (let k = 0; k < 3; k++) {
    const t1 = (0.5 - h[k] - eye[k]) / dir[k], t2 = (0.5 + h[k] - eye[k]) / dir[k];
    tmin = Math.max(tmin, Math.min(t1, t2));
    tmax = Math.min(tmax, Math.max(t1, t2));
  }
  return tmax >= Math.max(tmin, 0) ? tmin : -1;
}

/** Depth maps of an analytic shape from cameras on two rings, with a missing band and background elsewhere. */
export function analyticViews(shape: AnalyticShape, count: number, width: number, height: number, rings: 1 | 2 = 2): FusionViewData[] {
  const views: FusionViewData[] = [];
  const centre = [0.5, 0.5, 0.5];
  for (let k = 0; k < count; k++) {
    const a = (2 * Math.PI * k) / count + (rings === 2 ? (k % 2) * 0.4 : 0);
    const elevation = rings === 2 ? (k % 2 ? -0.5 : 0.8) : 0.6;
    const pose = lookAt([0.5 + 1.5 * Math.cos(a), 0.5 + elevation, 0.5 + 1.5 * Math.sin(a)], centre);
    const f = 0.9 * width;
    const cx = (width - 1) / 2, cy = (height - 1) / 2;
    const depth = new Float32Array(width * height), color = new Uint32Array(width * height);
    const R = [pose[0], pose[1], pose[2], pose[4], pose[5], pose[6], pose[8], pose[9], pose[10]];
    const t = [pose[3], pose[7], pose[11]];
    const eye = [0, 1, 2].map((i) => -(R[i] * t[0] + R[3 + i] * t[1] + R[6 + i] * t[2]));
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const dc = [(x - cx) / f, (y - cy) / f, 1];
      const dir = [0, 1, 2].map((i) => R[i] * dc[0] + R[3 + i] * dc[1] + R[6 + i] * dc[2]);
      const tt = intersect(shape, eye, dir);
      const i = y * width + x;
      if (tt > 0) {
        depth[i] = tt; // dir has camera z = 1, so t is the depth along the optical axis
        const p = eye.map((e, j) => e + tt * dir[j]);
        // High-frequency surface texture (a 3-D checker and hashed cells) so that stereo has something to match.
        const cell = [Math.floor(p[0] * 15), Math.floor(p[1] * 15), Math.floor(p[2] * 15)];
        const hash = (((cell[0] * 73856093) ^ (cell[1] * 19349663) ^ (cell[2] * 83492791)) >>> 0) % 97;
        const grey = Math.min(255, 40 + ((cell[0] + cell[1] + cell[2]) & 1) * 110 + hash);
        color[i] = ((grey & 255) | ((Math.floor(0.8 * grey + 40 * Math.sin(9 * p[0])) & 255) << 8) | ((Math.floor(0.9 * grey) & 255) << 16) | (255 << 24)) >>> 0;
      } else {
        depth[i] = x < width / 8 ? 0 : -1;
      }
    }
    views.push({ width, height, fx: f, fy: f, cx, cy, camFromWorld: pose, depth, color });
  }
  return views;
}

export function sphereViews(count: number, width: number, height: number): FusionViewData[] {
  return analyticViews('sphere', count, width, height);
}

async function checkAccuracy(ctx: StageContext, shape: AnalyticShape, voxels: number, viewCount: number, size: [number, number]) {
  const voxel = 1 / (voxels - 1);
  const spec: VolumeSpec = { dims: [voxels, voxels, voxels], origin: [0, 0, 0], voxelSize: voxel, truncation: 4 * voxel };
  const volume = createVolume(ctx, spec);
  try {
    await integrateViews(ctx, volume, analyticViews(shape, viewCount, size[0], size[1]));
    const mesh = await extractMesh(ctx, volume);
    let sum = 0, worst = 0;
    const n = mesh.positions.length / 3;
    for (let v = 0; v < n; v++) {
      const d = distanceToShape(shape, [mesh.positions[3 * v], mesh.positions[3 * v + 1], mesh.positions[3 * v + 2]]);
      sum += d;
      worst = Math.max(worst, d);
    }
    return { shape, voxels, voxelSize: voxel, vertices: n, triangles: mesh.indices.length / 3, meanDistance: sum / Math.max(1, n), maxDistance: worst, meanInVoxels: sum / Math.max(1, n) / voxel };
  } finally {
    destroyVolume(ctx, volume);
  }
}

async function checkIntegrate(ctx: StageContext, dims: [number, number, number], viewCount: number, size: [number, number], hullFill: boolean, slabVoxels?: number) {
  const voxel = 1 / (Math.max(...dims) - 1);
  const spec: VolumeSpec = { dims, origin: [0, 0, 0], voxelSize: voxel, truncation: 4 * voxel };
  const views = sphereViews(viewCount, size[0], size[1]);
  const volume = createVolume(ctx, spec);
  const minHullVotes = 3;
  try {
    const submissions = await integrateViews(ctx, volume, views, null, { hullFill, minHullVotes, slabVoxels });
    const gpuVol = await readVolume(ctx, volume);
    const cpuVol = integrateCpu(spec, views, undefined, hullFill);
    if (hullFill) fillHullCpu(spec, cpuVol, minHullVotes);
    let tsdfWorst = 0, weightMismatch = 0, tsdfMismatch = 0, colorMismatch = 0, observed = 0;
    for (let i = 0; i < cpuVol.tsdf.length; i++) {
      const d = Math.abs(gpuVol.tsdf[i] - cpuVol.tsdf[i]);
      if (gpuVol.weight[i] !== cpuVol.weight[i]) weightMismatch++;
      else tsdfWorst = Math.max(tsdfWorst, d);
      if (d > 1e-4) tsdfMismatch++;
      if (gpuVol.color[i] !== cpuVol.color[i]) colorMismatch++;
      if (cpuVol.weight[i] > 0) observed++;
    }
    // checksum: FNV-1a over the volume's bytes, to compare runs (slabbed vs not) exactly.
    const checksum = fnv1a([gpuVol.tsdf, gpuVol.weight, gpuVol.color]);
    return { voxels: cpuVol.tsdf.length, observed, weightMismatch, tsdfMismatch, colorMismatch, tsdfWorstWhereWeightsAgree: tsdfWorst, submissions, checksum };
  } finally {
    destroyVolume(ctx, volume);
  }
}

/**
 * Silhouette fill: the shape's top (y > 0.62) has no depth in any view (as where stereo finds nothing), but the masks
 * cover it. Fused without the fill, the mesh is open there; with it, the hole closes near the true surface.
 */
async function checkHullFill(ctx: StageContext, shape: AnalyticShape, voxels: number, viewCount: number, size: [number, number]) {
  const voxel = 1 / (voxels - 1);
  const spec: VolumeSpec = { dims: [voxels, voxels, voxels], origin: [0, 0, 0], voxelSize: voxel, truncation: 4 * voxel };
  const views = analyticViews(shape, viewCount, size[0], size[1]);
  for (const v of views) {
    const p = v.camFromWorld;
    const eye = [0, 1, 2].map((i) => -(p[i] * p[3] + p[4 + i] * p[7] + p[8 + i] * p[11]));
    for (let y = 0; y < v.height; y++) for (let x = 0; x < v.width; x++) {
      const i = y * v.width + x, d = v.depth[i];
      if (d <= 0) continue;
      // World point of the pixel: eye + d * R^T [(x - cx) / fx, (y - cy) / fy, 1].
      const c = [(x - v.cx) / v.fx, (y - v.cy) / v.fy, 1];
      const wy = eye[1] + d * (p[1] * c[0] + p[5] * c[1] + p[9] * c[2]);
      if (wy > 0.62) v.depth[i] = 0;
    }
  }
  const fuse = async (hullFill: boolean) => {
    const volume = createVolume(ctx, spec);
    try {
      await integrateViews(ctx, volume, views, null, { hullFill });
      return await extractMesh(ctx, volume);
    } finally {
      destroyVolume(ctx, volume);
    }
  };
  const measure = (mesh: { positions: Float32Array; indices: Uint32Array }) => {
    const edges = new Map<string, number>();
    for (let f = 0; f < mesh.indices.length; f += 3) {
      for (let e = 0; e < 3; e++) {
        const a = mesh.indices[f + e], b = mesh.indices[f + ((e + 1) % 3)];
        const key = a < b ? `${a},${b}` : `${b},${a}`;
        edges.set(key, (edges.get(key) ?? 0) + 1);
      }
    }
    let boundaryEdges = 0;
    for (const count of edges.values()) if (count === 1) boundaryEdges++;
    let sum = 0, worst = 0, top = 0;
    const n = mesh.positions.length / 3;
    for (let v = 0; v < n; v++) {
      const q = [mesh.positions[3 * v], mesh.positions[3 * v + 1], mesh.positions[3 * v + 2]];
      const d = distanceToShape(shape, q) / voxel;
      sum += d;
      worst = Math.max(worst, d);
      if (q[1] > 0.7) top++;
    }
    return { triangles: mesh.indices.length / 3, boundaryEdges, meanDistanceVoxels: sum / Math.max(1, n), maxDistanceVoxels: worst, verticesOnTop: top };
  };
  return { without: measure(await fuse(false)), with: measure(await fuse(true)) };
}

/**
 * Structure from motion end to end on real photos: the capture ingested twice, once with its camera files (the
 * truth) and once with the photos alone (`photoPattern`), which runSfm then registers; the cameras are scored
 * against the truth (relative rotations between every pair, focal).
 */
async function checkSfmRun(ctx: StageContext, files: { path: string; bytes: ArrayBuffer }[], photoPattern: RegExp, maxFeatures?: number, verifyWorkers?: number, cancelDuringVerify = false, dumpInput = false, learned?: import('../stages/sfm/features/learned').LearnedFeatureOptions) {
  const { ingestCapture } = await import('../io/ingest');
  const { decodePhotoInBrowser, decodeResizedInBrowser } = await import('../io/decode');
  const { runSfm } = await import('../stages/sfm/runSfm');
  const { liveVerifyWorkers } = await import('../stages/sfm/verifyPool');
  const { scoreCameras } = await import('../eval/cameras');
  const copy = (list: typeof files) => list.map((f) => ({ path: f.path, bytes: f.bytes.slice(0) }));
  const truth = await ingestCapture(copy(files), { preset: 'draft', decodePhoto: decodePhotoInBrowser });
  const photos = await ingestCapture(copy(files.filter((f) => photoPattern.test(f.path))), { preset: 'draft', decodePhoto: decodePhotoInBrowser });
  const t0 = performance.now();
  const warnings: string[] = [];
  const controller = new AbortController();
  let verifyingWorkers = -1, abortedAt = 0;
  const sfmCtx: StageContext = {
    ...ctx,
    signal: controller.signal,
    warn: (message) => warnings.push(message),
    progress: (done, _total, message) => {
      // runSfm maps the reconstruction's progress to 2 x views .. 3 x views: above 2 x views some pairs are verified.
      if (cancelDuringVerify && message.startsWith('Verifying image pairs') && done > 2 * photos.views.length && !controller.signal.aborted) {
        verifyingWorkers = liveVerifyWorkers();
        abortedAt = performance.now();
        controller.abort();
      }
    },
  };
  if (cancelDuringVerify) {
    try {
      await runSfm(photos, sfmCtx, { decodePhoto: decodePhotoInBrowser, decodeResized: decodeResizedInBrowser, maxFeatures, verifyWorkers });
      return { cancelled: false, liveWorkersDuring: verifyingWorkers, liveWorkersAfter: liveVerifyWorkers(), warnings };
    } catch (error) {
      return { cancelled: controller.signal.aborted, error: (error as Error).name, cancelMs: performance.now() - abortedAt, liveWorkersDuring: verifyingWorkers, liveWorkersAfter: liveVerifyWorkers(), warnings };
    }
  }
  const { stats } = await runSfm(photos, sfmCtx, { decodePhoto: decodePhotoInBrowser, decodeResized: decodeResizedInBrowser, maxFeatures, verifyWorkers, dumpInput, learnedFeatures: learned });
  const ms = performance.now() - t0;
  const pairs = photos.views.map((v) => {
    const t = truth.views.find((w) => w.name === v.name)!;
    return { name: v.name, truth: { K: t.K, camFromWorld: t.camFromWorld! }, estimated: v.camFromWorld ? { K: v.K, camFromWorld: v.camFromWorld } : null };
  });
  const score = scoreCameras(pairs);
  const cameras = photos.views.map((v) => (v.camFromWorld ? [...v.K, ...v.camFromWorld] : null));
  return { registered: stats.registered, views: stats.views, relativeRotationErrorDeg: score.relativeRotationErrorDeg, focalErrorRel: score.focalErrorRel, unregistered: stats.unregistered, ms, cameras, warnings, liveWorkersAfter: liveVerifyWorkers(), stats: { ...stats, extra: undefined, pairMatches: undefined } };
}

/**
 * The SfM reconstruction (solveCameras from guessed focals, as the stage runs it) on the same features and matches,
 * pairs verified in-process, then on pools of each size in `workers`, then in-process again (the spread of the two
 * in-process times is the machine's noise). Features come from the working images (no re-decode), so one GPU SIFT
 * pass serves all.
 */
async function checkSfmVerifyPool(ctx: StageContext, files: { path: string; bytes: ArrayBuffer }[], workers: number[], maxFeatures?: number) {
  const { ingestCapture } = await import('../io/ingest');
  const { decodePhotoInBrowser } = await import('../io/decode');
  const { extractFeatures } = await import('../stages/sfm/features/siftGpu');
  const { selectPairs } = await import('../stages/sfm/matching/pairs');
  const { matchPairs } = await import('../stages/sfm/matching/matchGpu');
  const { sfmInputOf, solveCameras } = await import('../stages/sfm/solve');
  const { createVerifyPool, liveVerifyWorkers } = await import('../stages/sfm/verifyPool');
  const { verifySerial } = await import('../stages/sfm/verifyPairs');
  const photos = await ingestCapture(files.map((f) => ({ path: f.path, bytes: f.bytes.slice(0) })), { preset: 'draft', decodePhoto: decodePhotoInBrowser });
  const features = await extractFeatures(ctx, photos.views.map((v) => v.image), { maxFeatures: maxFeatures ?? 8000 });
  const matches = await matchPairs(ctx, features, selectPairs(features));
  const runs = [];
  for (const size of [0, ...workers, 0]) {
    const warnings: string[] = [];
    const pool = size ? createVerifyPool(size, (m) => warnings.push(m)) : null;
    const input = sfmInputOf(photos.views, features, features.map(() => 1), matches);
    const calls: { pairs: number; ms: number }[] = [];
    input.verify = async (jobs, signal, progress) => {
      const t = performance.now();
      const out = await (pool?.verify ?? verifySerial)(jobs, signal, progress);
      calls.push({ pairs: jobs.count, ms: performance.now() - t });
      return out;
    };
    const t0 = performance.now();
    let liveDuring = 0;
    try {
      const { result } = await solveCameras(input, true, ctx.signal);
      liveDuring = liveVerifyWorkers();
      runs.push({
        workers: pool?.size ?? 0,
        workerBusyMs: pool?.busyMs ?? 0,
        verifyMs: calls.reduce((s, c) => s + c.ms, 0),
        calls,
        reconstructionMs: performance.now() - t0,
        verifiedPairs: result.stats.verifiedPairs,
        registered: result.cameras.filter(Boolean).length,
        cameras: result.cameras.map((c) => (c ? [...c.K, ...c.camFromWorld, c.k1, c.k2] : null)),
        warnings,
        liveDuring,
      });
    } finally {
      pool?.dispose();
    }
  }
  return { views: photos.views.length, pairs: matches.length, runs, liveAfter: liveVerifyWorkers() };
}

function shapeVolume(dims: [number, number, number], shape: 'sphere' | 'empty' | 'full' | 'noise'): CpuVolume {
  const n = dims[0] * dims[1] * dims[2];
  const vol: CpuVolume = { tsdf: new Float32Array(n), weight: new Float32Array(n).fill(1), color: new Uint32Array(n) };
  const rand = seededRandom(dims[0] * 1000 + dims[1] * 10 + dims[2]);
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) {
    const i = x + dims[0] * (y + dims[1] * z);
    const p = [x / Math.max(1, dims[0] - 1), y / Math.max(1, dims[1] - 1), z / Math.max(1, dims[2] - 1)];
    let t: number;
    if (shape === 'empty') t = 1;
    else if (shape === 'full') t = -0.5;
    else if (shape === 'noise') t = rand() * 1.6 - 0.8;
    else t = Math.max(-1, Math.min(1, (Math.hypot(p[0] - 0.5, p[1] - 0.45, p[2] - 0.55) - 0.3) * 3));
    vol.tsdf[i] = t;
    if (shape === 'noise' && rand() < 0.05) vol.weight[i] = 0;
    vol.color[i] = ((x * 37) & 255) | (((y * 53) & 255) << 8) | (((z * 71) & 255) << 16);
  }
  return vol;
}

async function checkMarchingCubes(ctx: StageContext, dims: [number, number, number], shape: 'sphere' | 'empty' | 'full' | 'noise', slabVoxels?: number) {
  const voxel = 1 / Math.max(1, Math.max(...dims) - 1);
  const spec: VolumeSpec = { dims, origin: [0.1, -0.2, 0.3], voxelSize: voxel, truncation: 4 * voxel };
  const cpuVol = shapeVolume(dims, shape);
  const volume = createVolume(ctx, spec);
  try {
    const q = ctx.gpu.device.queue;
    q.writeBuffer(volume.tsdf, 0, cpuVol.tsdf);
    q.writeBuffer(volume.weight, 0, cpuVol.weight);
    q.writeBuffer(volume.color, 0, cpuVol.color);
    const gpuMesh = await extractMesh(ctx, volume, null, { slabVoxels });
    const cpuMesh = marchingCubesCpu(spec, cpuVol);
    let positionWorst = 0;
    if (gpuMesh.positions.length === cpuMesh.positions.length) {
      for (let i = 0; i < cpuMesh.positions.length; i++) positionWorst = Math.max(positionWorst, Math.abs(gpuMesh.positions[i] - cpuMesh.positions[i]));
    }
    let indexMismatch = gpuMesh.indices.length === cpuMesh.indices.length ? 0 : -1;
    if (indexMismatch === 0) for (let i = 0; i < cpuMesh.indices.length; i++) if (gpuMesh.indices[i] !== cpuMesh.indices[i]) indexMismatch++;
    let normalsOk = 0;
    for (let v = 0; v < gpuMesh.normals.length; v += 3) if (Math.abs(Math.hypot(gpuMesh.normals[v], gpuMesh.normals[v + 1], gpuMesh.normals[v + 2]) - 1) < 1e-3) normalsOk++;
    return {
      gpuVertices: gpuMesh.positions.length / 3,
      cpuVertices: cpuMesh.positions.length / 3,
      gpuTriangles: gpuMesh.indices.length / 3,
      cpuTriangles: cpuMesh.indices.length / 3,
      positionWorst,
      indexMismatch,
      unitNormals: normalsOk,
      submissions: gpuMesh.submissions,
    };
  } finally {
    destroyVolume(ctx, volume);
  }
}

/**
 * The device's uncaptured-error bookkeeping (device.ts; the job's warning counts on it): `errors` shader modules that do
 * not compile, outside any error scope. The count must grow by exactly that many while the message list keeps only
 * the latest 100.
 */
async function checkGpuErrorCount(ctx: StageContext, errors: number) {
  const { device } = ctx.gpu;
  const before = ctx.gpu.uncapturedErrorCount();
  for (let k = 0; k < errors; k++) device.createShaderModule({ label: `check:bad${k}`, code: `this is not wgsl ${k}` });
  await device.queue.onSubmittedWorkDone();
  // uncaptured errors arrive as events: give them a moment after the queue
  const deadline = performance.now() + 5000;
  while (ctx.gpu.uncapturedErrorCount() - before < errors && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const since = ctx.gpu.uncapturedErrorsSince(before);
  return { counted: ctx.gpu.uncapturedErrorCount() - before, listed: since.length, lastMentionsLast: since.length > 0 && since[since.length - 1].includes(`check:bad${errors - 1}`) };
}

/**
 * The depth stage's GPU image preparation (imagePrep.ts) against its CPU references on random images: the sweep's luma
 * and its mip level (exactly), the network's RGB planes (largest difference).
 */
async function checkImagePrep(ctx: StageContext, cases: { source: [number, number]; target: [number, number] }[]) {
  const { createImagePrep, lumaBoxCpu, halveCpu } = await import('../stages/depth/imagePrep');
  const { planarRgb } = await import('../stages/depth/mvsNet');
  const { device } = ctx.gpu;
  const rand = makeRng(11);
  const out: Record<string, unknown>[] = [];
  for (const { source: [sw, sh], target: [W, H] } of cases) {
    const data = new Uint8Array(4 * sw * sh);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
    const image = { width: sw, height: sh, data };
    const prep = createImagePrep(device, ctx.scope);
    const owned: (GPUBuffer | GPUTexture)[] = [];
    try {
      const texture = ctx.scope.createTexture({ label: 'check:prep', size: [W, H, 2], mipLevelCount: 2, format: 'r8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.COPY_SRC });
      owned.push(texture);
      const planes = ctx.scope.createBuffer({ label: 'check:planes', size: 2 * 3 * W * H * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      owned.push(planes);
      // layer 1 and the second half of the planes buffer: offsets are honoured
      prep.luma(image, W, H, texture, 1, true);
      prep.planes(image, W, H, planes, 3 * W * H);
      const levels = [[W, H], [Math.floor(W / 2), Math.floor(H / 2)]];
      const gpuLuma: Uint8Array[] = [];
      for (const [level, [w, h]] of levels.entries()) {
        const bytesPerRow = Math.ceil(w / 256) * 256;
        const staging = ctx.scope.createBuffer({ label: 'check:lumaRead', size: bytesPerRow * h, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
        owned.push(staging);
        const encoder = device.createCommandEncoder();
        encoder.copyTextureToBuffer({ texture, mipLevel: level, origin: [0, 0, 1] }, { buffer: staging, bytesPerRow, rowsPerImage: h }, [w, h, 1]);
        device.queue.submit([encoder.finish()]);
        const bytes = new Uint8Array(await readBuffer(device, ctx.scope, staging));
        gpuLuma.push(Uint8Array.from({ length: w * h }, (_, i) => bytes[Math.floor(i / w) * bytesPerRow + (i % w)]));
      }
      const cpu0 = lumaBoxCpu(image, W, H), cpu1 = halveCpu(cpu0, W, H);
      const gpuPlanes = new Float32Array(await readBuffer(device, ctx.scope, planes)).subarray(3 * W * H);
      const cpuPlanes = planarRgb({ width: sw, height: sh, image }, W, H);
      let planeDiff = 0;
      for (let i = 0; i < cpuPlanes.length; i++) planeDiff = Math.max(planeDiff, Math.abs(cpuPlanes[i] - gpuPlanes[i]));
      out.push({ source: [sw, sh], target: [W, H], lumaMismatch: cpu0.filter((v, i) => v !== gpuLuma[0][i]).length, mipMismatch: cpu1.filter((v, i) => v !== gpuLuma[1][i]).length, planeDiff, lumaMean: cpu0.reduce((a, v) => a + v, 0) / cpu0.length });
    } finally {
      prep.release();
      for (const r of owned) ctx.scope.destroy(r);
    }
  }
  return { cases: out };
}

/** Plane-sweep depth on analytic views (textured by a high-frequency pattern) against the exact depth. */
async function checkMvs(ctx: StageContext, shape: AnalyticShape, viewCount: number, size: [number, number], depthCount: number) {
  const { estimateDepthPlaneSweep } = await import('../stages/depth/planeSweep');
  const { data, views } = analyticCaptureViews(shape, viewCount, size);
  const score = (depths: (Float32Array | null)[]) => scoreDepths(depths, data.map((v) => v.depth));
  // range 'full': the CPU reference below sweeps sweepRange's range.
  const rawOptions = { preset: 'draft' as const, longSide: Math.max(...size), depthCount, minConsistent: 0, minConfidence: 0, passes: 1 as const, range: 'full' as const, holeFill: false as const };
  const raw = await estimateDepthPlaneSweep(views, rawOptions, ctx);
  // The tiled sweep kernel (the default for passes without a prior) against the per-pixel one: the same depth to
  // float rounding (a pixel whose two best planes score alike may pick the other).
  const perPixel = await estimateDepthPlaneSweep(views, { ...rawOptions, tiledSweep: false }, ctx);
  const agreement = (a: (Float32Array | null)[], b: (Float32Array | null)[]) => {
    let same = 0, compared = 0;
    a.forEach((d, k) => {
      const e = b[k]!;
      for (let i = 0; i < d!.length; i++) {
        if (!(d![i] > 0) && !(e[i] > 0)) continue;
        compared++;
        if (Math.abs(d![i] - e[i]) <= 1e-4 * e[i]) same++;
      }
    });
    return { same, compared };
  };
  const { same: tiledSame, compared: tiledCompared } = agreement(raw.depths, perPixel.depths);
  // ...and in the two-pass sweep (the coarse pass at mip level 1) at the largest window (radius 7: 30 x 30 per source
  // in workgroup memory), through the fine pass.
  const twoPass = { ...rawOptions, passes: 2 as const, range: undefined, windowRadius: 7 };
  const wide = agreement((await estimateDepthPlaneSweep(views, twoPass, ctx)).depths, (await estimateDepthPlaneSweep(views, { ...twoPass, tiledSweep: false }, ctx)).depths);
  const fineRaw = await estimateDepthPlaneSweep(views, { preset: 'draft', longSide: Math.max(...size), depthCount, minConsistent: 0, minConfidence: 0, holeFill: false, keepRaw: true }, ctx);
  // The consistency filter on the GPU (mvs_filter.wgsl) against its CPU reference on the same raw maps.
  const { filterConsistent, filterConsistentGpu, consistencyOptions } = await import('../stages/depth/planeSweep');
  const filterAgreement: Record<string, { cpuKept: number; gpuKept: number; mismatched: number }> = {};
  const fr = fineRaw.raw!;
  const { fillDepthHoles, DEFAULT_HOLE_FILL } = await import('../stages/depth/holeFill');
  for (const [label, o] of Object.entries({ default: {}, bilinear: { sampling: 'bilinear' as const }, strict: { minConsistent: 3, lowConfidenceWitnesses: false, reprojectionPx: 0.5 }, excuse: { excuseHidden: true, depthTolerance: 0.02 }, holeFill: {} })) {
    const options = consistencyOptions({ preset: 'draft', ...o }, 0.6);
    // 'holeFill': the default filter, then the enclosed-hole fill (3 iterations, radius 4) on both sides
    const fill = label === 'holeFill' ? { ...DEFAULT_HOLE_FILL, radius: 4, iterations: 3 } : null;
    const cpu = filterConsistent(fr.data, fr.viewIndex.length, fr.width, fr.height, fr.poses, fr.Ks, fr.sources, options);
    if (fill) fillDepthHoles(cpu, fr.viewIndex.length, fr.width, fr.height, fill);
    const gpu = await filterConsistentGpu(ctx, fr.data, fr.viewIndex.length, fr.width, fr.height, fr.poses, fr.Ks, fr.sources, options, fill);
    let cpuKept = 0, gpuKept = 0, mismatched = 0;
    for (let i = 0; i < cpu.length; i++) {
      if (cpu[i] > 0) cpuKept++;
      if (gpu[i] > 0) gpuKept++;
      // filled depths are float32 means on the GPU
      if (cpu[i] !== gpu[i] && !(cpu[i] > 0 && Math.abs(cpu[i] - gpu[i]) < 1e-5 * cpu[i])) mismatched++;
    }
    filterAgreement[label] = { cpuKept, gpuKept, mismatched };
  }
  // CPU reference of the kernel for view 0 (its first sources, the same range), compared pixel by pixel.
  const { planeSweepCpu, selectSources, convergencePoint, sweepRange } = await import('../stages/depth/planeSweep');
  const poses = data.map((v) => v.camFromWorld);
  const Ks = data.map((v) => [v.fx, 0, v.cx, 0, v.fy, v.cy, 0, 0, 1]);
  const target = convergencePoint(poses);
  const src = selectSources(poses, target)[0];
  const luma = views.map((v) => Float32Array.from({ length: v.width * v.height }, (_, i) => Math.round(0.299 * v.image.data[4 * i] + 0.587 * v.image.data[4 * i + 1] + 0.114 * v.image.data[4 * i + 2]) / 255));
  const range = sweepRange(poses[0], target);
  const cpu = planeSweepCpu(luma, size[0], size[1], Ks, poses, 0, src, range.invNear, range.invFar, depthCount);
  let agree = 0, compared = 0;
  const gpu0 = raw.depths[0]!;
  for (let i = 0; i < size[0] * size[1]; i++) {
    if (cpu[2 * i] <= 0 || gpu0[i] <= 0) continue;
    compared++;
    if (Math.abs(cpu[2 * i] - gpu0[i]) / cpu[2 * i] < 0.002) agree++;
  }
  const cpuScore = score([Float32Array.from({ length: size[0] * size[1] }, (_, i) => cpu[2 * i]), ...data.slice(1).map(() => null)]);
  const out = await estimateDepthPlaneSweep(views, { preset: 'draft', longSide: Math.max(...size), depthCount, minConsistent: 2 }, ctx);
  // NETWORK_NCC_RULE's guided pass with a half-resolution prior made from the truth: as it is (the guided pass can only
  // add better matches) and 25% too far (its search misses the surface; the sweep's own matches must survive the merge).
  const priorFrom = (factor: number) => {
    const pw = Math.floor(size[0] / 2), ph = Math.floor(size[1] / 2);
    const prior = new Float32Array(data.length * pw * ph * 2);
    data.forEach((v, k) => {
      for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) {
        const d = v.depth[Math.min(size[1] - 1, 2 * y + 1) * size[0] + Math.min(size[0] - 1, 2 * x + 1)];
        prior.set([d > 0 ? d * factor : 0, 1], 2 * (k * pw * ph + y * pw + x));
      }
    });
    return { data: prior, width: pw, height: ph };
  };
  const guidedOptions = { preset: 'draft' as const, longSide: Math.max(...size), depthCount, minConsistent: 0, minConfidence: 0, holeFill: false as const };
  const guidedTrue = await estimateDepthPlaneSweep(views, guidedOptions, ctx, priorFrom(1));
  const guidedWrong = await estimateDepthPlaneSweep(views, guidedOptions, ctx, priorFrom(1.25));
  return { ...out.stats, filterAgreement, raw: score(raw.depths), fineRaw: score(fineRaw.depths), guidedTrue: score(guidedTrue.depths), guidedWrong: score(guidedWrong.depths), cpuView0: cpuScore, gpuView0: score([gpu0, ...data.slice(1).map(() => null)]), cpuGpuAgreement: agree / Math.max(1, compared), tiledAgreement: tiledSame / Math.max(1, tiledCompared), tiledCompared, tiledTwoPassR7Agreement: wide.same / Math.max(1, wide.compared), tiledTwoPassR7Compared: wide.compared, ...score(out.depths) };
}

/** Views of an analytic shape as capture views (RGBA from the analytic colours, background grey), plus the truth. */
function analyticCaptureViews(shape: AnalyticShape, viewCount: number, size: [number, number]) {
  const data = analyticViews(shape, viewCount, size[0], size[1], 1);
  const views = data.map((v, index) => {
    const rgba = new Uint8Array(v.color.buffer.slice(0));
    for (let i = 0; i < v.width * v.height; i++) if (v.depth[i] <= 0) rgba.set([40, 40, 40, 255], 4 * i);
    return {
      index, name: `v${index}`, path: `v${index}`, key: `v${index}`, width: v.width, height: v.height, fullWidth: v.width, fullHeight: v.height,
      image: { width: v.width, height: v.height, data: rgba }, depthMeters: null, mask: null,
      K: [v.fx, 0, v.cx, 0, v.fy, v.cy, 0, 0, 1], distortion: null, intrinsicsSource: 'file' as const, camFromWorld: v.camFromWorld,
      exif: null, heldOut: false, source: { bytes: new ArrayBuffer(0), mime: 'image/png' },
    };
  });
  return { data, views };
}

/** Relative depth errors of depth maps against the analytic truth (object pixels only). */
function scoreDepths(depths: (Float32Array | null)[], truths: Float32Array[]) {
  let valid = 0, objectPixels = 0, within = 0;
  const errors: number[] = [];
  depths.forEach((d, k) => {
    const truth = truths[k];
    for (let i = 0; i < truth.length; i++) {
      if (truth[i] <= 0) continue;
      objectPixels++;
      if (!d || d[i] <= 0) continue;
      valid++;
      const e = Math.abs(d[i] - truth[i]) / truth[i];
      errors.push(e);
      if (e < 0.01) within++;
    }
  });
  errors.sort((a, b) => a - b);
  const mean = errors.reduce((s, e) => s + e, 0) / Math.max(1, errors.length);
  return { objectPixels, validFraction: valid / Math.max(1, objectPixels), within1pct: within / Math.max(1, valid), medianRelError: errors[Math.floor(errors.length / 2)] ?? null, absRel: errors.length ? mean : null };
}

/** The WGSL cost volume against its CPU reference on random features and the cameras of an analytic ring. */
async function checkCostVolume(ctx: StageContext, spec: Extract<KernelCheckSpec, { kind: 'mvs-cost-volume' }>) {
  const { costVolumeCpu, encodeCostVolume } = await import('../stages/depth/mvsNet');
  const { sourceProjection, convergencePoint, sweepRange } = await import('../stages/depth/planeSweep');
  const { device } = ctx.gpu;
  const [w, h] = spec.size;
  const views = analyticViews('sphere', 8, w, h, 1);
  const poses = views.map((v) => v.camFromWorld);
  const Ks = views.map((v) => [v.fx, 0, v.cx, 0, v.fy, v.cy, 0, 0, 1]);
  const srcIdx = [1, 7, 2, 6].slice(0, spec.sources);
  const rand = seededRandom(w * 31 + h * 7 + spec.mode);
  const feat = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const C = spec.channels, hw = w * h;
  const ref = feat(C * hw);
  const srcs = srcIdx.map(() => feat(C * hw));
  const range = sweepRange(poses[0], convergencePoint(poses));
  const pw = w / 2, ph = h / 2;
  const prior = Float32Array.from({ length: pw * ph }, (_, i) => range.invFar + (range.invNear - range.invFar) * (0.3 + 0.4 * ((i * 7919) % 101) / 100));
  const params = {
    width: w, height: h, channels: C, groups: spec.groups, depthCount: spec.depthCount, mode: spec.mode, invNear: range.invNear, invFar: range.invFar,
    halfWidth: (4 * (range.invNear - range.invFar)) / 48, priorWidth: pw, priorHeight: ph,
    maps: srcIdx.map((s) => sourceProjection(Ks[0], poses[0], Ks[s], poses[s])),
  };
  const { costParamBytesForTest } = await import('../stages/depth/mvsNet');
  const paramBuffer = uploadBuffer(device, ctx.scope, 'check:cost-params', new Uint8Array(costParamBytesForTest(params)), GPUBufferUsage.UNIFORM);
  const refBuffer = uploadBuffer(device, ctx.scope, 'check:ref', ref);
  const srcBuffers = srcs.map((s, i) => uploadBuffer(device, ctx.scope, `check:src${i}`, s));
  const priorBuffer = uploadBuffer(device, ctx.scope, 'check:prior', prior);
  const cost = ctx.scope.createBuffer({ label: 'check:cost', size: spec.groups * spec.depthCount * hw * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const encoder = device.createCommandEncoder();
  encodeCostVolume(device, encoder, paramBuffer, refBuffer, srcBuffers, priorBuffer, cost, hw, spec.depthCount);
  device.queue.submit([encoder.finish()]);
  const [gpuBytes] = await readBuffers(device, ctx.scope, [cost]);
  const gpu = new Float32Array(gpuBytes);
  const cpu = costVolumeCpu(ref, srcs, params, prior);
  let maxAbsDiff = 0, nonZero = 0, maxAbs = 0;
  for (let i = 0; i < cpu.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(gpu[i] - cpu[i]));
    maxAbs = Math.max(maxAbs, Math.abs(cpu[i]));
    if (cpu[i] !== 0) nonZero++;
  }
  return { entries: cpu.length, nonZeroFraction: nonZero / cpu.length, maxAbsDiff, maxAbs };
}

/** The shipped (or the random CI) network through the weights loader, on an analytic capture, against the truth. */
async function checkMvsNet(ctx: StageContext, spec: Extract<KernelCheckSpec, { kind: 'mvs-net' }>) {
  const { loadMvsNetwork, estimateDepthNetwork } = await import('../stages/depth/mvsNet');
  const { fetchManifest } = await import('../ml/weights');
  const manifest = await fetchManifest();
  if (spec.corruptManifest) {
    // A manifest whose hash disagrees with the file: the loader must refuse it.
    const entry = manifest.models[spec.model];
    entry.graphs.feature = { ...entry.graphs.feature, sha256: '0'.repeat(64) };
  }
  let progressEvents = 0;
  const t0 = performance.now();
  const net = await loadMvsNetwork(spec.model, ctx.gpu.device, ctx.scope, { manifest, onProgress: () => progressEvents++ });
  const loadMs = performance.now() - t0;
  const { data, views } = analyticCaptureViews(spec.shape, spec.views, spec.size);
  const truths = data.map((d) => d.depth);
  const longSide = Math.max(...spec.size);
  // The network on its own (no NCC pass after it): this check is about the network.
  const filtered = await estimateDepthNetwork(views, net, { preset: 'draft', longSide, minConsistent: 2, nccRefine: false, keepRaw: true }, ctx);
  // FEATURE_CACHE_RULE: the same run with room for 5 views' features (recomputed on demand) gives the same depth.
  const cachedRun = await estimateDepthNetwork(views, net, { preset: 'draft', longSide, minConsistent: 2, nccRefine: false, keepRaw: true, featureCacheViews: 5 }, ctx);
  let cacheMaxDiff = 0;
  filtered.raw!.data.forEach((v, i) => { cacheMaxDiff = Math.max(cacheMaxDiff, Math.abs(v - cachedRun.raw!.data[i])); });
  const featureCache = { slots: cachedRun.stats.featureSlots, featureRuns: cachedRun.stats.featureRuns, uncachedRuns: filtered.stats.featureRuns, maxRawDiff: cacheMaxDiff };
  // The classical baseline on the same views, filtered the same way (its depth maps are at the full working size).
  const { estimateDepthPlaneSweep } = await import('../stages/depth/planeSweep');
  const sweep = await estimateDepthPlaneSweep(views, { preset: 'draft', longSide, depthCount: 96, minConsistent: 2 }, ctx);
  return {
    loadMs, progressEvents, executionProvider: net.feature.executionProvider, ...filtered.stats, featureCache,
    ...scoreDepths(filtered.depths, truths), planeSweep: scoreDepths(sweep.depths, truths),
  };
}

function decodeF32(b64: string): Float32Array {
  return new Float32Array(base64ToBytes(b64).buffer);
}

/** ORT-web + our WGSL on export.py's fixed input against PyTorch's outputs for it. */
async function checkMvsFixture(ctx: StageContext, model: string, fx: MvsFixture) {
  const { loadMvsNetwork, runNetwork } = await import('../stages/depth/mvsNet');
  const net = await loadMvsNetwork(model, ctx.gpu.device, ctx.scope);
  const images = decodeF32(fx.images);
  const n = 3 * fx.width * fx.height;
  const inputs = fx.K.map((K, v) => ({ rgb: () => images.slice(v * n, (v + 1) * n), K, pose: fx.camFromWorld[v] }));
  const sources = fx.K.map((_, v) => (v === 0 ? fx.sources : []));
  const ranges = fx.K.map(() => ({ invNear: fx.invNear, invFar: fx.invFar }));
  const { raw: rawOrNull, stage1 } = await runNetwork(net, inputs, { width: fx.width, height: fx.height }, sources, ranges, ctx, { keepStage1: true });
  const raw = rawOrNull!;
  const expected = fx.expected[model];
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  };
  const inv1 = decodeF32(expected.inv1), conf1 = decodeF32(expected.conf1), inv2 = decodeF32(expected.inv2);
  const hw2 = (fx.width / 2) * (fx.height / 2);
  const gotInv2 = Float32Array.from({ length: hw2 }, (_, i) => 1 / raw[2 * i]);
  const gt = decodeF32(fx.gtDepthHalf);
  const rel: number[] = [];
  for (let i = 0; i < hw2; i++) if (gt[i] > 0) rel.push(Math.abs(raw[2 * i] - gt[i]) / gt[i]);
  rel.sort((a, b) => a - b);
  const relInv = (a: Float32Array, b: Float32Array) => {
    let m = 0;
    for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
    return m;
  };
  return {
    pixels: hw2,
    inv1MaxAbsDiff: maxDiff(stage1![0].inv, inv1),
    conf1MaxAbsDiff: maxDiff(stage1![0].conf, conf1),
    inv2MaxAbsDiff: maxDiff(gotInv2, inv2),
    inv2MaxRelDiff: relInv(gotInv2, inv2),
    invRange: fx.invNear - fx.invFar,
    medianRelErrorVsTruth: rel[Math.floor(rel.length / 2)] ?? null,
    executionProvider: net.feature.executionProvider,
  };
}

/**
 * A capture WITH depth maps (e.g. a synthetic one): its depth is hidden from both methods, then the network's and the
 * plane sweep's filtered depth maps are scored against it inside the masks (AbsRel, delta < 1.25, coverage).
 */
async function checkMvsCapture(ctx: StageContext, spec: Extract<KernelCheckSpec, { kind: 'mvs-capture' }>) {
  const { ingestCapture } = await import('../io/ingest');
  const { decodePhotoInBrowser } = await import('../io/decode');
  const { loadMvsNetwork, estimateDepthNetwork, releaseMvsNetwork } = await import('../stages/depth/mvsNet');
  const { estimateDepthPlaneSweep } = await import('../stages/depth/planeSweep');
  const capture = await ingestCapture(spec.files, { preset: spec.preset, decodePhoto: decodePhotoInBrowser });
  const views = capture.views.filter((v) => !v.heldOut);
  const truths = views.map((v) => v.depthMeters);
  if (truths.some((t) => !t)) throw new Error('mvs-capture: every view needs a depth map (the truth)');
  for (const v of views) v.depthMeters = null;
  const score = (depths: (Float32Array | null)[]) => {
    let inside = 0, valid = 0, good = 0, sum = 0;
    depths.forEach((d, k) => {
      const truth = truths[k]!, mask = views[k].mask;
      for (let i = 0; i < truth.length; i++) {
        if (truth[i] <= 0 || (mask && mask[i] === 0)) continue;
        inside++;
        if (!d || d[i] <= 0) continue;
        valid++;
        sum += Math.abs(d[i] - truth[i]) / truth[i];
        if (Math.max(d[i] / truth[i], truth[i] / d[i]) < 1.25) good++;
      }
    });
    return { pixels: inside, coverage: valid / Math.max(1, inside), absRel: sum / Math.max(1, valid), delta125: good / Math.max(1, valid) };
  };
  const net = await loadMvsNetwork(spec.model ?? 'mvsnet', ctx.gpu.device, ctx.scope);
  const t0 = performance.now();
  const network = await estimateDepthNetwork(views, net, { preset: spec.preset, nccRefine: false }, ctx);
  const t1 = performance.now();
  const variants = [];
  for (const o of spec.networkOptions ?? []) variants.push({ ...o, ...score((await estimateDepthNetwork(views, net, { preset: spec.preset, nccRefine: false, ...o }, ctx)).depths) });
  // The product's network method: the plane sweep with the network-guided NCC pass (NETWORK_NCC_RULE).
  const tg = performance.now();
  const guidedRun = await estimateDepthNetwork(views, net, { preset: spec.preset }, ctx);
  const guided = { ...score(guidedRun.depths), ms: performance.now() - tg, width: guidedRun.stats.width, height: guidedRun.stats.height };
  await releaseMvsNetwork(net);
  const sweep = await estimateDepthPlaneSweep(views, { preset: spec.preset }, ctx);
  const t2 = performance.now();
  return { views: views.length, variants, network: { ...score(network.depths), ms: t1 - t0, width: network.stats.width, height: network.stats.height }, guided, planeSweep: { ...score(sweep.depths), ms: t2 - t1, width: sweep.stats.width, height: sweep.stats.height } };
}
