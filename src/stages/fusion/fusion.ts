/**
 * Depth fusion on the GPU: TSDF integration of every depth map (WGSL, batched views per dispatch), then marching
 * cubes (count, prefix sum, emit) into an indexed, welded mesh with normals and vertex colours.
 *
 * The volume lives only for the stage: `runFusion` allocates through the VRAM scope and destroys it before returning.
 *
 * Every per-voxel kernel runs in slabs of at most SLAB_VOXELS grid points (a range of linear indices in the params
 * uniform), one submission each, at most two in flight (SubmissionPacer). On SwiftShader a 256^3 marching-cubes pass
 * in one submission took ~15 s, and a cancel had to wait for it; a slab is a small fraction of that. Each grid
 * point's result depends only on the volume before the pass, so the slabbed passes give exactly the unslabbed result.
 */
import { GpuOutOfMemoryError, throwIfAborted } from '../../core/errors';
import type { ComponentFilter, Mesh } from '../../core/mesh';
import { CAMERA_VIEW_WGSL, packViews, VIEW_STRUCT_BYTES } from '../../gpu/cameraViews';
import { bindBuffers, getComputePipeline, splitWorkgroups } from '../../gpu/kernel';
import { readBuffer, readBuffers, SubmissionPacer } from '../../gpu/readback';
import { PrefixSum } from '../../gpu/scan';
import type { GpuTimer } from '../../gpu/timer';
import type { StageContext } from '../context';
import { SATURATED } from './cpuReference';
import commonWgsl from './fusion_common.wgsl?raw';
import cubeWgsl from './mc_cube.wgsl?raw';
import countTrianglesWgsl from './mc_count_triangles.wgsl?raw';
import countVerticesWgsl from './mc_count_vertices.wgsl?raw';
import emitTrianglesWgsl from './mc_emit_triangles.wgsl?raw';
import emitVerticesWgsl from './mc_emit_vertices.wgsl?raw';
import { MAX_TRIANGLES_PER_CUBE, marchingCubesTable } from './mcTable';
import hullWgsl from './fusion_hull.wgsl?raw';
import { withSilhouetteDistance } from './silhouette';
import integrateWgsl from './tsdf_integrate.wgsl?raw';
import { FREE_SPACE_WEIGHT, type FusionViewData, type VolumeSpec } from './types';

const WORKGROUP_SIZE = 64;
/** Depth + colour bytes uploaded per integration batch, and views per batch (progress moves per batch). */
const BATCH_BYTES = 128 * 1024 * 1024;
const BATCH_VIEWS = 8;
/**
 * Grid points per submission of a per-voxel kernel. On a fallback (CPU) adapter such as SwiftShader, 2^19: the two
 * slabs the pacer keeps in flight (what a cancel leaves the GPU to finish) took 0.05-5 s there on a heavily shared
 * 2-core machine with 2^20, one 256^3 pass in one submission ~15 s. On a real GPU, 2^24: a slab moves ~0.4 GB (a few ms at 100
 * GB/s, tens of ms on a weak integrated GPU), and 512^3 needs only 8 slabs per pass (few submissions, and few
 * timestamp queries for the benchmark's GpuTimer).
 */
export const SLAB_VOXELS = { fallback: 1 << 19, gpu: 1 << 24 } as const;

function defaultSlabVoxels(ctx: StageContext): number {
  return ctx.gpu.vram.limits.isFallbackAdapter ? SLAB_VOXELS.fallback : SLAB_VOXELS.gpu;
}
/**
 * What the passes cost, in passes of one view's integration over the volume, so that progress moves with time spent
 * (the page's ETAs are rates of progress). Measured on SwiftShader with the sample (24 views; draft 2.1M and standard
 * 13.8M grid points; a view's integration 0.7 s / 3.7 s): the hull fill's two passes ~3; marching cubes' count pass
 * ~2.5, its two prefix sums (one submission that reports nothing) ~11 count passes, its emit pass ~2.3 count passes.
 */
