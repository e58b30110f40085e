/**
 * Learned multi-view stereo (issue 7): per view a 2-D feature network (ONNX on ORT WebGPU, our device), then per
 * reference view two stages, each = our WGSL cost volume (mvs_cost_volume.wgsl: homography warp of the sources'
 * features, group-wise correlation averaged over the sources that see the sample) -> 2-D U-Net regulariser (ONNX)
 * -> our WGSL soft-argmin + confidence (mvs_regress.wgsl). Stage 1 sweeps the view's whole range (the plane sweep's
 * range and source choice) at 1/4 resolution; stage 2 a narrow band around it at 1/2 resolution. The depth maps then
 * go through the same geometric consistency filter as the plane sweep. Trained by training/ (PyTorch twins of both
 * kernels: same pixel centres, hypotheses, sampling and visibility).
 */
import { createImagePrep, rgbPlanesCpu, type PrepImage } from './imagePrep';
import type { CaptureView } from '../../core/capture';
import { InputError, throwIfAborted } from '../../core/errors';
import { getComputePipeline } from '../../gpu/kernel';
import { gpuDone, readBuffer, readBuffers } from '../../gpu/readback';
import type { VramScope } from '../../gpu/vram';
import { createSession, type OrtSessionHandle, type TensorOutput } from '../../ml/ort';
import { bilinearPlanes } from '../../ml/planes';
import { loadModelWeights, type LoadWeightsOptions, type MvsNetConfig } from '../../ml/weights';
import type { StageContext } from '../context';
import costWgsl from './mvs_cost_volume.wgsl?raw';
import priorWgsl from './mvs_prior.wgsl?raw';
import regressWgsl from './mvs_regress.wgsl?raw';
import { consistencyOptions, depthsAtViewSize, estimateDepthPlaneSweep, filterConsistentGpu, focalSensitivityOf, MVS_LONG_SIDE, type RawDepthMaps, selectSources, sourceProjection, sweepGeometry, viewRanges, type MvsOptions, type MvsStats } from './planeSweep';

export const DEFAULT_MVS_MODEL = 'mvsnet';

export interface MvsNetwork {
  name: string;
  config: MvsNetConfig;
  feature: OrtSessionHandle;
  reg1: OrtSessionHandle;
  reg2: OrtSessionHandle;
  /** Set by releaseMvsNetwork (which may then be called again). */
  released?: boolean;
}

export interface NetworkMvsStats extends MvsStats {
  method: 'network';
  model: string;
  featureMs: number;
  stagesMs: number;
  /** The plane sweep with its network-guided pass (nccRefine), when it ran. */
  nccMs?: number;
  /** Feature-network computations (views; more than the views when the feature cache recomputed) and cache slots. */
  featureRuns: number;
  featureSlots: number;
}

/** Downloads (or takes from the cache), verifies and opens the three graphs of `name` on our device. */
export async function loadMvsNetwork(name: string, device: GPUDevice, scope: VramScope, options: LoadWeightsOptions = {}): Promise<MvsNetwork> {
  const weights = await loadModelWeights(name, options);
  const config = weights.entry.config;
  if (!config) throw new InputError(`The weights of ${name} have no network configuration: not a depth network.`);
  const open = (graph: string) => {
    const bytes = weights.graphs[graph];
    if (!bytes) throw new InputError(`The weights of ${name} have no "${graph}" graph.`);
    return createSession(bytes, { label: `${name}:${graph}`, scope, device });
  };
  // A layout our kernels cannot run is refused before any session opens (the product's default then falls back).
  checkNetworkLayout(name, config);
  const opened: Awaited<ReturnType<typeof open>>[] = [];
  try {
    for (const graph of ['feature', 'reg1', 'reg2']) opened.push(await open(graph));
  } catch (error) {
    // The sessions already open go back with the error (their ORT buffers would otherwise outlive the job's attempt).
    await Promise.allSettled(opened.map((session) => session.release()));
    throw error;
  }
  const [feature, reg1, reg2] = opened;
  return { name, config, feature, reg1, reg2 };
}

/** Throws when the cost-volume kernel cannot run this network (group-wise correlation: channels divisible, <= 8 groups). */
export function checkNetworkLayout(name: string, cfg: MvsNetwork['config']): void {
  const C4 = cfg.feature?.out4, C2 = cfg.feature?.out2, G1 = cfg.stage1?.groups, G2 = cfg.stage2?.groups;
  if (![C4, C2, G1, G2].every((v) => Number.isInteger(v) && v >= 1) || C4 % G1 !== 0 || C2 % G2 !== 0 || G1 > 8 || G2 > 8) throw new InputError(`The network ${name} has a layout our cost-volume kernel does not handle (groups ${G1}/${G2}, channels ${C4}/${C2}).`);
}

