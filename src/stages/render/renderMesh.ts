/**
 * WebGPU rasteriser for textured triangle meshes seen by our pinhole cameras: the capture synthesizer, the evaluator
 * (held-out views) and, later, the refinement's visibility pass use it. Two passes per view: 4x MSAA colour, then a
 * single-sample pass writing camera-space z (exact depth and mask). Resources live in the stage's VRAM scope.
 */
import { FLOATS_PER_CORNER, type RenderableMesh } from './types';
import type { RgbaImage } from '../../core/mesh';
import type { StageContext } from '../context';
import { getComputePipeline } from '../../gpu/kernel';
import copyDepthWgsl from './copy_depth.wgsl?raw';
import renderWgsl from './render_mesh.wgsl?raw';
import { abortable } from '../../gpu/readback';

export { FLOATS_PER_CORNER, type RenderableMesh } from './types';


export interface RenderOptions {
  K: number[];
  camFromWorld: number[];
  background?: [number, number, number];
  /** Direction towards the light (world) and its diffuse strength; ambient. Default: unlit albedo. */
  light?: { direction: [number, number, number]; diffuse: number; ambient: number };
}

export interface RendererOptions {
  /**
   * Sample the texture through a box-filtered mip chain with trilinear filtering, as three.js (the page's viewer) and
   * Blender display a texture. Without it the texture is sampled bilinearly at level 0 whatever its footprint.
   */
  mipmaps?: boolean;
}

/** Level 0 and its box-filtered halvings down to 1x1 (WebGPU's level sizes: each side floor(side / 2), at least 1). */
export function mipChain(base: RgbaImage): RgbaImage[] {
  const levels = [base];
  let prev = base;
  while (prev.width > 1 || prev.height > 1) {
    const width = Math.max(1, prev.width >> 1), height = Math.max(1, prev.height >> 1);
    const data = new Uint8Array(width * height * 4);
    // Source texels of each destination texel: 2 per side, or 1 along a side that is already 1 (odd remainders dropped).
    const sx = prev.width > 1 ? 2 : 1, sy = prev.height > 1 ? 2 : 1;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let j = 0; j < sy; j++) for (let i = 0; i < sx; i++) sum += prev.data[4 * ((y * sy + j) * prev.width + x * sx + i) + c];
      data[4 * (y * width + x) + c] = Math.round(sum / (sx * sy));
    }
    levels.push((prev = { width, height, data }));
  }
  return levels;
}

export interface RenderedView {
  width: number;
  height: number;
  /** RGBA8, alpha = coverage (255 where the mesh is seen). */
  rgba: Uint8Array;
  /** Camera-space z in the mesh's units; 0 where nothing is seen. */
  depth: Float32Array;
}

const UNIFORM_BYTES = 4 * (16 + 16 + 4 + 4 + 4);
const pipelines = new WeakMap<GPUDevice, { color: GPURenderPipeline; depth: GPURenderPipeline }>();

function getPipelines(device: GPUDevice) {
  let p = pipelines.get(device);
  if (p) return p;
  const module = device.createShaderModule({ label: 'render.mesh', code: renderWgsl });
  const vertex: GPUVertexState = {
    module,
    entryPoint: 'vs_main',
    buffers: [{
      arrayStride: FLOATS_PER_CORNER * 4,
      attributes: [
        { shaderLocation: 0, offset: 0, format: 'float32x3' },
        { shaderLocation: 1, offset: 12, format: 'float32x2' },
        { shaderLocation: 2, offset: 20, format: 'float32x3' },
        { shaderLocation: 3, offset: 32, format: 'float32x3' },
      ],
    }],
  };
  const layout = device.createBindGroupLayout({
    label: 'render.mesh',
    entries: [
      { binding: 0, visibility: GPUShaderStage.VERTEX | GPUShaderStage.FRAGMENT, buffer: { type: 'uniform' } },
      { binding: 1, visibility: GPUShaderStage.FRAGMENT, texture: { sampleType: 'float' } },
      { binding: 2, visibility: GPUShaderStage.FRAGMENT, sampler: { type: 'filtering' } },
    ],
  });
  const pipelineLayout = device.createPipelineLayout({ label: 'render.mesh', bindGroupLayouts: [layout] });
  p = {
    color: device.createRenderPipeline({
      label: 'render.mesh.color',
      layout: pipelineLayout,
      vertex,
      fragment: { module, entryPoint: 'fs_color', targets: [{ format: 'rgba8unorm' }] },
      primitive: { topology: 'triangle-list', cullMode: 'none' },
      depthStencil: { format: 'depth32float', depthWriteEnabled: true, depthCompare: 'less' },
      multisample: { count: 4 },
    }),
    depth: device.createRenderPipeline({
      label: 'render.mesh.depth',
      layout: pipelineLayout,
      vertex,
      fragment: { module, entryPoint: 'fs_depth', targets: [{ format: 'r32float' }] },
      primitive: { topology: 'triangle-list', cullMode: 'none' },
      depthStencil: { format: 'depth32float', depthWriteEnabled: true, depthCompare: 'less' },
    }),
  };
  pipelines.set(device, p);
  return p;
}

