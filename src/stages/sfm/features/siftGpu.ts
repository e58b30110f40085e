/**
 * SIFT features on the GPU (sift.wgsl): one submit and one readback per image. The pyramid, DoG, extrema,
 * orientation and descriptor kernels run back to back; orientation and descriptor passes are sized by indirect
 * dispatch from the GPU's own counters, so no count has to come back to the CPU in between. All oriented keypoints
 * come back with their descriptors; the CPU ranks them (compareRaw: response, then position) and keeps the strongest
 * N, so the result does not depend on the order in which GPU threads appended them.
 */
import type { RgbaImage } from '../../../core/mesh';
import { InputError, throwIfAborted } from '../../../core/errors';
import { getComputePipeline } from '../../../gpu/kernel';
import { readBuffers } from '../../../gpu/readback';
import type { GpuTimer } from '../../../gpu/timer';
import type { StageContext } from '../../context';
import type { ImageFeatures } from '../types';
import siftWgsl from './sift.wgsl?raw';
import {
  candidateCapacity, gaussianTaps, scaleSpacePlan, selectStrongest, siftSettings,
  type RawKeypoint, type ScaleSpacePlan, type SiftOptions, type SiftSettings,
} from './siftPlan';

const SLOT = 256;

export interface ExtractOptions extends SiftOptions {
  /** Optional GPU timer: passes are labelled sift.pyramid / sift.extrema / sift.orientation / sift.descriptor. */
  timer?: GpuTimer | null;
}

export interface ExtractStats {
  /** Per image: oriented keypoints found before keeping the strongest N, and whether a buffer overflowed. */
  found: number[];
  retries: number;
  /** Milliseconds the loop waited for source images (decoding not hidden behind the GPU's work); set when given. */
  imageWaitMs?: number;
}

type Entry = 'luma' | 'blur_h' | 'blur_v' | 'blur_h_direct' | 'blur_v_direct' | 'downsample' | 'dog' | 'extrema' | 'indirect' | 'orient' | 'descr';
/** Bindings each entry point uses (layout 'auto' only holds those). */
const BINDINGS: Record<Entry, number[]> = {
  luma: [0, 1, 2],
  blur_h: [0, 2, 3],
  blur_v: [0, 2, 3],
  blur_h_direct: [0, 2, 3],
  blur_v_direct: [0, 2, 3],
  downsample: [0, 2],
  dog: [0, 2, 4],
  extrema: [0, 4, 5, 6],
  indirect: [0, 5, 9],
  orient: [0, 2, 5, 6, 7],
  descr: [0, 2, 7, 8],
};

interface Slot {
  w: number; h: number; src: number; dst: number; radius?: number; inW?: number; inH?: number; octave?: number;
  mode?: number; taps?: Float32Array;
}

/** Writes one dispatch's parameters into its 256-byte slot. */
function writeSlot(view: DataView, index: number, slot: Slot, plan: ScaleSpacePlan, settings: SiftSettings, capCand: number, capKp: number, threshold: number): void {
  const o = index * SLOT;
  const u = (k: number, v: number) => view.setUint32(o + 4 * k, v >>> 0, true);
  const f = (k: number, v: number) => view.setFloat32(o + 4 * k, v, true);
  u(0, slot.w); u(1, slot.h); u(2, slot.src); u(3, slot.dst);
  u(4, slot.radius ?? 0); u(5, slot.inW ?? 0); u(6, slot.inH ?? 0); u(7, slot.octave ?? 0);
  f(8, threshold); f(9, 0.5 * threshold); f(10, settings.edgeThreshold); f(11, settings.sigma0);
  u(12, settings.s); u(13, capCand); u(14, capKp); u(15, slot.mode ?? 0);
  if (slot.taps) slot.taps.forEach((t, k) => f(16 + k, t));
  plan.octaves.forEach((oct, k) => { u(32 + 4 * k, oct.width); u(33 + 4 * k, oct.height); u(34 + 4 * k, oct.gaussOffset); });
}

interface Buffers {
  key: string;
  rgba: GPUBuffer; gauss: GPUBuffer; tmp: GPUBuffer; dog: GPUBuffer; counters: GPUBuffer;
  cands: GPUBuffer; kps: GPUBuffer; desc: GPUBuffer; args: GPUBuffer; params: GPUBuffer;
}