export const HULL_FILL_COST = 3;
const MC_COUNT_COST = 2.5;
const MC_PARTS = { count: 1, scan: 11, emit: 2.3, readback: 0.1 };
export const MARCHING_CUBES_COST = MC_COUNT_COST * (MC_PARTS.count + MC_PARTS.scan + MC_PARTS.emit + MC_PARTS.readback);
/** Bytes of the VolumeParams uniform (fusion_common.wgsl). */
const PARAMS_BYTES = 64;

/** Splits the linear indices 0..n-1 into slabs [start, end) of at most `slabVoxels`. */
export function voxelSlabs(n: number, slabVoxels: number): [number, number][] {
  const size = Math.max(1, Math.floor(slabVoxels));
  const slabs: [number, number][] = [];
  for (let start = 0; start < n; start += size) slabs.push([start, Math.min(n, start + size)]);
  return slabs;
}

export interface VolumeBuffers {
  tsdf: GPUBuffer;
  weight: GPUBuffer;
  color: GPUBuffer;
  params: GPUBuffer;
  spec: VolumeSpec;
}

/** Bytes the fusion of a volume with `voxels` grid points needs at its peak (volume + MC scans). */
export function fusionBytes(voxels: number): number {
  return voxels * (12 + 8) + 64 * 1024 * 1024;
}

interface ParamsOptions {
  viewCount?: number;
  hullFill?: boolean;
  /** Linear grid indices [start, end) the next dispatch covers; default all. */
  slab?: [number, number];
}

function writeParams(device: GPUDevice, buffer: GPUBuffer, spec: VolumeSpec, options: ParamsOptions = {}): void {
  const { viewCount = 0, hullFill = false } = options;
  const [indexBase, indexEnd] = options.slab ?? [0, spec.dims[0] * spec.dims[1] * spec.dims[2]];
  const data = new ArrayBuffer(PARAMS_BYTES);
  const u = new Uint32Array(data), f = new Float32Array(data);
  u.set(spec.dims, 0);
  u[3] = 0; // viewStart: each batch's views sit at the start of the view table
  f.set(spec.origin, 4);
  f[7] = spec.voxelSize;
  f[8] = spec.truncation;
  u[9] = viewCount;
  f[10] = SATURATED;
  u[11] = hullFill ? 1 : 0;
  u[12] = indexBase;
  u[13] = indexEnd;
  device.queue.writeBuffer(buffer, 0, data);
}

/**
 * Runs `encode` once per slab, each in its own submission after writing the slab's range into the params uniform
 * (queue writes and submissions execute in order, so each submission sees its own range).
 */
async function runSlabs(
  ctx: StageContext,
  pacer: SubmissionPacer,
  volume: VolumeBuffers,
  slabs: [number, number][],
  label: string,
  params: Omit<ParamsOptions, 'slab'>,
  encode: (pass: GPUComputePassEncoder, groups: [number, number, number]) => void,
  onSlab?: (done: number) => void,
  timer?: GpuTimer | null,
  timerLabel = label,
): Promise<void> {
  const { device } = ctx.gpu;
  const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
  for (let k = 0; k < slabs.length; k++) {
    throwIfAborted(ctx.signal);
    const [start, end] = slabs[k];
    writeParams(device, volume.params, volume.spec, { ...params, slab: [start, end] });
    const encoder = device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label, timestampWrites: timer?.timestampWrites(timerLabel) });
    encode(pass, splitWorkgroups(Math.ceil((end - start) / WORKGROUP_SIZE), maxDim));
    pass.end();
    await pacer.submit([encoder.finish()]);
    onSlab?.(k + 1);
  }
}

