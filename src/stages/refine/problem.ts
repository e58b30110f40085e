/**
 * The refinement problem on the GPU: one flat parameter vector (welded vertex positions, kd texture, per-view gains,
 * global light; layout in refine_setup.wgsl), Adam moments, 64-bit fixed-point gradients, the photos as a texture
 * array, and a visibility buffer per batch slot. `encodeStep` records one iteration: a render pass per batch view
 * (visibility), the forward shading/loss kernel (with the edge blend's outline gradient), the backward kernels
 * (photometric, silhouette, Laplacian) and Adam.
 * Every buffer and texture lives in the caller's VRAM scope; `dispose()` hands them back.
 */
import type { TexturedMesh } from '../../core/mesh';
import { CAMERA_VIEW_WGSL, packViews, VIEW_STRUCT_BYTES } from '../../gpu/cameraViews';
import { bindBuffers, getComputePipeline, splitWorkgroups, type ComputeKernel } from '../../gpu/kernel';
import { readBuffer, readBuffers } from '../../gpu/readback';
import type { GpuTimer } from '../../gpu/timer';
import type { StageContext } from '../context';
import { clipFromWorld } from '../render/renderMesh';
import adamWgsl from './refine_adam.wgsl?raw';
import backwardWgsl from './refine_backward.wgsl?raw';
import fixedWgsl from './refine_fixed.wgsl?raw';
import forwardWgsl from './refine_forward.wgsl?raw';
import laplacianWgsl from './refine_laplacian.wgsl?raw';
import lossReduceWgsl from './refine_loss_reduce.wgsl?raw';
import mipsWgsl from './refine_mips.wgsl?raw';
import outlineWgsl from './refine_outline.wgsl?raw';
import pyramidWgsl from './refine_pyramid.wgsl?raw';
import setupWgsl from './refine_setup.wgsl?raw';
import silhouetteWgsl from './refine_silhouette.wgsl?raw';
import surfaceWgsl from './refine_surface.wgsl?raw';
import visibilityWgsl from './refine_visibility.wgsl?raw';

/** One photo the refinement compares against. */
export interface RefineView {
  width: number;
  height: number;
  /** 3x3 row-major (skew ignored). */
  K: number[];
  /** 3x4 row-major, OpenCV axes. */
  camFromWorld: number[];
  /** RGBA8, alpha = mask (255 = object). */
  rgba: Uint8Array;
}

/** Fixed-point units per 1.0 in the gradient accumulators (refine_setup.wgsl FIXED_SCALE = 2^24). */
export const FIXED_SCALE = 2 ** 24;
/** Batch slots the Setup uniform holds. */
export const MAX_BATCH = 16;
/** Gradient slots after the parameters holding the loss statistics: train loss, train pixels, silhouette loss,
 * silhouette pixels, validation loss, validation pixels. */
export const STATS_SLOTS = 8;
const SETUP_BYTES = 32 * 4 + 16 * 4;
/** Box-filtered levels above the texture that the forward pass may sample (footprints up to 8 texels). */
export const MAX_MIP_LEVELS = 3;

/** `Welded.faceAdj` where an edge has no single face across it. */
export const NO_FACE = 0xffffffff;

export interface Welded {
  /** Welded (unique) positions. */
  positions: Float32Array;
  /** Per mesh vertex: its welded vertex. */
  weldOf: Uint32Array;
  /** Per face: welded corners then uv corners (mesh vertex indices). */
  faces: Uint32Array;
  /** Per face and edge k (welded corners k -> k + 1): the face across it, NO_FACE at borders and non-manifold edges. */
  faceAdj: Uint32Array;
  adjOffsets: Uint32Array;
  adjList: Uint32Array;
}

