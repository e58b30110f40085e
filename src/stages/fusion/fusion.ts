/**
 * Depth fusion on the GPU: TSDF integration of every depth map (WGSL, batched views per dispatch), then marching
 * cubes (count, prefix sum, emit) into an indexed, welded mesh with normals and vertex colours.
 *
 * The volume lives only for the stage: `runFusion` allocates through the VRAM scope and destroys it before returning.
 */
import { GpuOutOfMemoryError, throwIfAborted } from '../../core/errors';
import type { Mesh } from '../../core/mesh';
import { CAMERA_VIEW_WGSL, packViews, VIEW_STRUCT_BYTES } from '../../gpu/cameraViews';
import { bindBuffers, getComputePipeline, splitWorkgroups } from '../../gpu/kernel';
import { readBuffer, readBuffers } from '../../gpu/readback';
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
import integrateWgsl from './tsdf_integrate.wgsl?raw';
import type { FusionViewData, VolumeSpec } from './types';

const WORKGROUP_SIZE = 64;
/** Depth + colour bytes uploaded per integration batch, and views per batch (progress moves per batch). */
const BATCH_BYTES = 128 * 1024 * 1024;
const BATCH_VIEWS = 8;

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

function writeParams(device: GPUDevice, buffer: GPUBuffer, spec: VolumeSpec, viewStart = 0, viewCount = 0, hullFill = false): void {
  const data = new ArrayBuffer(48);
  const u = new Uint32Array(data), f = new Float32Array(data);
  u.set(spec.dims, 0);
  u[3] = viewStart;
  f.set(spec.origin, 4);
  f[7] = spec.voxelSize;
  f[8] = spec.truncation;
  u[9] = viewCount;
  f[10] = SATURATED;
  u[11] = hullFill ? 1 : 0;
  device.queue.writeBuffer(buffer, 0, data);
}

export function createVolume(ctx: StageContext, spec: VolumeSpec): VolumeBuffers {
  const { device } = ctx.gpu;
  const n = spec.dims[0] * spec.dims[1] * spec.dims[2];
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const tsdf = ctx.scope.createBuffer({ label: 'fusion:tsdf', size: n * 4, usage });
  const weight = ctx.scope.createBuffer({ label: 'fusion:weight', size: n * 4, usage });
  const color = ctx.scope.createBuffer({ label: 'fusion:color', size: n * 4, usage });
  const params = ctx.scope.createBuffer({ label: 'fusion:params', size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
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
}

/** True when some depth map marks background (-1) pixels, i.e. the capture has masks. */
export function viewsHaveMasks(views: FusionViewData[]): boolean {
  return views.some((v) => v.depth.some((d) => d < 0));
}

/** Integrates the views into the volume, in batches that respect BATCH_BYTES; progress per batch. */
export async function integrateViews(ctx: StageContext, volume: VolumeBuffers, views: FusionViewData[], timer?: GpuTimer | null, options: IntegrateOptions = {}): Promise<void> {
  const hullFill = options.hullFill ?? viewsHaveMasks(views);
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
  try {
    const pipeline = getComputePipeline(device, { label: 'fusion.integrate', code: commonWgsl + CAMERA_VIEW_WGSL + integrateWgsl, constants: { WORKGROUP_SIZE } });
    const bindGroup = bindBuffers(device, pipeline, 'fusion.integrate', [volume.tsdf, volume.weight, volume.color, viewBuffer, depthBuffer, pixelBuffer, volume.params]);
    const n = volume.spec.dims[0] * volume.spec.dims[1] * volume.spec.dims[2];
    let done = 0;
    for (const batch of batches) {
      throwIfAborted(ctx.signal);
      const { table, offsets } = packViews(batch.map((v) => ({ width: v.width, height: v.height, K: [v.fx, 0, v.cx, 0, v.fy, v.cy, 0, 0, 1], camFromWorld: v.camFromWorld })));
      batch.forEach((view, k) => {
        device.queue.writeBuffer(depthBuffer, offsets[k] * 4, view.depth.buffer, view.depth.byteOffset, view.depth.byteLength);
        device.queue.writeBuffer(pixelBuffer, offsets[k] * 4, view.color.buffer, view.color.byteOffset, view.color.byteLength);
      });
      device.queue.writeBuffer(viewBuffer, 0, table);
      writeParams(device, volume.params, volume.spec, 0, batch.length, hullFill);
      const encoder = device.createCommandEncoder({ label: 'fusion.integrate' });
      const pass = encoder.beginComputePass({ label: 'fusion.integrate', timestampWrites: timer?.timestampWrites('integrate') });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(n / WORKGROUP_SIZE), device.limits.maxComputeWorkgroupsPerDimension));
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      done += batch.length;
      ctx.progress(done, views.length, `integrated ${done}/${views.length} depth maps`);
    }
  } finally {
    for (const b of [depthBuffer, pixelBuffer, viewBuffer]) ctx.scope.destroy(b);
    writeParams(device, volume.params, volume.spec);
  }
  if (hullFill) await fillHull(ctx, volume, options.minHullVotes ?? Math.max(3, Math.round(views.length / 4)));
}