/** clipFromWorld (column-major for WGSL) for K, camFromWorld and a depth range. */
export function clipFromWorld(K: number[], camFromWorld: number[], width: number, height: number, near: number, far: number): Float32Array {
  const [fx, , cx, , fy, cy] = K;
  const a = far / (far - near), b = (-far * near) / (far - near);
  // Rows of the projection applied to camera coordinates (x, y, z, 1).
  const P = [
    [(2 * fx) / width, (2 * K[1]) / width, (2 * (cx + 0.5)) / width - 1, 0],
    [0, (-2 * fy) / height, 1 - (2 * (cy + 0.5)) / height, 0],
    [0, 0, a, b],
    [0, 0, 1, 0],
  ];
  const C = [camFromWorld.slice(0, 4), camFromWorld.slice(4, 8), camFromWorld.slice(8, 12), [0, 0, 0, 1]];
  const out = new Float32Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += P[r][k] * C[k][c];
    out[c * 4 + r] = s;
  }
  return out;
}

export class MeshRenderer {
  private readonly vertexBuffer: GPUBuffer;
  private readonly uniform: GPUBuffer;
  private readonly texture: GPUTexture;
  private readonly sampler: GPUSampler;
  private readonly bindGroup: GPUBindGroup;
  private readonly targets: { msaa: GPUTexture; resolve: GPUTexture; msaaDepth: GPUTexture; z: GPUTexture; depth: GPUTexture; readColor: GPUBuffer; readZ: GPUBuffer };
  private readonly bytesPerRow: number;
  private readonly cornerCount: number;
  private copyParams: GPUBuffer | null = null;