/** Welds vertices split at UV seams (equal positions), so that optimised positions cannot tear the seams open. */
export function weldMesh(mesh: Pick<TexturedMesh, 'positions' | 'indices'>): Welded {
  const n = mesh.positions.length / 3;
  const key = new Map<string, number>();
  const weldOf = new Uint32Array(n);
  const unique: number[] = [];
  for (let v = 0; v < n; v++) {
    const p = mesh.positions.subarray(3 * v, 3 * v + 3);
    const k = `${p[0]},${p[1]},${p[2]}`;
    let w = key.get(k);
    if (w === undefined) {
      w = unique.length / 3;
      key.set(k, w);
      unique.push(p[0], p[1], p[2]);
    }
    weldOf[v] = w;
  }
  const F = mesh.indices.length / 3;
  const faces = new Uint32Array(6 * F);
  const W = unique.length / 3;
  const neighbours: Set<number>[] = Array.from({ length: W }, () => new Set());
  for (let f = 0; f < F; f++) {
    const c = [mesh.indices[3 * f], mesh.indices[3 * f + 1], mesh.indices[3 * f + 2]];
    const w = c.map((v) => weldOf[v]);
    faces.set([w[0], w[1], w[2], c[0], c[1], c[2]], 6 * f);
    for (let k = 0; k < 3; k++) {
      const a = w[k], b = w[(k + 1) % 3];
      if (a !== b) {
        neighbours[a].add(b);
        neighbours[b].add(a);
      }
    }
  }
  const adjOffsets = new Uint32Array(W + 1);
  for (let v = 0; v < W; v++) adjOffsets[v + 1] = adjOffsets[v] + neighbours[v].size;
  const adjList = new Uint32Array(Math.max(1, adjOffsets[W]));
  neighbours.forEach((set, v) => adjList.set([...set].sort((a, b) => a - b), adjOffsets[v]));
  return { positions: Float32Array.from(unique), weldOf, faces, faceAdj: faceAdjacency(faces, W), adjOffsets, adjList };
}

/**
 * Per face and edge (welded corners k -> k + 1): the one other face sharing that edge, else NO_FACE. Only opposite
 * half-edges pair (a -> b with b -> a), so a surface whose winding flips there counts as ending there; faces whose
 * weld repeats a corner take no part. Half-edges are bucketed by their smaller vertex (counting sort), then matched
 * within the bucket: typed arrays only, for million-face meshes.
 */
function faceAdjacency(faces: Uint32Array, W: number): Uint32Array {
  const F = faces.length / 6;
  const adj = new Uint32Array(3 * F).fill(NO_FACE);
  const corner = (h: number) => faces[6 * Math.floor(h / 3) + (h % 3)];
  const next = (h: number) => faces[6 * Math.floor(h / 3) + ((h + 1) % 3)];
  const live = (f: number) => faces[6 * f] !== faces[6 * f + 1] && faces[6 * f + 1] !== faces[6 * f + 2] && faces[6 * f + 2] !== faces[6 * f];
  const start = new Uint32Array(W + 1);
  for (let f = 0; f < F; f++) if (live(f)) for (let k = 0; k < 3; k++) start[Math.min(corner(3 * f + k), next(3 * f + k)) + 1]++;
  for (let v = 0; v < W; v++) start[v + 1] += start[v];
  const fill = start.slice(0, W);
  const bucket = new Uint32Array(start[W]);
  for (let f = 0; f < F; f++) if (live(f)) for (let k = 0; k < 3; k++) bucket[fill[Math.min(corner(3 * f + k), next(3 * f + k))]++] = 3 * f + k;
  for (let v = 0; v < W; v++) {
    for (let i = start[v]; i < start[v + 1]; i++) {
      const h = bucket[i], far = Math.max(corner(h), next(h));
      let partner = -1, count = 0;
      for (let j = start[v]; j < start[v + 1]; j++) {
        const g = bucket[j];
        if (Math.max(corner(g), next(g)) !== far) continue;
        count++;
        if (g !== h) partner = g;
      }
      if (count === 2 && corner(partner) === next(h)) adj[h] = Math.floor(partner / 3);
    }
  }
  return adj;
}

export interface Layout {
  vertexCount: number;
  faceCount: number;
  texSize: number;
  texOff: number;
  gainOff: number;
  lightOff: number;
  paramCount: number;
  /** Mip levels above the texture and their float count (3 per texel); their gradient slots follow the params. */
  mipLevels: number;
  mipFloats: number;
  mipGradOff: number;
  statsOff: number;
}