function allocate(ctx: StageContext, plan: ScaleSpacePlan, capCand: number, capKp: number, slots: number): Buffers {
  const S = GPUBufferUsage.STORAGE, D = GPUBufferUsage.COPY_DST, C = GPUBufferUsage.COPY_SRC;
  const mk = (label: string, size: number, usage: number) => ctx.scope.createBuffer({ label: `sift:${label}`, size: Math.max(16, Math.ceil(size / 4) * 4), usage });
  return {
    key: `${plan.inputWidth}x${plan.inputHeight}/${plan.width}x${plan.height}/${capCand}/${slots}`,
    rgba: mk('rgba', plan.inputWidth * plan.inputHeight * 4, S | D),
    gauss: mk('gauss', plan.gaussFloats * 4, S),
    tmp: mk('tmp', plan.width * plan.height * 4, S),
    dog: mk('dog', plan.dogFloats * 4, S),
    counters: mk('counters', 16, S | D | C),
    cands: mk('cands', capCand * 32, S),
    kps: mk('kps', capKp * 32, S | C),
    desc: mk('desc', capKp * 128, S | C),
    args: mk('args', 32, S | GPUBufferUsage.INDIRECT),
    params: mk('params', slots * SLOT, GPUBufferUsage.UNIFORM | D),
  };
}

function release(ctx: StageContext, b: Buffers): void {
  for (const buf of [b.rgba, b.gauss, b.tmp, b.dog, b.counters, b.cands, b.kps, b.desc, b.args, b.params]) ctx.scope.destroy(buf);
}

/**
 * Images handed to extractFeatures one at a time, in index order: image(i) is awaited just before image i is
 * uploaded, while the GPU still works on image i - 1 (runSfm decodes photos ahead through this).
 */
export interface FeatureImageSource {
  count: number;
  image(index: number): Promise<RgbaImage>;
}

/**
 * Features of every image (RGBA working images, rows top to bottom). Keypoints are in the pixels of the image given
 * (detection runs on it downscaled to maxLongSide at most, coordinates are mapped back). Progress per image;
 * cancellable between images.
 */