  constructor(private readonly ctx: StageContext, private readonly mesh: RenderableMesh, readonly width: number, readonly height: number, options: RendererOptions = {}) {
    const { device } = ctx.gpu;
    const scope = ctx.scope;
    this.cornerCount = mesh.corners.length / FLOATS_PER_CORNER;
    this.vertexBuffer = scope.createBuffer({ label: 'render:vertices', size: Math.max(16, mesh.corners.byteLength), usage: GPUBufferUsage.VERTEX | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(this.vertexBuffer, 0, mesh.corners);
    this.uniform = scope.createBuffer({ label: 'render:camera', size: UNIFORM_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const tex = mesh.texture ?? { width: 1, height: 1, data: new Uint8Array([255, 255, 255, 255]) };
    const levels = options.mipmaps ? mipChain(tex) : [tex];
    this.texture = scope.createTexture({ label: 'render:albedo', size: [tex.width, tex.height], mipLevelCount: levels.length, format: 'rgba8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
    levels.forEach((l, mipLevel) => device.queue.writeTexture({ texture: this.texture, mipLevel }, l.data, { bytesPerRow: l.width * 4 }, [l.width, l.height]));
    this.sampler = device.createSampler({ label: 'render:albedo', magFilter: 'linear', minFilter: 'linear', mipmapFilter: 'linear', addressModeU: 'clamp-to-edge', addressModeV: 'clamp-to-edge' });
    const p = getPipelines(device);
    this.bindGroup = device.createBindGroup({
      label: 'render.mesh',
      layout: p.color.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: this.uniform } }, { binding: 1, resource: this.texture.createView() }, { binding: 2, resource: this.sampler }],
    });
    const size = [width, height];
    const attach = GPUTextureUsage.RENDER_ATTACHMENT;
    this.bytesPerRow = Math.ceil((width * 4) / 256) * 256;
    this.targets = {
      msaa: scope.createTexture({ label: 'render:msaa', size, format: 'rgba8unorm', sampleCount: 4, usage: attach }),
      resolve: scope.createTexture({ label: 'render:color', size, format: 'rgba8unorm', usage: attach | GPUTextureUsage.COPY_SRC }),
      msaaDepth: scope.createTexture({ label: 'render:msaaDepth', size, format: 'depth32float', sampleCount: 4, usage: attach }),
      z: scope.createTexture({ label: 'render:z', size, format: 'r32float', usage: attach | GPUTextureUsage.COPY_SRC | GPUTextureUsage.TEXTURE_BINDING }),
      depth: scope.createTexture({ label: 'render:depth', size, format: 'depth32float', usage: attach }),
      readColor: scope.createBuffer({ label: 'render:readColor', size: this.bytesPerRow * height, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      readZ: scope.createBuffer({ label: 'render:readZ', size: this.bytesPerRow * height, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    };
  }

  /** Renders the camera-z pass only and copies it into `target` at `offset` floats, on the GPU (no readback). */
  renderDepthInto(options: RenderOptions, target: GPUBuffer, offset: number): void {
    const { device } = this.ctx.gpu;
    const encoder = device.createCommandEncoder({ label: 'render.depthInto' });
    this.encode(encoder, options, false);
    const pipeline = getComputePipeline(device, { label: 'render.copyDepth', code: copyDepthWgsl });
    this.copyParams ??= this.ctx.scope.createBuffer({ label: 'render:copyParams', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(this.copyParams, 0, new Uint32Array([this.width, this.height, offset, 0]));
    const pass = encoder.beginComputePass({ label: 'render.copyDepth' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({
      label: 'render.copyDepth',
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: this.targets.z.createView() }, { binding: 1, resource: { buffer: target } }, { binding: 2, resource: { buffer: this.copyParams } }],
    }));
    pass.dispatchWorkgroups(Math.ceil(this.width / 8), Math.ceil(this.height / 8));
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  /** Encodes the colour (when `color`) and camera-z passes for one camera. */
  private encode(encoder: GPUCommandEncoder, options: RenderOptions, color: boolean): void {
    const { device } = this.ctx.gpu;
    const { width, height } = this;
    // Near/far from the bounding sphere seen by this camera.
    const p = options.camFromWorld;
    const [c0, c1, c2] = this.mesh.centre;
    const zc = p[8] * c0 + p[9] * c1 + p[10] * c2 + p[11];
    const near = Math.max(1e-4 * this.mesh.radius, zc - 1.05 * this.mesh.radius, 1e-6);
    const far = Math.max(near * 2, zc + 1.05 * this.mesh.radius);
    const u = new Float32Array(UNIFORM_BYTES / 4);
    u.set(clipFromWorld(options.K, p, width, height, near, far), 0);
    const cam = new Float32Array(16);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) cam[c * 4 + r] = p[r * 4 + c];
    cam[15] = 1;
    u.set(cam, 16);
    const light = options.light;
    u.set(light ? [...light.direction, light.diffuse] : [0, 0, 1, 0], 32);
    u.set([light ? light.ambient : 1, this.mesh.texture ? 1 : 0, this.mesh.vertexColors ? 1 : 0, 0], 36);
    u.set([0.7, 0.7, 0.7, 1], 40);
    device.queue.writeBuffer(this.uniform, 0, u);
    const bg = options.background ?? [0, 0, 0];
    const pipes = getPipelines(device);
    if (color) {
    const colorPass = encoder.beginRenderPass({
      label: 'render.mesh.color',
      colorAttachments: [{ view: this.targets.msaa.createView(), resolveTarget: this.targets.resolve.createView(), clearValue: { r: bg[0], g: bg[1], b: bg[2], a: 0 }, loadOp: 'clear', storeOp: 'discard' }],
      depthStencilAttachment: { view: this.targets.msaaDepth.createView(), depthClearValue: 1, depthLoadOp: 'clear', depthStoreOp: 'discard' },
    });
    colorPass.setPipeline(pipes.color);
    colorPass.setBindGroup(0, this.bindGroup);
    colorPass.setVertexBuffer(0, this.vertexBuffer);
    colorPass.draw(this.cornerCount);
    colorPass.end();
    }
    const zPass = encoder.beginRenderPass({
      label: 'render.mesh.depth',
      colorAttachments: [{ view: this.targets.z.createView(), clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear', storeOp: 'store' }],
      depthStencilAttachment: { view: this.targets.depth.createView(), depthClearValue: 1, depthLoadOp: 'clear', depthStoreOp: 'discard' },
    });
    zPass.setPipeline(pipes.depth);
    zPass.setBindGroup(0, this.bindGroup);
    zPass.setVertexBuffer(0, this.vertexBuffer);
    zPass.draw(this.cornerCount);
    zPass.end();
  }

  async render(options: RenderOptions): Promise<RenderedView> {
    const { device } = this.ctx.gpu;
    const { width, height } = this;
    const bg = options.background ?? [0, 0, 0];
    const encoder = device.createCommandEncoder({ label: 'render.mesh' });
    this.encode(encoder, options, true);
    encoder.copyTextureToBuffer({ texture: this.targets.resolve }, { buffer: this.targets.readColor, bytesPerRow: this.bytesPerRow }, [width, height]);
    encoder.copyTextureToBuffer({ texture: this.targets.z }, { buffer: this.targets.readZ, bytesPerRow: this.bytesPerRow }, [width, height]);
    device.queue.submit([encoder.finish()]);
    await abortable(Promise.all([this.targets.readColor.mapAsync(GPUMapMode.READ), this.targets.readZ.mapAsync(GPUMapMode.READ)]), this.ctx.signal);
    const colorRows = new Uint8Array(this.targets.readColor.getMappedRange());
    const zRows = new Float32Array(this.targets.readZ.getMappedRange());
    const rgba = new Uint8Array(width * height * 4);
    const depth = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      rgba.set(colorRows.subarray(y * this.bytesPerRow, y * this.bytesPerRow + width * 4), y * width * 4);
      depth.set(zRows.subarray((y * this.bytesPerRow) / 4, (y * this.bytesPerRow) / 4 + width), y * width);
    }
    this.targets.readColor.unmap();
    this.targets.readZ.unmap();
    for (let i = 0; i < width * height; i++) {
      const covered = depth[i] > 0;
      rgba[4 * i + 3] = covered ? 255 : 0;
      if (!covered) {
        rgba[4 * i] = Math.round(bg[0] * 255);
        rgba[4 * i + 1] = Math.round(bg[1] * 255);
        rgba[4 * i + 2] = Math.round(bg[2] * 255);
      }
    }
    return { width, height, rgba, depth };
  }

  dispose(): void {
    const s = this.ctx.scope;
    s.destroy(this.vertexBuffer);
    s.destroy(this.uniform);
    s.destroy(this.texture);
    for (const t of Object.values(this.targets)) s.destroy(t);
    if (this.copyParams) s.destroy(this.copyParams);
  }
}

/**
 * One mesh's renderers, one per image size, built on first use and kept: a renderer uploads the mesh and its texture
 * and allocates its targets once, so a run over many views (which mostly share one size) builds one, not one a view.
 */
export class MeshRenderers {
  private readonly bySize = new Map<string, MeshRenderer>();

  constructor(private readonly ctx: StageContext, private readonly mesh: RenderableMesh, private readonly options: RendererOptions = {}) {}

  /** The renderer for `width` x `height` images. */
  of(width: number, height: number): MeshRenderer {
    const key = `${width}x${height}`;
    let renderer = this.bySize.get(key);
    if (!renderer) this.bySize.set(key, (renderer = new MeshRenderer(this.ctx, this.mesh, width, height, this.options)));
    return renderer;
  }

  dispose(): void {
    for (const r of this.bySize.values()) r.dispose();
    this.bySize.clear();
  }
}