export function paramLayout(vertexCount: number, faceCount: number, texSize: number, viewCount: number): Layout {
  const texOff = 3 * vertexCount;
  const gainOff = texOff + 3 * texSize * texSize;
  const lightOff = gainOff + viewCount;
  const paramCount = lightOff + 4;
  let mipLevels = 0, mipFloats = 0;
  while (mipLevels < MAX_MIP_LEVELS && texSize % (2 << mipLevels) === 0) {
    mipLevels++;
    mipFloats += 3 * (texSize >> mipLevels) ** 2;
  }
  return { vertexCount, faceCount, texSize, texOff, gainOff, lightOff, paramCount, mipLevels, mipFloats, mipGradOff: paramCount, statsOff: paramCount + mipFloats };
}

/** Initial parameters: positions, kd = the texture / 255, gains 1, light (ambient 1, no directional part). */
export function initialParams(layout: Layout, positions: Float32Array, texture: TexturedMesh['texture']): Float32Array {
  const p = new Float32Array(layout.paramCount);
  p.set(positions, 0);
  const n = layout.texSize * layout.texSize;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) p[layout.texOff + 3 * i + c] = texture.data[4 * i + c] / 255;
  p.fill(1, layout.gainOff, layout.lightOff);
  p[layout.lightOff] = 1;
  return p;
}

/** Decodes 64-bit fixed-point words (lo, hi pairs) on the CPU, exactly. */
export function decodeFixed(words: Uint32Array, k: number): number {
  const lo = words[2 * k], hi = words[2 * k + 1] | 0;
  return (hi * 4294967296 + lo) / FIXED_SCALE;
}

export interface StepSettings {
  /** View indices (into the problem's views) of the batch. */
  batch: number[];
  /** 1-based Adam step. */
  step: number;
  lrPos: number;
  lrTex: number;
  lrGain: number;
  lrLight: number;
  lapWeight: number;
  silWeight: number;
  /** 0: train loss slots, 4: validation slots. */
  statsBase: 0 | 4;
  /** With the multi-resolution texture step: the finest level's share of lrTex (default 1). */
  texFineScale?: number;
}

interface Pipelines {
  visibility: GPURenderPipeline;
  mips: GPUComputePipeline;
  forward: GPUComputePipeline;
  backward: GPUComputePipeline;
  silhouette: GPUComputePipeline;
  lapDelta: GPUComputePipeline;
  lapGradient: GPUComputePipeline;
  adam: GPUComputePipeline;
  syncGains: GPUComputePipeline;
  pyramidLevel: GPUComputePipeline;
  applyPyramid: GPUComputePipeline;
}

const visibilityPipelines = new WeakMap<GPUDevice, GPURenderPipeline>();

function kernels(): Record<Exclude<keyof Pipelines, 'visibility'>, ComputeKernel> {
  const head = `${CAMERA_VIEW_WGSL}\n${setupWgsl}\n`;
  return {
    mips: { label: 'refine.mips', code: `${head}${mipsWgsl}` },
    forward: { label: 'refine.forward', code: `${head}${surfaceWgsl}\n${fixedWgsl}\n${lossReduceWgsl}\n${outlineWgsl}\n${forwardWgsl}` },
    backward: { label: 'refine.backward', code: `${head}${surfaceWgsl}\n${fixedWgsl}\n${backwardWgsl}` },
    silhouette: { label: 'refine.silhouette', code: `${head}${fixedWgsl}\n${lossReduceWgsl}\n${outlineWgsl}\n${silhouetteWgsl}` },
    lapDelta: { label: 'refine.laplacian', code: laplacianWgsl, entryPoint: 'delta' },
    lapGradient: { label: 'refine.laplacian', code: laplacianWgsl, entryPoint: 'gradient' },
    adam: { label: 'refine.adam', code: `${head}${adamWgsl}` },
    syncGains: { label: 'refine.adam', code: `${head}${adamWgsl}`, entryPoint: 'syncGains' },
    pyramidLevel: { label: 'refine.pyramid', code: `${head}${pyramidWgsl}`, entryPoint: 'level' },
    applyPyramid: { label: 'refine.adam', code: `${head}${adamWgsl}`, entryPoint: 'applyPyramid' },
  };
}

