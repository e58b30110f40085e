/**
 * Texture baking on the GPU: the atlas is rasterised in UV space (surface position and normal per texel), each view
 * renders the mesh's own depth for visibility, and one compute pass blends, per texel, the photos that see it
 * (weight (cos(angle) · focal / depth)^6, so the sharpest views dominate; outliers against the weighted mean dropped; a view gives no weight where it sees the texel within a margin of a depth edge of the mesh (unseen texels are filled from their neighbours); masked pixels ignored). Edges and corners are rasterised before the triangles so that sliver triangles cover the texels the viewer samples. Gutters are dilated on the CPU so mip-maps do not bleed.
 * The same baking serves any mesh + cameras (the refinement model's meshes too).
 */
import { cameraCentre } from '../../core/camera';
import { throwIfAborted } from '../../core/errors';
import { dilateGutters, fillEmptyTexels } from './fill';
import type { RgbaImage, TexturedMesh } from '../../core/mesh';
import { CAMERA_VIEW_WGSL, packViews, VIEW_STRUCT_BYTES } from '../../gpu/cameraViews';
import { bindBuffers, getComputePipeline, splitWorkgroups } from '../../gpu/kernel';
import { gpuDone, readBuffer } from '../../gpu/readback';
import type { StageContext } from '../context';
import { MeshRenderers } from '../render/renderMesh';
import { FLOATS_PER_CORNER, type RenderableMesh } from '../render/types';
import surfaceWgsl from './bake_surface.wgsl?raw';
import texelsWgsl from './bake_texels.wgsl?raw';
import gatherWgsl from './bake_gather.wgsl?raw';

export interface BakeView {
  width: number;
  height: number;
  K: number[];
  camFromWorld: number[];
  /** RGBA8 photo at this size; alpha 0 = masked out. */
  rgba: Uint8Array;
}

/** Bake settings a caller may change (benchmarks; the defaults are what the texture stage uses). */
export interface BakeSettings {
  /** Per-view gain compensation (default on). */
  exposureCompensation?: boolean;
  /** The geometry's uncertainty in world units (e.g. the fusion voxel size): a view gives no weight to a texel that
   * it sees within this distance (projected, at least edgeMinPx pixels) of a depth discontinuity of the mesh. */
  edgeMargin?: number;
  /** Smallest edge margin in the view's pixels (default 2). */
  edgeMinPx?: number;
  /** 'exclude' (default): the margin rule above; 'downweight': the former rule (2-pixel cross, weight x0.02). */
  edgeRule?: 'exclude' | 'downweight';
}

export interface BakeInput extends BakeSettings {
  positions: Float32Array;
  normals: Float32Array;
  indices: Uint32Array;
  uvs: Float32Array;
  atlasSize: number;
  /** Texels of gutter filled around every chart. */
  padding?: number;
}

export interface BakeStats {
  views: number;
  /** Surface texels that some view saw (blended from photos). */
  coveredTexels: number;
  /** Texels the mesh covers in the atlas. */
  surfaceTexels: number;
  surfaceMs: number;
  visibilityMs: number;
  blendMs: number;
  /** Per-view gains found by exposure compensation (1 = unchanged). */
  gains: number[];
}