export async function extractFeatures(ctx: StageContext, source: RgbaImage[] | FeatureImageSource, options: ExtractOptions = {}, stats?: ExtractStats): Promise<ImageFeatures[]> {
  const images = Array.isArray(source) ? { length: source.length, at: (i: number) => Promise.resolve(source[i]) } : { length: source.count, at: (i: number) => source.image(i) };
  const settings = siftSettings(options);
  const { device } = ctx.gpu;
  const pipelines = new Map<Entry, GPUComputePipeline>();
  const pipeline = (entry: Entry) => {
    let p = pipelines.get(entry);
    if (!p) {
      p = getComputePipeline(device, { label: `sift.${entry}`, code: siftWgsl, entryPoint: entry });
      pipelines.set(entry, p);
    }
    return p;
  };
  const tiled = options.tiledBlur ?? !ctx.gpu.summary.isFallbackAdapter;
  const timer = options.timer ?? null;
  const out: ImageFeatures[] = [];
  // Two buffer sets: image i + 1 is submitted before image i's readback is awaited, so the GPU works while the CPU
  // waits for the map and ranks keypoints (each round trip costs ~4-5 ms even on a fast GPU).
  const sets: (Buffers | null)[] = [null, null];
  type Job = { index: number; set: Buffers; plan: ScaleSpacePlan; capCand: number; capKp: number; threshold: number; result: Promise<RawResult> };
  const finish = async (job: Job) => {
    let raw = await job.result;
    // Too many extrema for the buffers would make the kept set depend on GPU timing: raise the threshold and redo
    // (the image is still in this set's buffers).
    for (let attempt = 0; raw.overflow && attempt < 4; attempt++) {
      job.threshold *= 1.5;
      if (stats) stats.retries++;
      raw = await runImage(ctx, pipeline, job.set, job.plan, settings, job.capCand, job.capKp, job.threshold, timer, tiled);
    }
    if (raw.overflow) ctx.warn(`Image ${job.index + 1}: more than ${job.capKp} keypoints even at a raised contrast threshold; some were dropped.`);
    if (stats) stats.found.push(raw.keypoints.length);
    out.push(selectStrongest(raw.keypoints, raw.descriptors, job.plan, settings));
    ctx.progress(job.index + 1, images.length, `features: image ${job.index + 1}/${images.length}`);
  };
  let inflight: Job | null = null;
  try {
    ctx.progress(0, images.length, `features: image 1/${images.length}`);
    for (let index = 0; index < images.length; index++) {
      throwIfAborted(ctx.signal);
      const tWait = performance.now();
      const image = await images.at(index);
      if (stats && stats.imageWaitMs !== undefined) stats.imageWaitMs += performance.now() - tWait;
      throwIfAborted(ctx.signal);
      if (image.width * image.height * 4 !== image.data.length) throw new InputError(`Image ${index + 1}: ${image.data.length} bytes do not make a ${image.width}x${image.height} RGBA image.`);
      const plan = scaleSpacePlan(image.width, image.height, settings);
      if (plan.octaves.length === 0) throw new InputError(`Image ${index + 1} (${image.width}x${image.height}) is too small for feature detection.`);
      const capCand = candidateCapacity(plan);
      const capKp = Math.min(65535, Math.ceil(capCand * 1.5));
      const slotCount = 8 + plan.octaves.length * (2 * plan.levels + 4);
      const key = `${plan.inputWidth}x${plan.inputHeight}/${plan.width}x${plan.height}/${capCand}/${slotCount}`;
      const k = index % 2;
      let set = sets[k];
      if (!set || set.key !== key) {
        if (set) release(ctx, set);
        sets[k] = null;
        set = allocate(ctx, plan, capCand, capKp, slotCount);
        sets[k] = set;
      }
      device.queue.writeBuffer(set.rgba, 0, image.data.buffer, image.data.byteOffset, image.data.byteLength);
      const threshold = settings.contrastThreshold / settings.s;
      const job: Job = { index, set, plan, capCand, capKp, threshold, result: runImage(ctx, pipeline, set, plan, settings, capCand, capKp, threshold, timer, tiled) };
      // Everything up to the map is already submitted; finish the previous image meanwhile.
      const previous: Job | null = inflight;
      inflight = job;
      if (previous) await finish(previous);
    }
    const last: Job | null = inflight;
    inflight = null;
    if (last) await finish(last);
    return out;
  } finally {
    // A pending readback must settle before its buffers go.
    if (inflight) await inflight.result.catch(() => undefined);
    for (const set of sets) if (set) release(ctx, set);
  }
}

interface RawResult {
  keypoints: RawKeypoint[];
  descriptors: Uint8Array;
  overflow: boolean;
}