function getPipelines(device: GPUDevice): Pipelines {
  let visibility = visibilityPipelines.get(device);
  if (!visibility) {
    const module = device.createShaderModule({ label: 'refine.visibility', code: visibilityWgsl });
    visibility = device.createRenderPipeline({
      label: 'refine.visibility',
      layout: 'auto',
      vertex: { module, entryPoint: 'vs_main' },
      fragment: { module, entryPoint: 'fs_main', targets: [{ format: 'r32uint' }, { format: 'rgba32float' }] },
      primitive: { topology: 'triangle-list', cullMode: 'none' },
      depthStencil: { format: 'depth32float', depthWriteEnabled: true, depthCompare: 'less' },
    });
    visibilityPipelines.set(device, visibility);
  }
  const k = kernels();
  return {
    visibility,
    mips: getComputePipeline(device, k.mips),
    forward: getComputePipeline(device, k.forward),
    backward: getComputePipeline(device, k.backward),
    silhouette: getComputePipeline(device, k.silhouette),
    lapDelta: getComputePipeline(device, k.lapDelta),
    lapGradient: getComputePipeline(device, k.lapGradient),
    adam: getComputePipeline(device, k.adam),
    syncGains: getComputePipeline(device, k.syncGains),
    pyramidLevel: getComputePipeline(device, k.pyramidLevel),
    applyPyramid: getComputePipeline(device, k.applyPyramid),
  };
}

export class RefineProblem {
  readonly layout: Layout;
  readonly welded: Welded;
  readonly width: number;
  readonly height: number;
  readonly batchSlots: number;
  readonly hasMasks: boolean;
  readonly centre: [number, number, number];
  readonly radius: number;
  readonly params: GPUBuffer;
  readonly grad: GPUBuffer;
  readonly visBary: GPUTexture;
  readonly visTri: GPUTexture;
  /** The Laplacian energy's gradient (float, 3 per welded vertex), written by `encodeBackward`. */
  readonly lapGrad: GPUBuffer;
  private readonly buffers: GPUBuffer[] = [];
  private readonly textures: GPUTexture[] = [];
  private readonly setup: GPUBuffer;
  private readonly mips: GPUBuffer;
  private readonly mipGroups: GPUBindGroup[] = [];
  /** Per batch pixel, from the forward pass: dL/d(own shaded colour) and, for covered pixels, the sampled mip level +
   * 1 (uncovered pixels: 0). */
  readonly dcolor: GPUBuffer;
  /** Per batch pixel, from the forward pass: the share of dL/dcolour each neighbour whose colour the pixel's edge blend
   * mixes in takes (xyz), and the bits of those neighbours (w; 0: none). */
  readonly dlend: GPUBuffer;
  private readonly lapSetup: GPUBuffer;
  private readonly moments: GPUBuffer;
  private readonly best: GPUBuffer;
  private readonly depth: GPUTexture;
  private readonly pipes: Pipelines;
  private readonly groups: Record<'visibility' | 'forward' | 'backward' | 'silhouette' | 'lapDelta' | 'lapGradient' | 'adam' | 'syncGains' | 'applyPyramid', GPUBindGroup>;
  /** Coarse levels of the multi-resolution texture step (0 = per-texel Adam only) and their bind groups. */
  readonly pyramidLevels: number;
  private readonly pyramidGroups: GPUBindGroup[] = [];
  private readonly visTriViews: GPUTextureView[];
  private readonly visBaryViews: GPUTextureView[];
  private readonly depthView: GPUTextureView;