export function createVolume(ctx: StageContext, spec: VolumeSpec): VolumeBuffers {
  const { device } = ctx.gpu;
  const n = spec.dims[0] * spec.dims[1] * spec.dims[2];
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const tsdf = ctx.scope.createBuffer({ label: 'fusion:tsdf', size: n * 4, usage });
  const weight = ctx.scope.createBuffer({ label: 'fusion:weight', size: n * 4, usage });
  const color = ctx.scope.createBuffer({ label: 'fusion:color', size: n * 4, usage });
  const params = ctx.scope.createBuffer({ label: 'fusion:params', size: PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  // tsdf = 1 (free / unknown), weight = 0, colour = 0.
  const encoder = device.createCommandEncoder({ label: 'fusion:init' });
  encoder.clearBuffer(weight);
  encoder.clearBuffer(color);
  device.queue.submit([encoder.finish()]);
  const ones = new Float32Array(Math.min(n, 1 << 20)).fill(1);
  for (let offset = 0; offset < n; offset += ones.length) {
    const count = Math.min(ones.length, n - offset);
    device.queue.writeBuffer(tsdf, offset * 4, ones, 0, count);
  }
  writeParams(device, params, spec);
  return { tsdf, weight, color, params, spec };
}

export function destroyVolume(ctx: StageContext, volume: VolumeBuffers): void {
  for (const b of [volume.tsdf, volume.weight, volume.color, volume.params]) ctx.scope.destroy(b);
}

export interface IntegrateOptions {
  /**
   * Close the holes depth estimation leaves inside the silhouettes (fusion_hull.wgsl). Only meaningful when the depth
   * maps carry masks (-1 = background); default: on exactly then.
   */
  hullFill?: boolean;
  /** Hull votes an unobserved grid point needs to become interior; default max(3, a quarter of the views). */
  minHullVotes?: number;
  /** Grid points per submission (default from SLAB_VOXELS; tests use small ones to put slab edges everywhere). */
  slabVoxels?: number;
  /** Share of ctx.progress this call reports over (0..1 of the stage; default all of it), hull fill included. */
  progressShare?: number;
}

/** True when some depth map marks background (-1) pixels, i.e. the capture has masks. */
export function viewsHaveMasks(views: FusionViewData[]): boolean {
  return views.some((v) => v.depth.some((d) => d < 0));
}

/**
 * Integrates the views into the volume, in batches that respect BATCH_BYTES, each batch in slabs of grid points;
 * progress per slab. Returns the number of submissions (slabs x batches, + the hull fill's).
 */
export async function integrateViews(ctx: StageContext, volume: VolumeBuffers, views: FusionViewData[], timer?: GpuTimer | null, options: IntegrateOptions = {}): Promise<number> {
  const hullFill = options.hullFill ?? viewsHaveMasks(views);
  // The integration's part of the share; the hull fill reports over the rest.
  const shareAll = options.progressShare ?? 1;
  const share = hullFill ? (shareAll * views.length) / (views.length + HULL_FILL_COST) : shareAll;
  const { device } = ctx.gpu;
  const batches: FusionViewData[][] = [];
  let current: FusionViewData[] = [];
  let bytes = 0;
  for (const view of views) {
    const size = view.width * view.height * 8;
    if (current.length && (bytes + size > BATCH_BYTES || current.length >= BATCH_VIEWS)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(view);
    bytes += size;
  }
  if (current.length) batches.push(current);
  const maxPixels = Math.max(...batches.map((b) => b.reduce((s, v) => s + v.width * v.height, 0)));
  const maxViews = Math.max(...batches.map((b) => b.length));
  const depthBuffer = ctx.scope.createBuffer({ label: 'fusion:depth', size: maxPixels * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const pixelBuffer = ctx.scope.createBuffer({ label: 'fusion:pixels', size: maxPixels * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const viewBuffer = ctx.scope.createBuffer({ label: 'fusion:views', size: maxViews * VIEW_STRUCT_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  let submissions = 0;
  try {
    const pipeline = getComputePipeline(device, { label: 'fusion.integrate', code: commonWgsl + CAMERA_VIEW_WGSL + integrateWgsl, constants: { WORKGROUP_SIZE, FREE_SPACE_WEIGHT } });
    const bindGroup = bindBuffers(device, pipeline, 'fusion.integrate', [volume.tsdf, volume.weight, volume.color, viewBuffer, depthBuffer, pixelBuffer, volume.params]);
    const n = volume.spec.dims[0] * volume.spec.dims[1] * volume.spec.dims[2];
    const slabs = voxelSlabs(n, options.slabVoxels ?? defaultSlabVoxels(ctx));
    const pacer = new SubmissionPacer(device, ctx.signal);
    let done = 0;
    for (const batch of batches) {
      throwIfAborted(ctx.signal);

      const { table, offsets } = packViews(batch.map((v) => ({ width: v.width, height: v.height, K: [v.fx, 0, v.cx, 0, v.fy, v.cy, 0, 0, 1], camFromWorld: v.camFromWorld })));
      batch.forEach((view, k) => {
        // Background pixels carry their distance to the silhouette (tsdf_integrate.wgsl).
        const depth = withSilhouetteDistance(view.depth, view.width, view.height);
        device.queue.writeBuffer(depthBuffer, offsets[k] * 4, depth.buffer, depth.byteOffset, depth.byteLength);
        device.queue.writeBuffer(pixelBuffer, offsets[k] * 4, view.color.buffer, view.color.byteOffset, view.color.byteLength);
      });
      device.queue.writeBuffer(viewBuffer, 0, table);
      // Queue writes run in order with submissions: the slabs of the previous batch (still in flight) read its views.
      await runSlabs(ctx, pacer, volume, slabs, 'fusion.integrate', { viewCount: batch.length, hullFill }, (pass, groups) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...groups);
      }, (k) => {
        const progressed = done + (batch.length * k) / slabs.length;
        ctx.progress((share * progressed) / views.length, 1, `integrated ${Math.floor(progressed)}/${views.length} depth maps`);
      }, timer, 'integrate');
      done += batch.length;
      submissions += slabs.length;
    }
    await pacer.drain();
  } finally {
    for (const b of [depthBuffer, pixelBuffer, viewBuffer]) ctx.scope.destroy(b);
    writeParams(device, volume.params, volume.spec);
  }
  if (hullFill) {
    const hullProgress = (fraction: number) => ctx.progress(share + (shareAll - share) * fraction, 1, 'filling the inside of the silhouettes');
    submissions += await fillHull(ctx, volume, options.minHullVotes ?? Math.max(3, Math.round(views.length / 4)), options.slabVoxels, hullProgress);
  }
  return submissions;
}

/**
 * Unobserved points with enough hull votes become interior (fusion_hull.wgsl: edges, then fill). Every slab of
 * `edges` (which reads neighbours' weights) is submitted before any slab of `fill` (which writes weights), so the
 * slabs read what the single pass read. Returns the number of submissions.
 */
async function fillHull(ctx: StageContext, volume: VolumeBuffers, minVotes: number, slabVoxels?: number, onProgress?: (fraction: number) => void): Promise<number> {
  const { device } = ctx.gpu;
  const n = volume.spec.dims[0] * volume.spec.dims[1] * volume.spec.dims[2];
  const slabs = voxelSlabs(n, slabVoxels ?? defaultSlabVoxels(ctx));
  const pacer = new SubmissionPacer(device, ctx.signal);
  try {
    for (const [passIndex, entryPoint] of ['edges', 'fill'].entries()) {
      const pipeline = getComputePipeline(device, { label: `fusion.hull.${entryPoint}`, code: commonWgsl + hullWgsl, entryPoint, constants: { WORKGROUP_SIZE, MIN_VOTES: minVotes } });
      const bindGroup = bindBuffers(device, pipeline, `fusion.hull.${entryPoint}`, [volume.tsdf, volume.weight, volume.params]);
      await runSlabs(ctx, pacer, volume, slabs, `fusion.hull.${entryPoint}`, {}, (pass, groups) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...groups);
      }, (k) => onProgress?.((passIndex + k / slabs.length) / 2));
    }
    await pacer.drain();
  } finally {
    writeParams(device, volume.params, volume.spec);
  }
  return 2 * slabs.length;
}

export interface RawMesh {
  positions: Float32Array;
  normals: Float32Array;
  /** RGBA8 packed (alpha unused). */
  colors: Uint32Array;
  indices: Uint32Array;
}

export interface ExtractOptions {
  /** Grid points per submission (default from SLAB_VOXELS). */
  slabVoxels?: number;
  /** The share of ctx.progress that marching cubes reports over: [from, to] as fractions of the stage. */
  progressRange?: [number, number];
}

/**
 * Marching cubes on the volume: count (slabs), two scans (one submission), one readback of the counts, emit (slabs),
 * one readback of the mesh. `submissions` counts the slabbed submissions (tests check that slabbing happened).
 */
export async function extractMesh(ctx: StageContext, volume: VolumeBuffers, timer?: GpuTimer | null, options: ExtractOptions = {}): Promise<RawMesh & { submissions: number }> {
  const { device } = ctx.gpu;
  const n = volume.spec.dims[0] * volume.spec.dims[1] * volume.spec.dims[2];
  const slabs = voxelSlabs(n, options.slabVoxels ?? defaultSlabVoxels(ctx));
  const [progressFrom, progressTo] = options.progressRange ?? [0, 1];
  // Steps: the count slabs, then the emit slabs; the fraction is weighted by MC_PARTS (the prefix sums between the
  // two passes are one long submission: their share is added when their readback arrives).
  const steps = 2 * slabs.length;
  const total = MC_PARTS.count + MC_PARTS.scan + MC_PARTS.emit + MC_PARTS.readback;
  const fractionAt = (step: number, scanned: boolean, read = false) =>
    (MC_PARTS.count * Math.min(step, slabs.length) / slabs.length + (scanned ? MC_PARTS.scan : 0) + MC_PARTS.emit * Math.max(0, step - slabs.length) / slabs.length + (read ? MC_PARTS.readback : 0)) / total;
  const report = (fraction: number, message: string) => ctx.progress(progressFrom + (progressTo - progressFrom) * fraction, 1, message);
  const progress = (step: number) => report(fractionAt(step, step > slabs.length), `marching cubes ${step}/${steps}`);
  const table = marchingCubesTable();
  const tableData = new Int32Array(256 + 256 * 3 * MAX_TRIANGLES_PER_CUBE);
  tableData.set(table.triangleCount, 0);
  tableData.set(table.triangles, 256);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const owned: GPUBuffer[] = [];
  const make = (label: string, size: number, u = usage) => {
    const b = ctx.scope.createBuffer({ label, size: Math.max(4, size), usage: u });
    owned.push(b);
    return b;
  };
  const scans: PrefixSum[] = [];
  const pacer = new SubmissionPacer(device, ctx.signal);
  try {
    const tableBuffer = make('mc:table', tableData.byteLength);
    device.queue.writeBuffer(tableBuffer, 0, tableData);
    const vertexBase = make('mc:vertexBase', n * 4);
    const triangleBase = make('mc:triangleBase', n * 4);
    const vertexScan = new PrefixSum(device, ctx.scope, n, 'mc:vertexScan');
    const triangleScan = new PrefixSum(device, ctx.scope, n, 'mc:triangleScan');
    scans.push(vertexScan, triangleScan);
    const pipeline = (label: string, code: string) => getComputePipeline(device, { label, code: commonWgsl + code, constants: { WORKGROUP_SIZE } });
    const countV = pipeline('mc.countVertices', countVerticesWgsl);
    const countT = pipeline('mc.countTriangles', cubeWgsl + countTrianglesWgsl);
    const countVBind = bindBuffers(device, countV, 'mc.countVertices', [volume.tsdf, volume.weight, vertexBase, volume.params]);
    const countTBind = bindBuffers(device, countT, 'mc.countTriangles', [volume.tsdf, volume.weight, tableBuffer, triangleBase, volume.params]);
    await runSlabs(ctx, pacer, volume, slabs, 'mc.count', {}, (pass, groups) => {
      pass.setPipeline(countV);
      pass.setBindGroup(0, countVBind);
      pass.dispatchWorkgroups(...groups);
      pass.setPipeline(countT);
      pass.setBindGroup(0, countTBind);
      pass.dispatchWorkgroups(...groups);
    }, progress, timer);
    // The scans read the whole range: params back to all grid points (the scan kernels have their own params).
    writeParams(device, volume.params, volume.spec);
    const encoder = device.createCommandEncoder({ label: 'mc.scan' });
    vertexScan.encode(encoder, vertexBase, n, timer);
    triangleScan.encode(encoder, triangleBase, n, timer);
    const totals = make('mc:totals', 8, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    encoder.copyBufferToBuffer(vertexScan.total, 0, totals, 0, 4);
    encoder.copyBufferToBuffer(triangleScan.total, 0, totals, 4, 4);
    device.queue.submit([encoder.finish()]);
    report(fractionAt(slabs.length, false), `marching cubes ${slabs.length}/${steps} (prefix sums)`);
    const [vertexCount, triangleCount] = new Uint32Array(await readBuffer(device, ctx.scope, totals, 0, 8, ctx.signal));
    throwIfAborted(ctx.signal);
    report(fractionAt(slabs.length, true), `marching cubes ${slabs.length}/${steps} (prefix sums done)`);
    if (vertexCount === 0 || triangleCount === 0) {
      return { positions: new Float32Array(0), normals: new Float32Array(0), colors: new Uint32Array(0), indices: new Uint32Array(0), submissions: slabs.length };
    }
    const check = ctx.gpu.vram.checkVramAvailable(vertexCount * 28 + triangleCount * 12);
    if (!check.available) throw new GpuOutOfMemoryError(`The mesh (${vertexCount} vertices, ${triangleCount} triangles) does not fit: ${check.reason}`, vertexCount * 28 + triangleCount * 12);
    const positions = make('mc:positions', vertexCount * 12);
    const normals = make('mc:normals', vertexCount * 12);
    const colors = make('mc:colors', vertexCount * 4);
    const indices = make('mc:indices', triangleCount * 12);
    const emitV = pipeline('mc.emitVertices', emitVerticesWgsl);
    const emitT = pipeline('mc.emitTriangles', cubeWgsl + emitTrianglesWgsl);
    const emitVBind = bindBuffers(device, emitV, 'mc.emitVertices', [volume.tsdf, volume.weight, volume.color, vertexBase, positions, normals, colors, volume.params]);
    const emitTBind = bindBuffers(device, emitT, 'mc.emitTriangles', [volume.tsdf, volume.weight, tableBuffer, vertexBase, triangleBase, indices, volume.params]);
    await runSlabs(ctx, pacer, volume, slabs, 'mc.emit', {}, (pass, groups) => {
      pass.setPipeline(emitV);
      pass.setBindGroup(0, emitVBind);
      pass.dispatchWorkgroups(...groups);
      pass.setPipeline(emitT);
      pass.setBindGroup(0, emitTBind);
      pass.dispatchWorkgroups(...groups);
    }, (k) => progress(slabs.length + k), timer);
    writeParams(device, volume.params, volume.spec);
    const [p, nn, c, ix] = await readBuffers(device, ctx.scope, [positions, normals, colors, indices], ctx.signal);
    report(1, `marching cubes ${steps}/${steps} (mesh read back)`);
    return { positions: new Float32Array(p), normals: new Float32Array(nn), colors: new Uint32Array(c), indices: new Uint32Array(ix), submissions: 2 * slabs.length };
  } finally {
    for (const s of scans) s.dispose();
    for (const b of owned) ctx.scope.destroy(b);
  }
}

/** Reads the whole volume back (tests compare it with the CPU reference). */
export async function readVolume(ctx: StageContext, volume: VolumeBuffers): Promise<{ tsdf: Float32Array; weight: Float32Array; color: Uint32Array }> {
  const { device } = ctx.gpu;
  const [t, w, c] = await readBuffers(device, ctx.scope, [volume.tsdf, volume.weight, volume.color]);
  return { tsdf: new Float32Array(t), weight: new Float32Array(w), color: new Uint32Array(c) };
}

/**
 * Which pieces of the fused mesh are floaters: fewer than 50 faces (marching cubes' faces are near-uniform, so a face
 * count is a fair size) or under 0.5% of the largest piece's faces.
 */
export const FUSION_FLOATER_FILTER: ComponentFilter = { by: 'faces', minSize: 50, minFraction: 0.005 };

/** The marching-cubes readback as a Mesh: colours unpacked from RGBA8 words to RGB bytes. */
export function meshFromRaw(raw: RawMesh): Mesh {
  const nv = raw.positions.length / 3;
  const colors = new Uint8Array(nv * 3);
  for (let v = 0; v < nv; v++) {
    const c = raw.colors[v];
    colors[3 * v] = c & 255;
    colors[3 * v + 1] = (c >> 8) & 255;
    colors[3 * v + 2] = (c >> 16) & 255;
  }
  return { positions: raw.positions, normals: raw.normals, colors, indices: raw.indices };
}