async function runImage(
  ctx: StageContext, pipeline: (e: Entry) => GPUComputePipeline, b: Buffers, plan: ScaleSpacePlan, settings: SiftSettings,
  capCand: number, capKp: number, threshold: number, timer: GpuTimer | null, tiled: boolean,
): Promise<RawResult> {
  const { device } = ctx.gpu;
  const paramData = new DataView(new ArrayBuffer(b.params.size));
  const resources: Record<number, GPUBuffer> = { 1: b.rgba, 2: b.gauss, 3: b.tmp, 4: b.dog, 5: b.counters, 6: b.cands, 7: b.kps, 8: b.desc, 9: b.args };
  let slotIndex = 0;
  const steps: { pass: number; entry: Entry; slot: number; groups: [number, number, number] | 'cand' | 'kp' }[] = [];
  const add = (pass: number, entry: Entry, slot: Slot, groups: [number, number, number] | 'cand' | 'kp') => {
    writeSlot(paramData, slotIndex, slot, plan, settings, capCand, capKp, threshold);
    steps.push({ pass, entry, slot: slotIndex++, groups });
  };
  const g16 = (w: number, h: number, z = 1): [number, number, number] => [Math.ceil(w / 16), Math.ceil(h / 16), z];
  // Pass 0: the scale space.
  const o0 = plan.octaves[0];
  add(0, 'luma', { w: plan.width, h: plan.height, src: 0, dst: 0, inW: plan.inputWidth, inH: plan.inputHeight }, g16(plan.width, plan.height));
  const blur = (w: number, h: number, src: number, dst: number, sigma: number) => {
    const taps = gaussianTaps(sigma);
    add(0, tiled ? 'blur_h' : 'blur_h_direct', { w, h, src, dst, radius: taps.length - 1, taps }, [Math.ceil(w / 64), Math.ceil(h / 4), 1]);
    add(0, tiled ? 'blur_v' : 'blur_v_direct', { w, h, src, dst, radius: taps.length - 1, taps }, g16(w, h));
  };
  blur(o0.width, o0.height, 0, 0, plan.initialSigma);
  plan.octaves.forEach((oct, o) => {
    const plane = oct.width * oct.height;
    if (o > 0) {
      const prev = plan.octaves[o - 1];
      add(0, 'downsample', { w: oct.width, h: oct.height, src: prev.gaussOffset + settings.s * prev.width * prev.height, dst: oct.gaussOffset, inW: prev.width }, g16(oct.width, oct.height));
    }
    for (let k = 1; k < plan.levels; k++) blur(oct.width, oct.height, oct.gaussOffset + (k - 1) * plane, oct.gaussOffset + k * plane, plan.levelSigmas[k]);
    add(0, 'dog', { w: oct.width, h: oct.height, src: oct.gaussOffset, dst: oct.dogOffset }, g16(oct.width, oct.height, plan.levels - 1));
  });
  // Pass 1: extrema per octave, then the candidate count for the indirect dispatch.
  plan.octaves.forEach((oct, o) => add(1, 'extrema', { w: oct.width, h: oct.height, src: 0, dst: oct.dogOffset, octave: o }, [Math.ceil(oct.width / 8), Math.ceil(oct.height / 8), settings.s]));
  add(1, 'indirect', { w: 0, h: 0, src: 0, dst: 0, mode: 0 }, [1, 1, 1]);
  add(2, 'orient', { w: 0, h: 0, src: 0, dst: 0 }, 'cand');
  add(2, 'indirect', { w: 0, h: 0, src: 0, dst: 0, mode: 1 }, [1, 1, 1]);
  add(3, 'descr', { w: 0, h: 0, src: 0, dst: 0 }, 'kp');

  device.queue.writeBuffer(b.params, 0, paramData.buffer, 0, slotIndex * SLOT);
  device.queue.writeBuffer(b.counters, 0, new Uint32Array(4));
  const encoder = device.createCommandEncoder({ label: 'sift' });
  const labels = ['sift.pyramid', 'sift.extrema', 'sift.orientation', 'sift.descriptor'];
  let pass: GPUComputePassEncoder | null = null;
  let current = -1;
  for (const step of steps) {
    if (step.pass !== current) {
      pass?.end();
      current = step.pass;
      pass = encoder.beginComputePass({ label: labels[current], timestampWrites: timer?.timestampWrites(labels[current]) });
    }
    const p = pipeline(step.entry);
    pass!.setPipeline(p);
    pass!.setBindGroup(0, device.createBindGroup({
      label: `sift.${step.entry}`,
      layout: p.getBindGroupLayout(0),
      entries: BINDINGS[step.entry].map((binding) => ({
        binding,
        resource: binding === 0 ? { buffer: b.params, offset: step.slot * SLOT, size: SLOT } : { buffer: resources[binding] },
      })),
    }));
    if (step.groups === 'cand') pass!.dispatchWorkgroupsIndirect(b.args, 0);
    else if (step.groups === 'kp') pass!.dispatchWorkgroupsIndirect(b.args, 12);
    else pass!.dispatchWorkgroups(...step.groups);
  }
  pass?.end();
  device.queue.submit([encoder.finish()]);
  const [countBytes, kpBytes, descBytes] = await readBuffers(device, ctx.scope, [b.counters, b.kps, b.desc]);
  const counts = new Uint32Array(countBytes);
  const overflow = counts[0] > capCand || counts[1] > capKp;
  const n = Math.min(counts[1], capKp);
  const f = new Float32Array(kpBytes), u = new Uint32Array(kpBytes);
  const keypoints: RawKeypoint[] = [];
  for (let i = 0; i < n; i++) {
    keypoints.push({ x: f[8 * i], y: f[8 * i + 1], level: f[8 * i + 2], response: f[8 * i + 3], octave: u[8 * i + 4], layer: u[8 * i + 5], angle: f[8 * i + 6] });
  }
  return { keypoints, descriptors: new Uint8Array(descBytes, 0, n * 128), overflow };
}