  /**
   * @param views all views (training first, then validation: `trainViews` of them train).
   * @param batchSlots the most views one step renders.
   * @param pyramidLevels coarse levels of the multi-resolution texture step (refine_pyramid.wgsl), at most as many
   *   as halve the texture size exactly.
   * @param occlusion the colour term's edge blend also across occlusion edges inside the surface (refine_forward.wgsl).
   */
  constructor(
    private readonly ctx: StageContext,
    mesh: TexturedMesh,
    readonly views: RefineView[],
    readonly trainViews: number,
    batchSlots: number,
    hasMasks: boolean,
    pyramidLevels = 0,
    readonly occlusion = false,
  ) {
    const { device } = ctx.gpu;
    const scope = ctx.scope;
    if (mesh.texture.width !== mesh.texture.height) throw new Error(`refine: the texture must be square (got ${mesh.texture.width}x${mesh.texture.height})`);
    if (views.length === 0) throw new Error('refine: no views with cameras to refine against');
    const maxLayers = device.limits.maxTextureArrayLayers;
    if (views.length > maxLayers) throw new Error(`refine: ${views.length} views exceed the device's ${maxLayers} texture layers`);
    this.batchSlots = Math.max(1, Math.min(batchSlots, MAX_BATCH, maxLayers));
    this.hasMasks = hasMasks;
    this.welded = weldMesh(mesh);
    const W = this.welded.positions.length / 3, F = mesh.indices.length / 3;
    this.layout = paramLayout(W, F, mesh.texture.width, views.length);
    this.width = Math.max(...views.map((v) => v.width));
    this.height = Math.max(...views.map((v) => v.height));
    const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < this.welded.positions.length; i += 3) for (let k = 0; k < 3; k++) {
      min[k] = Math.min(min[k], this.welded.positions[i + k]);
      max[k] = Math.max(max[k], this.welded.positions[i + k]);
    }
    this.centre = [0, 1, 2].map((k) => (min[k] + max[k]) / 2) as [number, number, number];
    this.radius = Math.max(1e-9, Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) / 2);

    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const make = (label: string, bytes: number, usage = storage) => {
      const b = scope.createBuffer({ label: `refine:${label}`, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
      this.buffers.push(b);
      return b;
    };
    const upload = (label: string, data: ArrayBufferView) => {
      const b = make(label, data.byteLength);
      device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const L = this.layout;
    this.params = upload('params', initialParams(L, this.welded.positions, mesh.texture));
    this.best = make('best', L.paramCount * 4);
    this.moments = make('moments', L.paramCount * 8);
    this.grad = make('grad', (L.statsOff + STATS_SLOTS) * 8);
    this.mips = make('mips', L.mipFloats * 4);
    const base = upload('base', this.welded.positions);
    const faces = upload('faces', this.welded.faces);
    const faceAdj = upload('faceAdj', this.welded.faceAdj);
    const uvs = upload('uvs', mesh.uvs);
    const adjOffsets = upload('adjOffsets', this.welded.adjOffsets);
    const adjList = upload('adjList', this.welded.adjList);
    let levels = 0, levelFloats = 0;
    while (levels < pyramidLevels && L.texSize % (2 << levels) === 0) {
      levels++;
      levelFloats += 3 * (L.texSize >> levels) ** 2;
    }
    this.pyramidLevels = levels;
    const texGrad = make('texGrad', levels ? 3 * L.texSize * L.texSize * 4 : 16);
    const pyrMoments = make('pyrMoments', levelFloats * 8);
    const pyrDelta = make('pyrDelta', levelFloats * 4);
    const lapVec = make('lapVec', W * 12);
    const lapGrad = make('lapGrad', W * 12);
    this.lapGrad = lapGrad;
    const table = packViews(views.map((v) => ({ width: v.width, height: v.height, K: v.K, camFromWorld: v.camFromWorld })));
    const viewBuffer = make('views', views.length * VIEW_STRUCT_BYTES);
    device.queue.writeBuffer(viewBuffer, 0, table.table);
    // Clip matrices: near/far from the initial bounding sphere with room for the vertices to move.
    const clips = new Float32Array(16 * views.length), rows = new Float32Array(12 * views.length);
    views.forEach((v, i) => {
      const p = v.camFromWorld;
      const zc = p[8] * this.centre[0] + p[9] * this.centre[1] + p[10] * this.centre[2] + p[11];
      const near = Math.max(1e-4 * this.radius, zc - 1.5 * this.radius, 1e-6);
      const far = Math.max(near * 2, zc + 1.5 * this.radius);
      clips.set(clipFromWorld(v.K, p, v.width, v.height, near, far), 16 * i);
      rows.set(p.slice(0, 12), 12 * i);
    });
    const clipBuffer = upload('clips', clips);
    const rowBuffer = upload('camRows', rows);
    this.dcolor = make('dcolor', this.batchSlots * this.width * this.height * 16);
    this.dlend = make('dlend', this.batchSlots * this.width * this.height * 16);
    this.setup = make('setup', SETUP_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.lapSetup = make('lapSetup', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(this.lapSetup, 0, new Uint32Array([W, 0, 0, 0]));

    const tex = (label: string, format: GPUTextureFormat, layers: number, usage: number) => {
      const t = scope.createTexture({ label: `refine:${label}`, size: [this.width, this.height, layers], format, usage });
      this.textures.push(t);
      return t;
    };
    const photos = tex('photos', 'rgba8unorm', views.length, GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST);
    views.forEach((v, i) => {
      device.queue.writeTexture({ texture: photos, origin: [0, 0, i] }, v.rgba, { bytesPerRow: v.width * 4, rowsPerImage: v.height }, [v.width, v.height, 1]);
    });
    const attach = GPUTextureUsage.RENDER_ATTACHMENT;
    this.visTri = tex('visTri', 'r32uint', this.batchSlots, attach | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC);
    this.visBary = tex('visBary', 'rgba32float', this.batchSlots, attach | GPUTextureUsage.COPY_SRC);
    this.depth = tex('depth', 'depth32float', 1, attach);
    this.depthView = this.depth.createView({ dimension: '2d' });
    const layerView = (t: GPUTexture, k: number) => t.createView({ dimension: '2d', baseArrayLayer: k, arrayLayerCount: 1 });
    this.visTriViews = Array.from({ length: this.batchSlots }, (_, k) => layerView(this.visTri, k));
    this.visBaryViews = Array.from({ length: this.batchSlots }, (_, k) => layerView(this.visBary, k));

    this.pipes = getPipelines(device);
    const triArray = this.visTri.createView({ dimension: '2d-array' });
    const photoArray = photos.createView({ dimension: '2d-array' });
    const group = (pipeline: GPUComputePipeline | GPURenderPipeline, label: string, entries: (GPUBuffer | GPUTextureView)[]) =>
      device.createBindGroup({
        label,
        layout: pipeline.getBindGroupLayout(0),
        entries: entries.map((r, binding) => ({ binding, resource: r instanceof GPUBuffer ? { buffer: r } : r })),
      });
    const p = this.pipes;
    this.groups = {
      visibility: group(p.visibility, 'refine.visibility', [this.params, faces, clipBuffer, rowBuffer]),
      forward: group(p.forward, 'refine.forward', [this.setup, this.params, faces, uvs, viewBuffer, this.dcolor, this.grad, triArray, photoArray, this.mips, faceAdj, this.dlend]),
      backward: group(p.backward, 'refine.backward', [this.setup, this.params, faces, uvs, viewBuffer, this.dcolor, this.grad, triArray, this.mips, this.dlend]),
      silhouette: group(p.silhouette, 'refine.silhouette', [this.setup, this.params, faces, viewBuffer, this.grad, triArray, photoArray, faceAdj]),
      lapDelta: bindBuffers(device, p.lapDelta, 'refine.laplacian', [this.lapSetup, this.params, base, adjOffsets, adjList, lapVec]),
      lapGradient: device.createBindGroup({
        label: 'refine.laplacian.gradient',
        layout: p.lapGradient.getBindGroupLayout(0),
        entries: [[0, this.lapSetup], [3, adjOffsets], [4, adjList], [5, lapVec], [6, lapGrad]].map(([binding, buffer]) => ({ binding: binding as number, resource: { buffer: buffer as GPUBuffer } })),
      }),
      adam: group(p.adam, 'refine.adam', [this.setup, this.params, this.moments, this.grad, lapGrad, texGrad]),
      applyPyramid: device.createBindGroup({
        label: 'refine.applyPyramid',
        layout: p.applyPyramid.getBindGroupLayout(0),
        entries: [[0, this.setup], [1, this.params], [2, this.moments], [5, texGrad], [6, pyrDelta]].map(([binding, buffer]) => ({ binding: binding as number, resource: { buffer: buffer as GPUBuffer } })),
      }),
      syncGains: device.createBindGroup({
        label: 'refine.syncGains',
        layout: p.syncGains.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: this.setup } }, { binding: 1, resource: { buffer: this.params } }],
      }),
    };
    for (let l = 1; l <= levels; l++) this.pyramidGroups.push(this.pyramidGroup(l, texGrad, pyrMoments, pyrDelta));
  }

  /** Bind groups of the coarse levels' step (a uniform with the level each). */
  private pyramidGroup(level: number, texGrad: GPUBuffer, pyrMoments: GPUBuffer, pyrDelta: GPUBuffer): GPUBindGroup {
    const { device } = this.ctx.gpu;
    const uniform = this.ctx.scope.createBuffer({ label: `refine:pyramid${level}`, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.buffers.push(uniform);
    device.queue.writeBuffer(uniform, 0, new Uint32Array([level, 0, 0, 0]));
    return device.createBindGroup({
      label: 'refine.pyramid',
      layout: this.pipes.pyramidLevel.getBindGroupLayout(0),
      entries: [this.setup, uniform, texGrad, pyrMoments, pyrDelta].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /** Builds the texture's mip levels from the current parameters (before anything samples them). */
  private encodeMips(pass: GPUComputePassEncoder): void {
    const { device } = this.ctx.gpu;
    for (let level = 1; level <= this.layout.mipLevels; level++) {
      if (!this.mipGroups[level]) {
        const uniform = this.ctx.scope.createBuffer({ label: `refine:mip${level}`, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
        this.buffers.push(uniform);
        device.queue.writeBuffer(uniform, 0, new Uint32Array([level, 0, 0, 0]));
        this.mipGroups[level] = device.createBindGroup({
          label: 'refine.mips',
          layout: this.pipes.mips.getBindGroupLayout(0),
          entries: [this.setup, uniform, this.params, this.mips].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
      }
      const n = this.layout.texSize >> level;
      pass.setPipeline(this.pipes.mips);
      pass.setBindGroup(0, this.mipGroups[level]);
      pass.dispatchWorkgroups(Math.ceil(n / 8), Math.ceil(n / 8));
    }
  }

  /** Writes the Setup uniform for the next encoded work (queue order: before the following submit). */
  writeSetup(s: StepSettings): void {
    const L = this.layout;
    if (s.batch.length > this.batchSlots) throw new Error(`refine: batch of ${s.batch.length} exceeds ${this.batchSlots} slots`);
    const buf = new ArrayBuffer(SETUP_BYTES);
    const u = new Uint32Array(buf), f = new Float32Array(buf);
    u.set([L.texSize, L.texOff, L.gainOff, L.lightOff, L.paramCount, L.vertexCount, L.faceCount, L.statsOff, s.batch.length, s.statsBase], 0);
    const pixels = s.batch.reduce((sum, v) => sum + this.views[v].width * this.views[v].height, 0);
    f.set([this.hasMasks ? s.silWeight : 0, 1 / Math.max(1, pixels), s.lrPos, s.lrTex, s.lrGain, s.lrLight, 0.9, 0.99, s.step, s.lapWeight], 10);
    u.set([this.trainViews, this.hasMasks && s.silWeight > 0 ? 1 : 0, this.width, this.height, L.mipLevels, L.mipGradOff, this.pyramidLevels], 20);
    f[27] = s.texFineScale ?? 1;
    u[28] = this.occlusion ? 1 : 0;
    u.set(s.batch, 32);
    this.ctx.gpu.device.queue.writeBuffer(this.setup, 0, buf);
  }

  /** Render passes writing the visibility buffer of each batch slot. */
  encodeVisibility(encoder: GPUCommandEncoder, batch: number[], timer?: GpuTimer | null): void {
    batch.forEach((v, k) => {
      const view = this.views[v];
      const pass = encoder.beginRenderPass({
        label: 'refine.visibility',
        colorAttachments: [
          { view: this.visTriViews[k], clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear', storeOp: 'store' },
          { view: this.visBaryViews[k], clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear', storeOp: 'store' },
        ],
        depthStencilAttachment: { view: this.depthView, depthClearValue: 1, depthLoadOp: 'clear', depthStoreOp: 'discard' },
        timestampWrites: timer?.timestampWrites('raster') as GPURenderPassTimestampWrites | undefined,
      });
      pass.setViewport(0, 0, view.width, view.height, 0, 1);
      pass.setScissorRect(0, 0, view.width, view.height);
      pass.setPipeline(this.pipes.visibility);
      pass.setBindGroup(0, this.groups.visibility);
      pass.draw(3 * this.layout.faceCount, 1, 0, v);
      pass.end();
    });
  }

  private dispatchPixels(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, slots: number): void {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(Math.ceil(this.width / 8), Math.ceil(this.height / 8), slots);
  }

  /** Forward shading + loss for the batch (after `encodeVisibility`). */
  encodeForward(encoder: GPUCommandEncoder, slots: number, timer?: GpuTimer | null): void {
    const pass = encoder.beginComputePass({ label: 'refine.forward', timestampWrites: timer?.timestampWrites('shading') });
    this.encodeMips(pass);
    this.dispatchPixels(pass, this.pipes.forward, this.groups.forward, slots);
    pass.end();
  }

  /** Photometric and silhouette gradients into the fixed-point accumulators, and the Laplacian gradient. */
  encodeBackward(encoder: GPUCommandEncoder, slots: number, silhouette: boolean, timer?: GpuTimer | null): void {
    if (this.layout.mipFloats) encoder.clearBuffer(this.grad, this.layout.mipGradOff * 8, this.layout.mipFloats * 8);
    const pass = encoder.beginComputePass({ label: 'refine.backward', timestampWrites: timer?.timestampWrites('backward') });
    this.dispatchPixels(pass, this.pipes.backward, this.groups.backward, slots);
    if (silhouette && this.hasMasks) this.dispatchPixels(pass, this.pipes.silhouette, this.groups.silhouette, slots);
    const vg = splitWorkgroups(Math.ceil(this.layout.vertexCount / 64));
    pass.setPipeline(this.pipes.lapDelta);
    pass.setBindGroup(0, this.groups.lapDelta);
    pass.dispatchWorkgroups(...vg);
    pass.setPipeline(this.pipes.lapGradient);
    pass.setBindGroup(0, this.groups.lapGradient);
    pass.dispatchWorkgroups(...vg);
    pass.end();
  }

  encodeAdam(encoder: GPUCommandEncoder, timer?: GpuTimer | null): void {
    const pass = encoder.beginComputePass({ label: 'refine.adam', timestampWrites: timer?.timestampWrites('optimiser') });
    pass.setPipeline(this.pipes.adam);
    pass.setBindGroup(0, this.groups.adam);
    pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(this.layout.paramCount / 64)));
    if (this.pyramidLevels > 0) {
      const T = this.layout.texSize;
      this.pyramidGroups.forEach((g, i) => {
        const n = T >> (i + 1);
        pass.setPipeline(this.pipes.pyramidLevel);
        pass.setBindGroup(0, g);
        pass.dispatchWorkgroups(Math.ceil(n / 8), Math.ceil(n / 8));
      });
      pass.setPipeline(this.pipes.applyPyramid);
      pass.setBindGroup(0, this.groups.applyPyramid);
      pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil((T * T) / 64)));
    }
    pass.end();
  }

  /** Validation views take the training views' mean gain before they are scored. */
  encodeSyncGains(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: 'refine.syncGains' });
    pass.setPipeline(this.pipes.syncGains);
    pass.setBindGroup(0, this.groups.syncGains);
    pass.dispatchWorkgroups(Math.max(1, Math.ceil((this.views.length - this.trainViews) / 64)));
    pass.end();
  }

  clearStats(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.grad, this.layout.statsOff * 8, STATS_SLOTS * 8);
  }

  saveBest(encoder: GPUCommandEncoder): void {
    encoder.copyBufferToBuffer(this.params, 0, this.best, 0, this.layout.paramCount * 4);
  }

  restoreBest(encoder: GPUCommandEncoder): void {
    encoder.copyBufferToBuffer(this.best, 0, this.params, 0, this.layout.paramCount * 4);
  }

  /** Loss statistics (sums since the last clear): train, silhouette and validation loss with their pixel counts. */
  async readStats(): Promise<{ train: number; trainPixels: number; silhouette: number; silhouettePixels: number; validation: number; validationPixels: number }> {
    const words = new Uint32Array(await readBuffer(this.ctx.gpu.device, this.ctx.scope, this.grad, this.layout.statsOff * 8, STATS_SLOTS * 8));
    const s = (k: number) => decodeFixed(words, k);
    return { train: s(0), trainPixels: s(1), silhouette: s(2), silhouettePixels: s(3), validation: s(4), validationPixels: s(5) };
  }

  async readParams(): Promise<Float32Array> {
    const [bytes] = await readBuffers(this.ctx.gpu.device, this.ctx.scope, [this.params]);
    return new Float32Array(bytes, 0, this.layout.paramCount);
  }

  writeParams(params: Float32Array): void {
    this.ctx.gpu.device.queue.writeBuffer(this.params, 0, params);
  }

  dispose(): void {
    for (const b of this.buffers) this.ctx.scope.destroy(b);
    for (const t of this.textures) this.ctx.scope.destroy(t);
    this.buffers.length = 0;
    this.textures.length = 0;
  }
}