export async function bakeTexture(input: BakeInput, views: BakeView[], ctx: StageContext): Promise<{ texture: RgbaImage; stats: BakeStats; seen: Uint8Array }> {
  const { device } = ctx.gpu;
  const scope = ctx.scope;
  const size = input.atlasSize;
  const t0 = performance.now();
  // 1. Surface position / normal per texel.
  const surfacePosition = scope.createTexture({ label: 'bake:position', size: [size, size], format: 'rgba32float', usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.TEXTURE_BINDING });
  const surfaceNormal = scope.createTexture({ label: 'bake:normal', size: [size, size], format: 'rgba32float', usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.TEXTURE_BINDING });
  const corners = new Float32Array(input.indices.length * 8);
  for (let i = 0; i < input.indices.length; i++) {
    const v = input.indices[i];
    corners.set([input.uvs[2 * v], input.uvs[2 * v + 1]], 8 * i);
    corners.set(input.positions.subarray(3 * v, 3 * v + 3), 8 * i + 2);
    corners.set(input.normals.subarray(3 * v, 3 * v + 3), 8 * i + 5);
  }
  const cornerBuffer = scope.createBuffer({ label: 'bake:corners', size: Math.max(16, corners.byteLength), usage: GPUBufferUsage.VERTEX | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(cornerBuffer, 0, corners);
  // Conservative coverage: the edges (lines) and corners (points) first, then the triangles over them, so a texel that
  // a sliver triangle touches without covering its centre still gets a surface point (the viewer samples it).
  const edgeIndices = new Uint32Array(2 * input.indices.length);
  for (let t = 0; t < input.indices.length; t += 3) edgeIndices.set([t, t + 1, t + 1, t + 2, t + 2, t], 2 * t);
  const edgeBuffer = scope.createBuffer({ label: 'bake:edges', size: Math.max(16, edgeIndices.byteLength), usage: GPUBufferUsage.INDEX | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(edgeBuffer, 0, edgeIndices);
  const encoder = device.createCommandEncoder({ label: 'bake.surface' });
  const pass = encoder.beginRenderPass({
    label: 'bake.surface',
    colorAttachments: [
      { view: surfacePosition.createView(), clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear', storeOp: 'store' },
      { view: surfaceNormal.createView(), clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear', storeOp: 'store' },
    ],
  });
  pass.setVertexBuffer(0, cornerBuffer);
  pass.setPipeline(getSurfacePipeline(device, 'point-list'));
  pass.draw(input.indices.length);
  pass.setPipeline(getSurfacePipeline(device, 'line-list'));
  pass.setIndexBuffer(edgeBuffer, 'uint32');
  pass.drawIndexed(edgeIndices.length);
  pass.setPipeline(getSurfacePipeline(device, 'triangle-list'));
  pass.draw(input.indices.length);
  pass.end();
  device.queue.submit([encoder.finish()]);
  scope.destroy(cornerBuffer);
  scope.destroy(edgeBuffer);
  const t1 = performance.now();

  // 2. Visibility: the mesh's depth seen from each view (the renderer's camera z), copied on the GPU into one buffer.
  const renderable = toRenderable(input);
  const { offsets, pixels: pixelsTotal } = packViews(views);
  const depthBuffer = scope.createBuffer({ label: 'bake:depth', size: Math.max(4, pixelsTotal * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const renderers = new MeshRenderers(ctx, renderable);
  // Progress units: one per view for visibility, as many again for the blend (one pass that reads every view: on
  // SwiftShader its single submission took 7-16 s at standard with the bar standing still), one for the CPU fill.
  const progressTotal = 2 * views.length + 1;
  try {
    for (const [k, view] of views.entries()) {
      throwIfAborted(ctx.signal);
      renderers.of(view.width, view.height).renderDepthInto({ K: view.K, camFromWorld: view.camFromWorld }, depthBuffer, offsets[k]);
      if (k % 8 === 7) ctx.progress(k + 1, progressTotal, `visibility ${k + 1}/${views.length}`);
    }
    await gpuDone(device, ctx.signal);
  } finally {
    renderers.dispose();
  }
  // Exposure compensation works on the CPU, on the depth pixels its observations need: the GPU gathers them, a few MB
  // at lego's 100 views of 800x800 instead of every view's whole depth map (256 MB).
  const compensate = input.exposureCompensation !== false && views.length > 1;
  let gains = views.map(() => 1);
  if (compensate) {
    const observations = gainObservations(input, views, offsets);
    gains = estimateGains(observations, await gatherDepth(ctx, depthBuffer, observations.pixels), views.length);
  }
  const t2 = performance.now();

  // 3. Blend with the per-view gains.
  const pixelBuffer = scope.createBuffer({ label: 'bake:pixels', size: pixelsTotal * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const viewBuffer = scope.createBuffer({ label: 'bake:views', size: Math.max(1, views.length) * VIEW_STRUCT_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const texelBuffer = scope.createBuffer({ label: 'bake:texels', size: size * size * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const params = scope.createBuffer({ label: 'bake:params', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  views.forEach((view, k) => device.queue.writeBuffer(pixelBuffer, offsets[k] * 4, view.rgba.buffer, view.rgba.byteOffset, view.rgba.byteLength));
  const p = new ArrayBuffer(32);
  new Uint32Array(p, 0, 2).set([size, views.length]);
  new Float32Array(p, 8, 4).set([0.01, 0.05, input.edgeMargin ?? 0, input.edgeMinPx ?? 2]);
  new Uint32Array(p, 24, 2).set([input.edgeRule === 'downweight' ? 0 : 1, 0]);
  device.queue.writeBuffer(params, 0, p);
  const blend = getComputePipeline(device, { label: 'bake.texels', code: CAMERA_VIEW_WGSL + texelsWgsl });
  const bindGroup = device.createBindGroup({
    label: 'bake.texels',
    layout: blend.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: surfacePosition.createView() },
      { binding: 1, resource: surfaceNormal.createView() },
      { binding: 2, resource: { buffer: viewBuffer } },
      { binding: 3, resource: { buffer: depthBuffer } },
      { binding: 4, resource: { buffer: pixelBuffer } },
      { binding: 5, resource: { buffer: texelBuffer } },
      { binding: 6, resource: { buffer: params } },
    ],
  });
  device.queue.writeBuffer(viewBuffer, 0, packViews(views.map((v, k) => ({ ...v, gain: gains[k] }))).table);
  ctx.progress(views.length, progressTotal, `blending ${views.length} photos into the texture`);
  const blendEncoder = device.createCommandEncoder({ label: 'bake.texels' });
  const compute = blendEncoder.beginComputePass({ label: 'bake.texels' });
  compute.setPipeline(blend);
  compute.setBindGroup(0, bindGroup);
  compute.dispatchWorkgroups(Math.ceil(size / 8), Math.ceil(size / 8));
  compute.end();
  device.queue.submit([blendEncoder.finish()]);
  const texels = new Uint8Array(await readBuffer(device, scope, texelBuffer));
  for (const b of [depthBuffer, pixelBuffer, viewBuffer, texelBuffer, params]) scope.destroy(b);
  scope.destroy(surfacePosition);
  scope.destroy(surfaceNormal);
  const t3 = performance.now();
  let covered = 0, surfaceTexels = 0;
  const seen = new Uint8Array(size * size), texelsSurface = new Uint8Array(size * size);
  for (let i = 3; i < texels.length; i += 4) {
    if (texels[i] === 255) {
      covered++;
      seen[(i - 3) / 4] = 1;
    }
    if (texels[i] > 0) {
      surfaceTexels++;
      texelsSurface[(i - 3) / 4] = 1;
    }
    if (texels[i] === 1) texels[i] = 0; // unseen surface: filled from its neighbours below
  }
  // Unseen surface texels (no view, or every view near a depth edge) from the seen ones around them first, as far as
  // it takes within the surface, so a band wider than the gutter does not stay black; then the gutters.
  ctx.progress(2 * views.length, progressTotal, 'filling unseen texels and gutters');
  dilateGutters(texels, size, 64, texelsSurface, ctx.signal);
  dilateGutters(texels, size, input.padding ?? 4, undefined, ctx.signal);
  // The rest of the empty space from the charts around it (and opaque everywhere: viewers and DCC tools must not
  // treat it as transparent).
  throwIfAborted(ctx.signal);
  fillEmptyTexels(texels, size, size);
  ctx.progress(progressTotal, progressTotal, 'texture baked');
  return {
    texture: { width: size, height: size, data: texels },
    seen,
    stats: { views: views.length, coveredTexels: covered, surfaceTexels, surfaceMs: t1 - t0, visibilityMs: t2 - t1, blendMs: t3 - t2, gains: gains.map((g) => Math.round(g * 1000) / 1000) },
  };
}

const surfacePipelines = new WeakMap<GPUDevice, Map<GPUPrimitiveTopology, GPURenderPipeline>>();

/** The UV-space surface raster pipelines (points, lines, triangles), cached per device. */
function getSurfacePipeline(device: GPUDevice, topology: GPUPrimitiveTopology): GPURenderPipeline {
  let pipelines = surfacePipelines.get(device);
  if (!pipelines) surfacePipelines.set(device, (pipelines = new Map()));
  let pipeline = pipelines.get(topology);
  if (!pipeline) {
    const module = device.createShaderModule({ label: 'bake.surface', code: surfaceWgsl });
    pipeline = device.createRenderPipeline({
      label: 'bake.surface',
      layout: 'auto',
      vertex: {
        module,
        entryPoint: 'vs_main',
        buffers: [{ arrayStride: 32, attributes: [{ shaderLocation: 0, offset: 0, format: 'float32x2' }, { shaderLocation: 1, offset: 8, format: 'float32x3' }, { shaderLocation: 2, offset: 20, format: 'float32x3' }] }],
      },
      fragment: { module, entryPoint: 'fs_main', targets: [{ format: 'rgba32float' }, { format: 'rgba32float' }] },
      primitive: { topology, cullMode: 'none' },
    });
    pipelines.set(topology, pipeline);
  }
  return pipeline;
}

function toRenderable(input: BakeInput): RenderableMesh {
  const corners = new Float32Array(input.indices.length * FLOATS_PER_CORNER);
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < input.indices.length; i++) {
    const v = input.indices[i];
    corners.set(input.positions.subarray(3 * v, 3 * v + 3), FLOATS_PER_CORNER * i);
    corners.set(input.normals.subarray(3 * v, 3 * v + 3), FLOATS_PER_CORNER * i + 5);
  }
  for (let v = 0; v < input.positions.length; v += 3) for (let k = 0; k < 3; k++) {
    min[k] = Math.min(min[k], input.positions[v + k]);
    max[k] = Math.max(max[k], input.positions[v + k]);
  }
  return { corners, texture: null, centre: [0, 1, 2].map((k) => (min[k] + max[k]) / 2) as [number, number, number], radius: Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) / 2 };
}

/** PLY vertex colours sampled from the texture at each vertex's uv. */
export function sampleVertexColors(mesh: Pick<TexturedMesh, 'uvs' | 'texture'>): Uint8Array {
  const n = mesh.uvs.length / 2;
  const out = new Uint8Array(n * 3);
  const { width, height, data } = mesh.texture;
  for (let v = 0; v < n; v++) {
    const x = Math.min(width - 1, Math.max(0, Math.floor(mesh.uvs[2 * v] * width)));
    const y = Math.min(height - 1, Math.max(0, Math.floor(mesh.uvs[2 * v + 1] * height)));
    out.set(data.subarray(4 * (y * width + x), 4 * (y * width + x) + 3), 3 * v);
  }
  return out;
}

/** src[index[i]] for every i, read back (bake_gather.wgsl). */
async function gatherDepth(ctx: StageContext, src: GPUBuffer, index: Uint32Array): Promise<Float32Array> {
  if (index.length === 0) return new Float32Array(0);
  const { device } = ctx.gpu;
  const scope = ctx.scope;
  const indexBuffer = scope.createBuffer({ label: 'bake:gatherIndex', size: index.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const out = scope.createBuffer({ label: 'bake:gathered', size: index.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  try {
    device.queue.writeBuffer(indexBuffer, 0, index.buffer, index.byteOffset, index.byteLength);
    const pipeline = getComputePipeline(device, { label: 'bake.gather', code: gatherWgsl });
    const encoder = device.createCommandEncoder({ label: 'bake.gather' });
    const pass = encoder.beginComputePass({ label: 'bake.gather' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindBuffers(device, pipeline, 'bake.gather', [src, indexBuffer, out]));
    pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(index.length / 256)));
    pass.end();
    device.queue.submit([encoder.finish()]);
    return new Float32Array(await readBuffer(device, scope, out));
  } finally {
    scope.destroy(indexBuffer);
    scope.destroy(out);
  }
}

/**
 * Exposure compensation's observations: surface points sampled with a fixed seed and, for each, the views that may see
 * it (in front, not grazing: |cos| >= 0.3 against the face normal, either side since the winding is not trusted;
 * inside the photo 2 px from its border; not masked, saturated or black there), with the photo's luma and the five
 * depth pixels (global indices into the packed depth maps: the pixel, then +-2 px along x and y) that decide whether
 * the mesh hides the point from the view. Observations of one point are consecutive.
 */
export interface GainObservations {
  count: number;
  sample: Int32Array;
  view: Int32Array;
  luma: Float64Array;
  cz: Float64Array;
  pixels: Uint32Array;
}

export function gainObservations(input: BakeInput, views: BakeView[], offsets: number[]): GainObservations {
  const { positions: P, indices: I } = input;
  const faces = I.length / 3;
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const centres = views.map((view) => cameraCentre(view.camFromWorld));
  const samples = Math.min(20000, faces * 4);
  let cap = 1024, count = 0;
  let sample = new Int32Array(cap), view = new Int32Array(cap), luma = new Float64Array(cap), cz = new Float64Array(cap), pixels = new Uint32Array(5 * cap);
  const grow = () => {
    cap *= 2;
    const more = <T extends Int32Array | Float64Array | Uint32Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    sample = more(sample, cap);
    view = more(view, cap);
    luma = more(luma, cap);
    cz = more(cz, cap);
    pixels = more(pixels, 5 * cap);
  };
  for (let s = 0; s < samples; s++) {
    const f = Math.floor(rand() * faces);
    let a = rand(), b = rand();
    if (a + b > 1) {
      a = 1 - a;
      b = 1 - b;
    }
    const i0 = I[3 * f], i1 = I[3 * f + 1], i2 = I[3 * f + 2];
    const e1 = [0, 1, 2].map((k) => P[3 * i1 + k] - P[3 * i0 + k]), e2 = [0, 1, 2].map((k) => P[3 * i2 + k] - P[3 * i0 + k]);
    const x = [0, 1, 2].map((k) => P[3 * i0 + k] + a * e1[k] + b * e2[k]);
    const nrm = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const nl = Math.hypot(nrm[0], nrm[1], nrm[2]);
    if (!(nl > 0)) continue;
    for (let k = 0; k < views.length; k++) {
      const v = views[k], c = v.camFromWorld;
      const z = c[8] * x[0] + c[9] * x[1] + c[10] * x[2] + c[11];
      if (z <= 0) continue;
      const centre = centres[k];
      const t0 = centre[0] - x[0], t1 = centre[1] - x[1], t2 = centre[2] - x[2];
      if (Math.abs(nrm[0] * t0 + nrm[1] * t1 + nrm[2] * t2) / (nl * Math.sqrt(t0 * t0 + t1 * t1 + t2 * t2)) < 0.3) continue;
      const px = Math.floor((v.K[0] * (c[0] * x[0] + c[1] * x[1] + c[2] * x[2] + c[3])) / z + v.K[2] + 0.5);
      const py = Math.floor((v.K[4] * (c[4] * x[0] + c[5] * x[1] + c[6] * x[2] + c[7])) / z + v.K[5] + 0.5);
      if (px < 2 || py < 2 || px >= v.width - 2 || py >= v.height - 2) continue;
      const pi = 4 * (py * v.width + px);
      const r = v.rgba[pi], g = v.rgba[pi + 1], bl = v.rgba[pi + 2];
      if (v.rgba[pi + 3] < 128 || r >= 250 || g >= 250 || bl >= 250) continue;
      const l = 0.299 * r + 0.587 * g + 0.114 * bl;
      if (l < 8) continue;
      if (count === cap) grow();
      sample[count] = s;
      view[count] = k;
      luma[count] = l;
      cz[count] = z;
      const base = offsets[k] + py * v.width + px, o = 5 * count;
      pixels[o] = base;
      pixels[o + 1] = base + 2;
      pixels[o + 2] = base - 2;
      pixels[o + 3] = base + 2 * v.width;
      pixels[o + 4] = base - 2 * v.width;
      count++;
    }
  }
  return { count, sample, view, luma, cz, pixels: pixels.subarray(0, 5 * count) };
}

/**
 * Per-view photometric gains: at up to 20,000 surface samples (seeded, uniform over faces), every pair of views that
 * see the sample well (the kernel's visibility test; not within 2 pixels of a depth edge, where antialiased silhouettes
 * and misregistration darken or stain a pixel; not at a grazing angle; clipped or black pixels skipped) adds its two
 * lumas to the pair's sums. log g_i - log g_j ≈ log(ΣI_i / ΣI_j) per pair, weighted by its count, solved by
 * Gauss-Seidel on the view graph; the gains are normalised to a geometric mean of 1 (the texture keeps the capture's
 * average exposure). Ratios of sums, not means of log ratios: a blurrier view (farther, more oblique) has the same
 * mean luma as a sharp one but a higher mean log luma (Jensen), which biased its gain up by a few percent (spot: gains
 * 0.95-1.07 on a capture rendered at one exposure, held-out PSNR of the true mesh 31.4 dB against 32.6 dB without
 * compensation). `obs` are the samples' candidate views (gainObservations); `depth` holds the mesh's depth at each
 * observation's five pixels: a view sees its sample where the depth there is within 1% of the sample's and within 4%
 * at the four pixels 2 px around. The gains are clamped to 1/4-4.
 */
export function estimateGains(obs: GainObservations, depth: Float32Array, V: number): number[] {
  const weight = new Float64Array(V * V), diff = new Float64Array(V * V), lumaSum = new Float64Array(V * V);
  const seenK = new Int32Array(V), seenL = new Float64Array(V);
  for (let o = 0; o < obs.count; ) {
    const s = obs.sample[o];
    let n = 0;
    for (; o < obs.count && obs.sample[o] === s; o++) {
      const d = depth[5 * o], z = obs.cz[o];
      if (d <= 0 || Math.abs(d - z) > 0.01 * z) continue;
      let edge = false;
      for (let j = 1; j < 5; j++) {
        const dn = depth[5 * o + j];
        if (dn <= 0 || Math.abs(dn - d) > 0.04 * d) edge = true;
      }
      if (edge) continue;
      seenK[n] = obs.view[o];
      seenL[n++] = obs.luma[o];
    }
    for (let p = 0; p < n; p++) {
      const i = seenK[p], li = seenL[p];
      for (let q = p + 1; q < n; q++) {
        const j = seenK[q];
        weight[i * V + j] += 1;
        weight[j * V + i] += 1;
        lumaSum[i * V + j] += li;
        lumaSum[j * V + i] += seenL[q];
      }
    }
  }
  for (let i = 0; i < V; i++) for (let j = 0; j < V; j++) {
    const n = weight[i * V + j];
    if (n > 0) diff[i * V + j] = n * Math.log(lumaSum[i * V + j] / lumaSum[j * V + i]);
  }
  const x = new Float64Array(V);
  for (let it = 0; it < 300; it++) {
    for (let i = 0; i < V; i++) {
      let w = 0, sum = 0;
      for (let j = 0; j < V; j++) {
        const wij = weight[i * V + j];
        if (!wij) continue;
        w += wij;
        sum += diff[i * V + j] + wij * x[j];
      }
      if (w > 0) x[i] = sum / w;
    }
  }
  const mean = x.reduce((s, v) => s + v, 0) / V;
  return Array.from(x, (v) => Math.min(4, Math.max(0.25, Math.exp(v - mean))));
}