/** Hands the network's sessions (and ORT's pooled buffers with them) back before fusion needs the memory. */
export async function releaseMvsNetwork(net: MvsNetwork): Promise<void> {
  if (net.released) return;
  net.released = true;
  // Every session goes back even when one fails; the first failure is reported after.
  const results = await Promise.allSettled([net.feature.release(), net.reg1.release(), net.reg2.release()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Network input size: the preset's long side, both sides multiples of 16 (the networks downsample 16x). */
export function networkSize(width: number, height: number, longSide: number, maxUpscale = 1): { width: number; height: number } {
  const scale = Math.min(maxUpscale, longSide / Math.max(width, height));
  const round16 = (v: number) => Math.max(32, Math.round((v * scale) / 16) * 16);
  return { width: round16(width), height: round16(height) };
}

/** K of an image resized from (w, h) to (W, H), pixel centres at integers. */
export function resizeK(K: number[], sx: number, sy: number): number[] {
  return [K[0] * sx, K[1] * sx, (K[2] + 0.5) * sx - 0.5, 0, K[4] * sy, (K[5] + 0.5) * sy - 0.5, 0, 0, 1];
}

/** RGB planes in 0..1 ([3, H, W]) of a view's working image at the network size: box-filtered (rgbPlanesCpu) or enlarged. */
export function planarRgb(view: { width: number; height: number; image: { data: Uint8Array | Uint8ClampedArray } }, width: number, height: number): Float32Array {
  const image = { width: view.width, height: view.height, data: view.image.data };
  // enlarged: bilinear between the working image's pixel centres; else the boxes of image_prep.wgsl's rgbPlanes
  if (view.width < width || view.height < height) return bilinearPlanes(image, width, height, false);
  return rgbPlanesCpu(image, width, height);
}

const COST_PARAMS_BYTES = 304;
const REGRESS_PARAMS_BYTES = 48;
const WORKGROUP = 64;

export interface CostVolumeParams {
  width: number;
  height: number;
  channels: number;
  groups: number;
  depthCount: number;
  /** Row-major A and b per source (sourceProjection at this level). */
  maps: { A: number[]; b: number[] }[];
  mode: 0 | 1;
  invNear: number;
  invFar: number;
  halfWidth: number;
  priorWidth: number;
  priorHeight: number;
}

function costParamBytes(p: CostVolumeParams): ArrayBuffer {
  const buf = new ArrayBuffer(COST_PARAMS_BYTES);
  const f = new Float32Array(buf), u = new Uint32Array(buf);
  p.maps.forEach(({ A, b }, s) => {
    for (let c = 0; c < 3; c++) for (let row = 0; row < 3; row++) f[s * 12 + c * 4 + row] = A[row * 3 + c];
    f.set(b, 48 + s * 4);
  });
  u.set([p.width, p.height, p.channels, p.groups, p.depthCount, p.maps.length, p.mode], 64);
  f[71] = p.invNear;
  f[72] = p.invFar;
  f[73] = p.halfWidth;
  u[74] = p.priorWidth;
  u[75] = p.priorHeight;
  return buf;
}

function regressParamBytes(width: number, height: number, depthCount: number, mode: 0 | 1, invNear: number, invFar: number, halfWidth: number, outOffset: number, priorWidth: number, priorHeight: number): ArrayBuffer {
  const buf = new ArrayBuffer(REGRESS_PARAMS_BYTES);
  const f = new Float32Array(buf), u = new Uint32Array(buf);
  u.set([width, height, depthCount, mode], 0);
  f[4] = invNear;
  f[5] = invFar;
  f[6] = halfWidth;
  u[7] = outOffset;
  u[8] = priorWidth;
  u[9] = priorHeight;
  return buf;
}

/** Encodes one cost-volume dispatch. `sources` may be shorter than 4 (unused bindings get the reference). */
export function encodeCostVolume(device: GPUDevice, encoder: GPUCommandEncoder, params: GPUBuffer, refFeat: GPUBuffer, sources: GPUBuffer[], prior: GPUBuffer, cost: GPUBuffer, pixels: number, depthCount: number): void {
  const pipeline = getComputePipeline(device, { label: 'mvs.costVolume', code: costWgsl + priorWgsl });
  const srcs = [0, 1, 2, 3].map((i) => sources[i] ?? refFeat);
  const pass = encoder.beginComputePass({ label: 'mvs.costVolume' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    label: 'mvs.costVolume',
    layout: pipeline.getBindGroupLayout(0),
    entries: [params, refFeat, ...srcs, prior, cost].map((buffer, binding) => ({ binding, resource: { buffer } })),
  }));
  pass.dispatchWorkgroups(Math.ceil(pixels / WORKGROUP), depthCount);
  pass.end();
}

function encodeRegress(device: GPUDevice, encoder: GPUCommandEncoder, params: GPUBuffer, buffers: [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer], pixels: number): void {
  const pipeline = getComputePipeline(device, { label: 'mvs.regress', code: regressWgsl + priorWgsl });
  const pass = encoder.beginComputePass({ label: 'mvs.regress' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({
    label: 'mvs.regress',
    layout: pipeline.getBindGroupLayout(0),
    entries: [params, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
  }));
  pass.dispatchWorkgroups(Math.ceil(pixels / WORKGROUP));
  pass.end();
}

/**
 * CPU reference of mvs_cost_volume.wgsl (tests): features [C, H, W] per view, returns cost [G*D, H, W].
 * `prior` (mode 1) is the stage-1 inverse depth at (priorWidth, priorHeight).
 */
export function costVolumeCpu(refFeat: Float32Array, sources: Float32Array[], p: CostVolumeParams, prior: Float32Array | null): Float32Array {
  const { width: w, height: h, channels: C, groups: G, depthCount: D } = p;
  const hw = w * h, per = C / G;
  const out = new Float32Array(G * D * hw);
  const priorUp = (x: number, y: number) => {
    const pw = p.priorWidth, ph = p.priorHeight;
    const sx = Math.max((x + 0.5) * 0.5 - 0.5, 0), sy = Math.max((y + 0.5) * 0.5 - 0.5, 0);
    const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(x0 + 1, pw - 1), y1 = Math.min(y0 + 1, ph - 1);
    const fx = sx - x0, fy = sy - y0;
    const at = (xx: number, yy: number) => prior![yy * pw + xx];
    return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
  };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const pixel = y * w + x;
    for (let k = 0; k < D; k++) {
      const t = (k + 0.5) / D;
      const inv = p.mode === 0 ? p.invNear + (p.invFar - p.invNear) * t : Math.max(priorUp(x, y) + p.halfWidth * (t * 2 - 1), 1e-6);
      const depth = 1 / inv;
      const sums = new Float64Array(G);
      let seen = 0;
      p.maps.forEach(({ A, b }, s) => {
        const hh = [0, 1, 2].map((r) => depth * (A[r * 3] * x + A[r * 3 + 1] * y + A[r * 3 + 2]) + b[r]);
        if (hh[2] <= 1e-6) return;
        const px = hh[0] / hh[2], py = hh[1] / hh[2];
        if (!(px >= 0 && px <= w - 1 && py >= 0 && py <= h - 1)) return;
        const x0 = Math.floor(px), y0 = Math.floor(py), x1 = Math.min(x0 + 1, w - 1), y1 = Math.min(y0 + 1, h - 1);
        const fx = px - x0, fy = py - y0;
        seen++;
        const src = sources[s];
        for (let g = 0; g < G; g++) {
          let acc = 0;
          for (let j = 0; j < per; j++) {
            const base = (g * per + j) * hw;
            const v = (1 - fx) * (1 - fy) * src[base + y0 * w + x0] + fx * (1 - fy) * src[base + y0 * w + x1] + (1 - fx) * fy * src[base + y1 * w + x0] + fx * fy * src[base + y1 * w + x1];
            acc += v * refFeat[base + pixel];
          }
          sums[g] += acc / per;
        }
      });
      for (let g = 0; g < G; g++) out[(g * D + k) * hw + pixel] = sums[g] / Math.max(seen, 1);
    }
  }
  return out;
}

/** Copies item `index` of a batched output (items of target.size bytes) into `target`. */
function toGpu(device: GPUDevice, out: TensorOutput, target: GPUBuffer, encoder: GPUCommandEncoder, index = 0): void {
  const bytes = target.size;
  if (out.location === 'gpu') encoder.copyBufferToBuffer(out.buffer, index * bytes, target, 0, bytes);
  else device.queue.writeBuffer(target, 0, (out.data as Float32Array).subarray((index * bytes) / 4, ((index + 1) * bytes) / 4));
}

export interface NetworkViewInput {
  /** Planar RGB in 0..1, [3, H, W] at the network size. */
  rgb(): Float32Array;
  /**
   * The working image the planes come from: when it is at least the network size, the box-filtered planes are made
   * on the GPU from it (imagePrep.ts, the same boxes as planarRgb) and rgb() is not called.
   */
  image?: PrepImage;
  /** K at the network size, camFromWorld. */
  K: number[];
  pose: number[];
}

/** Per-phase wall time of runNetwork, each phase waited for on the GPU (a benchmark: the waits cost time). */
export interface NetworkPhaseTiming {
  /** CPU: planar RGB at the network size and its upload. */
  upload: number;
  /** ORT: the 2-D feature network. */
  featureOrt: number;
  /** Our WGSL: both cost volumes (homography warp + group-wise correlation). */
  costVolume: number;
  /** ORT: both regularisation networks. */
  regularisationOrt: number;
  /** Our WGSL: soft-argmin depth and confidence, both stages. */
  regress: number;
}

export interface RunNetworkOptions {
  /** Also return the stage-1 inverse depth and confidence of every view (fixture comparison). */
  keepStage1?: boolean;
  /**
   * The caller's buffer (views x W/2 x H/2 (depth, confidence) pairs, zeroed, STORAGE) for the raw output, which then
   * stays on the GPU: no readback, `raw` is null. The network method hands it on to the NCC passes or the filter.
   */
  result?: GPUBuffer;
  /** When given, every phase is waited for on the GPU and its wall time added here. */
  timing?: NetworkPhaseTiming;
  /**
   * Views per feature-network run (the graph's batch axis is dynamic). ORT-web dispatches every layer once per run,
   * so one run over several views pays the per-layer overhead once; default FEATURE_BATCH, capped by memory.
   */
  featureBatch?: number;
  /**
   * Views whose features stay on the GPU at once (default: as many as FEATURE_CACHE_BYTES holds, at least 5). When a
   * capture has more, the reference views run in an order that reuses the kept features, and features are computed
   * again when a later reference view needs them (FEATURE_CACHE_RULE).
   */
  featureCacheViews?: number;
}

/** Views per feature-network run by default; see RunNetworkOptions.featureBatch. */
export const FEATURE_BATCH = 4;

/**
 * The most image bytes (3 x W x H float32 per view) one feature-network run takes. Was 64 MiB: on lego (640x640,
 * 4.9 MB a view) that is batch 4, and ORT's peak was 962 MB; batch 2 gives 474 MB and the job's peak 1.44 -> 1.04 GB,
 * for 10% more feature time (2.67 -> 2.93 s for 97 runs; H200, docs/benchmarks.md session 10). 10 MiB: batch 2 at
 * 640x640 and 640x480, 4 at 512x384 and below.
 */
export const FEATURE_BATCH_BYTES = 10 << 20;

/**
 * FEATURE_CACHE_RULE: the features of every view (32 + 16 channels at 1/4 and 1/2 resolution, 9.8 MB a view at
 * 640x640) were all kept while the stages ran: 855 MB of lego's 1.99 GB peak with its 87 views. Beyond this budget
 * they are kept in a least-recently-used cache of view slots instead.
 */
export const FEATURE_CACHE_BYTES = 256 << 20;

/**
 * The feature cache's plan for `capacity` slots: the reference-view order (greedily the next view whose own and source
 * features are most already in the cache; ties: the lowest index) and, per step, the views whose features must be
 * computed first with the slot each goes to (a free slot, else the least recently used one the step does not need).
 * runNetwork replays it; `computations` is the number of feature computations it costs.
 */
export function cachedOrder(sources: number[][], capacity: number): { order: number[]; loads: [view: number, slot: number][][]; computations: number } {
  const count = sources.length;
  const done = new Uint8Array(count);
  const slotOf = new Int32Array(count).fill(-1);
  const slotView = new Int32Array(capacity).fill(-1);
  const lastUse = new Float64Array(capacity).fill(-1);
  let clock = 0;
  const order: number[] = [];
  const loads: [number, number][][] = [];
  let computations = 0;
  // a view without sources runs no stages and needs no features
  const needOf = (r: number) => (sources[r].length ? [r, ...sources[r].slice(0, MAX_NETWORK_SOURCES)] : []);
  for (let step = 0; step < count; step++) {
    let best = -1, bestMisses = Infinity;
    for (let r = 0; r < count; r++) {
      if (done[r]) continue;
      const misses = needOf(r).filter((v) => slotOf[v] < 0).length;
      if (misses < bestMisses) {
        best = r;
        bestMisses = misses;
      }
    }
    done[best] = 1;
    order.push(best);
    const need = needOf(best);
    const load: [number, number][] = [];
    for (const v of need) if (slotOf[v] >= 0) lastUse[slotOf[v]] = ++clock;
    for (const v of need) {
      if (slotOf[v] >= 0) continue;
      let slot = slotView.indexOf(-1);
      if (slot < 0) {
        let oldest = Infinity;
        slotView.forEach((held, k) => {
          if (!need.includes(held) && lastUse[k] < oldest) {
            oldest = lastUse[k];
            slot = k;
          }
        });
      }
      if (slotView[slot] >= 0) slotOf[slotView[slot]] = -1;
      slotView[slot] = v;
      slotOf[v] = slot;
      lastUse[slot] = ++clock;
      load.push([v, slot]);
    }
    computations += load.length;
    loads.push(load);
  }
  return { order, loads, computations };
}

const MAX_NETWORK_SOURCES = 4;

/**
 * The network on views already at the network size (W, H multiples of 16). Returns raw (depth, confidence) pairs at
 * half the network size for every view ([views * (W/2) * (H/2) * 2]; depth 0 where a view has no source; in
 * `options.result` on the GPU instead when given), and,
 * when `keepStage1`, the stage-1 inverse depth and confidence of every view (fixture comparison).
 */
export async function runNetwork(net: MvsNetwork, views: NetworkViewInput[], size: { width: number; height: number }, sources: number[][], ranges: { invNear: number; invFar: number }[], ctx: StageContext, options: RunNetworkOptions = {}): Promise<{ raw: Float32Array | null; stage1?: { inv: Float32Array; conf: Float32Array }[]; featureMs: number; stagesMs: number; featureRuns: number; featureSlots: number }> {
  const { keepStage1 = false, timing } = options;
  const { device } = ctx.gpu;
  const scope = ctx.scope;
  const cfg = net.config;
  const { width: W, height: H } = size;
  const w4 = W / 4, h4 = H / 4, w2 = W / 2, h2 = H / 2;
  const hw4 = w4 * h4, hw2 = w2 * h2;
  const C4 = cfg.feature.out4, C2 = cfg.feature.out2;
  const D1 = cfg.stage1.depths, G1 = cfg.stage1.groups, D2 = cfg.stage2.depths, G2 = cfg.stage2.groups;
  checkNetworkLayout(net.name, cfg);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const owned: GPUBuffer[] = [];
  const make = (label: string, size: number, use = usage) => {
    const b = scope.createBuffer({ label, size: Math.max(16, size), usage: use });
    owned.push(b);
    return b;
  };
  const count = views.length;
  const t0 = performance.now();
  const total = 2 * count + 1;
  const prep = createImagePrep(device, scope);
  try {
    // 1. features, `batch` views per ORT run. The image batch stays under FEATURE_BATCH_BYTES (ORT's activations are
    // ~100x it). Every view's features are kept (each view is a source of up to 4 others) when
    // FEATURE_CACHE_BYTES holds them; otherwise a cache of view slots (FEATURE_CACHE_RULE).
    const perView = (C4 * hw4 + C2 * hw2) * 4;
    const capacity = Math.min(count, Math.max(MAX_NETWORK_SOURCES + 1, options.featureCacheViews ?? Math.floor(FEATURE_CACHE_BYTES / perView)));
    const cachedRun = capacity < count;
    const feat4 = Array.from({ length: capacity }, (_, k) => make(`mvs:feat4:${k}`, C4 * hw4 * 4));
    const feat2 = Array.from({ length: capacity }, (_, k) => make(`mvs:feat2:${k}`, C2 * hw2 * 4));
    const slotOf = new Map<number, number>();
    const imageBytes = 3 * W * H * 4;
    const batch = Math.max(1, Math.min(options.featureBatch ?? FEATURE_BATCH, count, Math.floor(FEATURE_BATCH_BYTES / imageBytes)));
    const image = make('mvs:image', batch * imageBytes);
    // Phase timing for benchmarks: wait for the GPU, add the time since the last mark to `phase`.
    let mark = performance.now();
    const phase = async (name: keyof NetworkPhaseTiming) => {
      if (!timing) return;
      await gpuDone(device, ctx.signal);
      const now = performance.now();
      timing[name] += now - mark;
      mark = now;
    };
    let featureRuns = 0;
    let featureMs = 0;
    /** The features of `list` into their slots (slotOf); `report`: progress per 4 views. */
    const computeFeatures = async (list: number[], report: boolean) => {
      const tf = performance.now();
      for (let first = 0; first < list.length; first += batch) {
        throwIfAborted(ctx.signal);
        const chunk = list.slice(first, first + batch);
        const n = chunk.length;
        chunk.forEach((v, k) => {
          const source = views[v].image;
          if (source && source.width >= W && source.height >= H) prep.planes(source, W, H, image, (k * imageBytes) / 4);
          else device.queue.writeBuffer(image, k * imageBytes, views[v].rgb() as Float32Array<ArrayBuffer>);
        });
        await phase('upload');
        const outputs = await net.feature.run({ image: { location: 'gpu', buffer: image, dims: [n, 3, H, W], dataType: 'float32' } });
        const encoder = device.createCommandEncoder({ label: 'mvs.features' });
        chunk.forEach((v, k) => {
          toGpu(device, outputs.feat4, feat4[slotOf.get(v)!], encoder, k);
          toGpu(device, outputs.feat2, feat2[slotOf.get(v)!], encoder, k);
        });
        device.queue.submit([encoder.finish()]);
        for (const o of Object.values(outputs)) if (o.location === 'gpu') o.dispose();
        await phase('featureOrt');
        featureRuns += n;
        if (report && (first + n === list.length || Math.floor((first + n) / 4) > Math.floor(first / 4))) {
          await gpuDone(device, ctx.signal);
          ctx.progress(first + n, total, `network features ${first + n}/${count}`);
        }
      }
      featureMs += performance.now() - tf;
    };
    const plan = cachedRun ? cachedOrder(sources, capacity) : null;
    const order = plan ? plan.order : views.map((_, v) => v);
    if (!plan) {
      views.forEach((_, v) => slotOf.set(v, v));
      await computeFeatures(order, true);
      scope.destroy(image);
    }
    const t1 = performance.now();
    // 2. two stages per reference view
    const cost1 = make('mvs:cost1', G1 * D1 * hw4 * 4);
    const cost2 = make('mvs:cost2', G2 * D2 * hw2 * 4);
    const inv1 = make('mvs:inv1', hw4 * 4);
    const conf1 = make('mvs:conf1', hw4 * 4);
    const result = options.result ?? make('mvs:result', count * hw2 * 8);
    const readDummy = make('mvs:unused-read', 16);
    const writeDummyA = make('mvs:unused-write-a', 16);
    const writeDummyB = make('mvs:unused-write-b', 16);
    const writeDummyC = make('mvs:unused-write-c', 16);
    const uniform = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    const p1 = make('mvs:params-cost1', COST_PARAMS_BYTES, uniform);
    const p2 = make('mvs:params-cost2', COST_PARAMS_BYTES, uniform);
    const r1 = make('mvs:params-regress1', REGRESS_PARAMS_BYTES, uniform);
    const r2 = make('mvs:params-regress2', REGRESS_PARAMS_BYTES, uniform);
    const stage1: { inv: Float32Array; conf: Float32Array }[] = [];
    const K4 = views.map((v) => resizeK(v.K, 0.25, 0.25));
    const K2 = views.map((v) => resizeK(v.K, 0.5, 0.5));
    for (let step = 0; step < count; step++) {
      const r = order[step];
      throwIfAborted(ctx.signal);
      const src = sources[r].slice(0, MAX_NETWORK_SOURCES);
      if (src.length === 0) continue;
      if (plan && plan.loads[step].length) {
        // FEATURE_CACHE_RULE: this step's missing features into the slots the plan gives them
        for (const [v, slot] of plan.loads[step]) {
          for (const [held, at] of slotOf) if (at === slot) slotOf.delete(held);
          slotOf.set(v, slot);
        }
        await computeFeatures(plan.loads[step].map(([v]) => v), false);
      }
      const f4 = (v: number) => feat4[slotOf.get(v)!], f2 = (v: number) => feat2[slotOf.get(v)!];
      const { invNear, invFar } = ranges[r];
      const halfWidth = (cfg.stage2.span_steps * Math.abs(invNear - invFar)) / D1;
      // stage 1
      device.queue.writeBuffer(p1, 0, costParamBytes({
        width: w4, height: h4, channels: C4, groups: G1, depthCount: D1, mode: 0, invNear, invFar, halfWidth: 0, priorWidth: 1, priorHeight: 1,
        maps: src.map((s) => sourceProjection(K4[r], views[r].pose, K4[s], views[s].pose)),
      }));
      let encoder = device.createCommandEncoder({ label: 'mvs.stage1' });
      encodeCostVolume(device, encoder, p1, f4(r), src.map(f4), readDummy, cost1, hw4, D1);
      device.queue.submit([encoder.finish()]);
      await phase('costVolume');
      const logits1 = (await net.reg1.run({
        cost: { location: 'gpu', buffer: cost1, dims: [1, G1 * D1, h4, w4], dataType: 'float32' },
        feat: { location: 'gpu', buffer: f4(r), dims: [1, C4, h4, w4], dataType: 'float32' },
      })).logits;
      const logits1Buffer = logits1.location === 'gpu' ? logits1.buffer : make('mvs:logits1', D1 * hw4 * 4);
      if (logits1.location === 'cpu') device.queue.writeBuffer(logits1Buffer, 0, logits1.data as Float32Array<ArrayBuffer>);
      await phase('regularisationOrt');
      device.queue.writeBuffer(r1, 0, regressParamBytes(w4, h4, D1, 0, invNear, invFar, 0, 0, 1, 1));
      encoder = device.createCommandEncoder({ label: 'mvs.regress1' });
      encodeRegress(device, encoder, r1, [logits1Buffer, readDummy, readDummy, inv1, conf1, writeDummyC], hw4);
      device.queue.submit([encoder.finish()]);
      if (logits1.location === 'gpu') logits1.dispose();
      else scope.destroy(logits1Buffer);
      await phase('regress');
      if (keepStage1) {
        const [a, b] = await readBuffers(device, scope, [inv1, conf1]);
        stage1[r] = { inv: new Float32Array(a), conf: new Float32Array(b) };
      }
      // stage 2
      device.queue.writeBuffer(p2, 0, costParamBytes({
        width: w2, height: h2, channels: C2, groups: G2, depthCount: D2, mode: 1, invNear, invFar, halfWidth, priorWidth: w4, priorHeight: h4,
        maps: src.map((s) => sourceProjection(K2[r], views[r].pose, K2[s], views[s].pose)),
      }));
      encoder = device.createCommandEncoder({ label: 'mvs.stage2' });
      encodeCostVolume(device, encoder, p2, f2(r), src.map(f2), inv1, cost2, hw2, D2);
      device.queue.submit([encoder.finish()]);
      await phase('costVolume');
      const logits2 = (await net.reg2.run({
        cost: { location: 'gpu', buffer: cost2, dims: [1, G2 * D2, h2, w2], dataType: 'float32' },
        feat: { location: 'gpu', buffer: f2(r), dims: [1, C2, h2, w2], dataType: 'float32' },
      })).logits;
      const logits2Buffer = logits2.location === 'gpu' ? logits2.buffer : make('mvs:logits2', D2 * hw2 * 4);
      if (logits2.location === 'cpu') device.queue.writeBuffer(logits2Buffer, 0, logits2.data as Float32Array<ArrayBuffer>);
      await phase('regularisationOrt');
      device.queue.writeBuffer(r2, 0, regressParamBytes(w2, h2, D2, 1, invNear, invFar, halfWidth, r * hw2, w4, h4));
      encoder = device.createCommandEncoder({ label: 'mvs.regress2' });
      encodeRegress(device, encoder, r2, [logits2Buffer, inv1, conf1, writeDummyA, writeDummyB, result], hw2);
      device.queue.submit([encoder.finish()]);
      if (logits2.location === 'gpu') logits2.dispose();
      else scope.destroy(logits2Buffer);
      await phase('regress');
      if (step % 4 === 3 || step === count - 1) {
        await gpuDone(device, ctx.signal);
        ctx.progress(count + step + 1, total, `network depth ${step + 1}/${count}`);
      }
    }
    const raw = options.result ? null : new Float32Array(await readBuffer(device, scope, result));
    const t2 = performance.now();
    // With the cache, feature runs happen between the stages: their time counts as feature time.
    return { raw, ...(keepStage1 ? { stage1 } : {}), featureMs: cachedRun ? featureMs : t1 - t0, stagesMs: t2 - t1 - (cachedRun ? featureMs : 0), featureRuns, featureSlots: capacity };
  } finally {
    prep.release();
    for (const b of owned) scope.destroy(b);
  }
}

/**
 * Depth maps for every posed, not held-out view from the network; same output contract as estimateDepthPlaneSweep
 * (depth at the working size in scene units, 0 = unknown, in the order of `views`), same consistency filter.
 */
export async function estimateDepthNetwork(views: CaptureView[], net: MvsNetwork, options: MvsOptions, ctx: StageContext, hooks: { afterNetwork?: () => Promise<void> } = {}): Promise<{ depths: (Float32Array | null)[]; stats: NetworkMvsStats; raw?: RawDepthMaps }> {
  const used = views.map((v, i) => ({ v, i })).filter(({ v }) => v.camFromWorld && !v.heldOut);
  if (used.length < 2) throw new InputError('Depth from photos needs at least two photos with cameras.');
  const first = used[0].v;
  const size = networkSize(first.width, first.height, options.longSide ?? MVS_LONG_SIDE[options.preset], options.maxUpscale);
  const ok = used.filter(({ v }) => Math.abs(v.width / v.height - first.width / first.height) < 0.01);
  if (ok.length < used.length) ctx.warn(`${used.length - ok.length} photo(s) have another aspect ratio than ${first.name}: no depth is estimated for them.`);
  const poses = ok.map(({ v }) => v.camFromWorld!);
  const Ks = ok.map(({ v }) => resizeK(v.K, size.width / v.width, size.height / v.height));
  const { target, forward } = sweepGeometry(poses);
  const sources = selectSources(poses, target);
  const ranges = viewRanges(options, poses, Ks, size.width, size.height, target, sources, forward);
  const inputs: NetworkViewInput[] = ok.map(({ v }, k) => ({ rgb: () => planarRgb(v, size.width, size.height), image: v.image, K: Ks[k], pose: poses[k] }));
  const refine = options.nccRefine ?? true;
  const networkCtx = refine ? { ...ctx, progress: (done: number, total: number, message: string) => ctx.progress(done, 2 * total, message) } : ctx;
  const w2 = size.width / 2, h2 = size.height / 2;
  // The network's raw maps stay on the GPU for the NCC passes or the filter (71 MB each way on lego otherwise).
  const rawBuffer = ctx.scope.createBuffer({ label: 'mvs:networkRaw', size: ok.length * w2 * h2 * 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  try {
    const { featureMs, stagesMs, featureRuns, featureSlots } = await runNetwork(net, inputs, size, sources, ranges, networkCtx, { featureCacheViews: options.featureCacheViews, featureBatch: options.featureBatch, result: rawBuffer });
    if (refine) {
      // NETWORK_NCC_RULE: the plane sweep runs with a third pass, a full-resolution NCC search around the network's
      // half-resolution depth; per pixel the better NCC of it and the sweep's own fine pass wins, and the sweep's filter
      // keeps what agrees across views.
      const nccCtx = { ...ctx, progress: (done: number, total: number, message: string) => ctx.progress(total + done, 2 * total, message) };
      // The caller may free the network's sessions here (ORT's buffers: ~1 GB of lego's peak), before the sweep's.
      await hooks.afterNetwork?.();
      const swept = await estimateDepthPlaneSweep(views, options, nccCtx, { data: rawBuffer, width: w2, height: h2 });
      return {
        ...swept,
        stats: { ...swept.stats, method: 'network', model: net.name, sweepMs: featureMs + stagesMs + swept.stats.sweepMs, featureMs, stagesMs, featureRuns, featureSlots, nccMs: swept.stats.sweepMs },
      };
    }
    const t0 = performance.now();
    const K2 = Ks.map((K) => resizeK(K, 0.5, 0.5));
    const filtered = await filterConsistentGpu(ctx, rawBuffer, ok.length, w2, h2, poses, K2, sources, consistencyOptions(options, 0.5));
    const filterMs = performance.now() - t0;
    const raw = options.keepRaw ? new Float32Array(await readBuffer(ctx.gpu.device, ctx.scope, rawBuffer)) : null;
    const { depths, kept } = depthsAtViewSize(filtered, ok, views.length, w2, h2);
    ctx.progress(1, 1, 'depth filtered');
    return {
      depths,
      stats: { method: 'network', model: net.name, views: ok.length, width: w2, height: h2, depthCount: net.config.stage1.depths, sweepMs: featureMs + stagesMs, featureMs, stagesMs, featureRuns, featureSlots, filterMs, keptFraction: kept / (ok.length * w2 * h2), focalSensitivity: focalSensitivityOf(poses, sources, filtered, ok.length, w2 * h2) },
      ...(raw ? { raw: { data: raw, width: w2, height: h2, viewIndex: ok.map(({ i }) => i), Ks: K2, poses, sources, ranges } } : {}),
    };
  } finally {
    ctx.scope.destroy(rawBuffer);
  }
}

/** The uniform bytes of a cost-volume dispatch (exposed for the kernel check). */
export const costParamBytesForTest = costParamBytes;