/** Unobserved points with enough hull votes become interior (fusion_hull.wgsl: edges, then fill). */
async function fillHull(ctx: StageContext, volume: VolumeBuffers, minVotes: number): Promise<void> {
  const { device } = ctx.gpu;
  const n = volume.spec.dims[0] * volume.spec.dims[1] * volume.spec.dims[2];
  const encoder = device.createCommandEncoder({ label: 'fusion.hull' });
  for (const entryPoint of ['edges', 'fill']) {
    const pipeline = getComputePipeline(device, { label: `fusion.hull.${entryPoint}`, code: commonWgsl + hullWgsl, entryPoint, constants: { WORKGROUP_SIZE, MIN_VOTES: minVotes } });
    const pass = encoder.beginComputePass({ label: `fusion.hull.${entryPoint}` });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindBuffers(device, pipeline, `fusion.hull.${entryPoint}`, [volume.tsdf, volume.weight, volume.params]));
    pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(n / WORKGROUP_SIZE), device.limits.maxComputeWorkgroupsPerDimension));
    pass.end();
  }
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
}

export interface RawMesh {
  positions: Float32Array;
  normals: Float32Array;
  /** RGBA8 packed (alpha unused). */
  colors: Uint32Array;
  indices: Uint32Array;
}

/** Marching cubes on the volume: two scans, one readback of the counts, one of the mesh. */
export async function extractMesh(ctx: StageContext, volume: VolumeBuffers, timer?: GpuTimer | null): Promise<RawMesh> {
  const { device } = ctx.gpu;
  const n = volume.spec.dims[0] * volume.spec.dims[1] * volume.spec.dims[2];
  const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
  const groups = splitWorkgroups(Math.ceil(n / WORKGROUP_SIZE), maxDim);
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
    let encoder = device.createCommandEncoder({ label: 'mc.count' });
    let pass = encoder.beginComputePass({ label: 'mc.count', timestampWrites: timer?.timestampWrites('mc.count') });
    pass.setPipeline(countV);
    pass.setBindGroup(0, bindBuffers(device, countV, 'mc.countVertices', [volume.tsdf, volume.weight, vertexBase, volume.params]));
    pass.dispatchWorkgroups(...groups);
    pass.setPipeline(countT);
    pass.setBindGroup(0, bindBuffers(device, countT, 'mc.countTriangles', [volume.tsdf, volume.weight, tableBuffer, triangleBase, volume.params]));
    pass.dispatchWorkgroups(...groups);
    pass.end();
    vertexScan.encode(encoder, vertexBase, n, timer);
    triangleScan.encode(encoder, triangleBase, n, timer);
    const totals = make('mc:totals', 8, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    encoder.copyBufferToBuffer(vertexScan.total, 0, totals, 0, 4);
    encoder.copyBufferToBuffer(triangleScan.total, 0, totals, 4, 4);
    device.queue.submit([encoder.finish()]);
    const [vertexCount, triangleCount] = new Uint32Array(await readBuffer(device, ctx.scope, totals));
    throwIfAborted(ctx.signal);
    if (vertexCount === 0 || triangleCount === 0) {
      return { positions: new Float32Array(0), normals: new Float32Array(0), colors: new Uint32Array(0), indices: new Uint32Array(0) };
    }
    const check = ctx.gpu.vram.checkVramAvailable(vertexCount * 28 + triangleCount * 12);
    if (!check.available) throw new GpuOutOfMemoryError(`The mesh (${vertexCount} vertices, ${triangleCount} triangles) does not fit: ${check.reason}`, vertexCount * 28 + triangleCount * 12);
    const positions = make('mc:positions', vertexCount * 12);
    const normals = make('mc:normals', vertexCount * 12);
    const colors = make('mc:colors', vertexCount * 4);
    const indices = make('mc:indices', triangleCount * 12);
    const emitV = pipeline('mc.emitVertices', emitVerticesWgsl);
    const emitT = pipeline('mc.emitTriangles', cubeWgsl + emitTrianglesWgsl);
    encoder = device.createCommandEncoder({ label: 'mc.emit' });
    pass = encoder.beginComputePass({ label: 'mc.emit', timestampWrites: timer?.timestampWrites('mc.emit') });
    pass.setPipeline(emitV);
    pass.setBindGroup(0, bindBuffers(device, emitV, 'mc.emitVertices', [volume.tsdf, volume.weight, volume.color, vertexBase, positions, normals, colors, volume.params]));
    pass.dispatchWorkgroups(...groups);
    pass.setPipeline(emitT);
    pass.setBindGroup(0, bindBuffers(device, emitT, 'mc.emitTriangles', [volume.tsdf, volume.weight, tableBuffer, vertexBase, triangleBase, indices, volume.params]));
    pass.dispatchWorkgroups(...groups);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const [p, nn, c, ix] = await readBuffers(device, ctx.scope, [positions, normals, colors, indices]);
    return { positions: new Float32Array(p), normals: new Float32Array(nn), colors: new Uint32Array(c), indices: new Uint32Array(ix) };
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

/** Keeps the connected components with at least `minFaces` faces (and at least `minFraction` of the largest). */
export function removeSmallComponents(raw: RawMesh, minFaces = 50, minFraction = 0.005): Mesh & { removedFaces: number; components: number } {
  const nv = raw.positions.length / 3;
  const parent = new Int32Array(nv).map((_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const ix = raw.indices;
  for (let f = 0; f < ix.length; f += 3) {
    const a = find(ix[f]), b = find(ix[f + 1]), c = find(ix[f + 2]);
    if (a !== b) parent[a] = b;
    const r = find(b);
    if (find(c) !== r) parent[find(c)] = r;
  }
  const faceCount = new Map<number, number>();
  for (let f = 0; f < ix.length; f += 3) {
    const r = find(ix[f]);
    faceCount.set(r, (faceCount.get(r) ?? 0) + 1);
  }
  const largest = Math.max(0, ...faceCount.values());
  const keepRoot = (r: number) => (faceCount.get(r) ?? 0) >= Math.max(Math.min(minFaces, largest), minFraction * largest);
  const remap = new Int32Array(nv).fill(-1);
  let kept = 0;
  const keptFaces: number[] = [];
  for (let f = 0; f < ix.length; f += 3) {
    if (!keepRoot(find(ix[f]))) continue;
    for (let k = 0; k < 3; k++) {
      const v = ix[f + k];
      if (remap[v] < 0) remap[v] = kept++;
      keptFaces.push(remap[v]);
    }
  }
  const positions = new Float32Array(kept * 3), normals = new Float32Array(kept * 3), colors = new Uint8Array(kept * 3);
  for (let v = 0; v < nv; v++) {
    const r = remap[v];
    if (r < 0) continue;
    positions.set(raw.positions.subarray(3 * v, 3 * v + 3), 3 * r);
    normals.set(raw.normals.subarray(3 * v, 3 * v + 3), 3 * r);
    const c = raw.colors[v];
    colors[3 * r] = c & 255;
    colors[3 * r + 1] = (c >> 8) & 255;
    colors[3 * r + 2] = (c >> 16) & 255;
  }
  const components = [...faceCount.keys()].filter(keepRoot).length;
  return { positions, normals, colors, indices: new Uint32Array(keptFaces), removedFaces: ix.length / 3 - keptFaces.length / 3, components };
}
