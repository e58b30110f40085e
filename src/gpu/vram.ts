/**
 * VRAM manager: every GPUBuffer and GPUTexture the app creates goes through it, with a label and an owner (a model
 * or stage). ORT sessions and GPU-located ORT tensors are registered too, so that `cleanupGpuMemory(owner)` can hand
 * everything of one model back before the next model starts.
 *
 * WebGPU has no "free memory" query, so the manager keeps the books itself:
 * - own bytes: resources created through the manager, per owner;
 * - external bytes: buffers/textures that something else (onnxruntime-web) creates on our shared device. They are
 *   seen by instrumenting the device's createBuffer/createTexture (and the destroy() of what they return), so the
 *   peak figure in every report is the device's real peak, not just ours. External resources are never destroyed by
 *   us: ORT pools its buffers, and destroying one corrupts later runs (docs/WEBGPU-FACTS.md).
 *
 * Cleanup does not wait for the GPU: destroy() on a buffer or texture that submitted work still uses is allowed, and
 * the browser frees the memory when that work finishes. So a cancelled job hands everything back at once; the books
 * say 0 while the last submission (short: long kernels run in slabs) drains.
 *
 * Allocation failures surface as a typed GpuOutOfMemoryError: synchronously when a request exceeds the budget or a
 * device limit, and from `guardOutOfMemory`, which wraps allocations in an 'out-of-memory' error scope.
 */
import { GpuOutOfMemoryError } from '../core/errors';
import { formatBytes } from '../core/format';

export { formatBytes };

/** The part of GPUDevice the manager uses (a fake implements it in unit tests). */
export interface VramDevice {
  createBuffer(descriptor: GPUBufferDescriptor): GPUBuffer;
  createTexture(descriptor: GPUTextureDescriptor): GPUTexture;
  pushErrorScope(filter: GPUErrorFilter): void;
  popErrorScope(): Promise<GPUError | null>;
}

/** The parts of onnxruntime-web objects the manager touches (ml/ort.ts hands the real ones in). */
export interface OrtTensorLike {
  dispose(): void;
}
export interface OrtSessionLike {
  release(): Promise<void>;
}

export interface VramLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** Size of the largest device-local heap when Chrome exposes adapter.info.memoryHeaps, else null. */
  deviceLocalHeapBytes: number | null;
  isFallbackAdapter: boolean;
}

export interface VramConfig {
  /** Hard budget in bytes. Default: 80% of the device-local heap when known, else DEFAULT_BUDGET_BYTES. */
  budgetBytes?: number;
}

/** Used when the browser does not tell us the heap size (ordinary Chrome never does). */
export const DEFAULT_BUDGET_BYTES = 3 * 1024 ** 3;

export interface VramCheck {
  available: boolean;
  reason: string;
  budgetBytes: number;
  liveBytes: number;
  requiredBytes: number;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface VramUsage {
  /** Own + external bytes live now. */
  liveBytes: number;
  peakBytes: number;
  ownBytes: number;
  externalBytes: number;
  externalPeakBytes: number;
  owners: Record<string, { liveBytes: number; peakBytes: number; resources: number }>;
  budgetBytes: number;
}

export interface CleanupResult {
  /** Bytes still live on the device (all owners, own + external) after the cleanup. */
  liveBytes: number;
  peakBytes: number;
  /** Bytes the cleaned owner still holds (0 unless a destroy failed). */
  ownerLiveBytes: number;
  /** Peak bytes of the cleaned owner's own resources since its first allocation or last cleanup. */
  ownerPeakBytes: number;
  /** Bytes that others (ORT's pools) still hold on the device. */
  externalBytes: number;
  destroyed: { buffers: number; textures: number; tensors: number; sessions: number };
}

type Kind = 'buffer' | 'texture' | 'ort-tensor' | 'ort-session';

interface Record_ {
  id: number;
  kind: Kind;
  owner: string;
  label: string;
  bytes: number;
  resource: GPUBuffer | GPUTexture | OrtTensorLike | OrtSessionLike;
}

interface OwnerBook {
  liveBytes: number;
  peakBytes: number;
  records: Set<Record_>;
}

const FORMAT_BYTES: Record<string, number> = {
  r8unorm: 1, r8snorm: 1, r8uint: 1, r8sint: 1,
  r16uint: 2, r16sint: 2, r16float: 2, rg8unorm: 2, rg8snorm: 2, rg8uint: 2, rg8sint: 2, depth16unorm: 2,
  r32uint: 4, r32sint: 4, r32float: 4, rg16uint: 4, rg16sint: 4, rg16float: 4,
  rgba8unorm: 4, 'rgba8unorm-srgb': 4, rgba8snorm: 4, rgba8uint: 4, rgba8sint: 4,
  bgra8unorm: 4, 'bgra8unorm-srgb': 4, rgb10a2unorm: 4, rg11b10ufloat: 4, rgb9e5ufloat: 4,
  depth24plus: 4, 'depth24plus-stencil8': 4, depth32float: 4, stencil8: 1,
  'depth32float-stencil8': 8, rg32uint: 8, rg32sint: 8, rg32float: 8,
  rgba16uint: 8, rgba16sint: 8, rgba16float: 8,
  rgba32uint: 16, rgba32sint: 16, rgba32float: 16,
};

/** Bytes a texture occupies (all mips and layers; multisampled textures count every sample). */
export function textureByteSize(descriptor: GPUTextureDescriptor): number {
  const size = descriptor.size;
  const [w, h, layers] = Array.isArray(size) || ArrayBuffer.isView(size)
    ? [Number((size as number[])[0]), Number((size as number[])[1] ?? 1), Number((size as number[])[2] ?? 1)]
    : [(size as GPUExtent3DDict).width, (size as GPUExtent3DDict).height ?? 1, (size as GPUExtent3DDict).depthOrArrayLayers ?? 1];
  const bpp = FORMAT_BYTES[descriptor.format];
  if (bpp === undefined) throw new Error(`vram: unknown texture format ${descriptor.format} (add it to FORMAT_BYTES)`);
  const is3d = descriptor.dimension === '3d';
  let total = 0;
  const mips = descriptor.mipLevelCount ?? 1;
  for (let level = 0; level < mips; level++) {
    const mw = Math.max(1, w >> level), mh = Math.max(1, h >> level);
    const md = is3d ? Math.max(1, layers >> level) : layers;
    total += mw * mh * md * bpp;
  }
  return total * (descriptor.sampleCount ?? 1);
}

export class VramManager {
  readonly limits: VramLimits;
  /** The budget the device was given; `limitBudget` lowers it for one job. */
  private readonly deviceBudgetBytes: number;
  private budgetLimitBytes: number | null = null;
  private readonly device: VramDevice;
  private readonly rawCreateBuffer: (d: GPUBufferDescriptor) => GPUBuffer;
  private readonly rawCreateTexture: (d: GPUTextureDescriptor) => GPUTexture;
  private readonly owners = new Map<string, OwnerBook>();
  private readonly byResource = new Map<object, Record_>();
  private nextId = 1;
  private ownBytes = 0;
  private externalBytes = 0;
  private peak = 0;
  private externalPeak = 0;
  private readonly externalLive = new Map<object, number>();

  constructor(device: VramDevice, limits: VramLimits, config: VramConfig = {}) {
    this.device = device;
    this.limits = limits;
    this.rawCreateBuffer = device.createBuffer.bind(device);
    this.rawCreateTexture = device.createTexture.bind(device);
    this.deviceBudgetBytes = config.budgetBytes
      ?? (limits.deviceLocalHeapBytes ? Math.floor(limits.deviceLocalHeapBytes * 0.8) : DEFAULT_BUDGET_BYTES);
  }

  get budgetBytes(): number {
    return this.budgetLimitBytes === null ? this.deviceBudgetBytes : Math.min(this.budgetLimitBytes, this.deviceBudgetBytes);
  }

  /**
   * Lowers the budget (never raises it) until called with null: a job's `vramBudgetBytes` on a device that already
   * exists, so a test can make a preset run out of memory for real (the budget check throws GpuOutOfMemoryError).
   */
  limitBudget(bytes: number | null): void {
    this.budgetLimitBytes = bytes;
  }

  /**
   * Routes allocations that others make on this device (ORT) through the books, as external bytes. Call once, before
   * the device is handed to anyone. Our own allocations bypass the hook (they use the raw functions).
   */
  instrumentDevice(): void {
    const device = this.device as VramDevice & { __vramInstrumented?: boolean };
    if (device.__vramInstrumented) return;
    device.__vramInstrumented = true;
    const track = <T extends GPUBuffer | GPUTexture>(resource: T, bytes: number): T => {
      this.externalLive.set(resource, bytes);
      this.externalBytes += bytes;
      this.externalPeak = Math.max(this.externalPeak, this.externalBytes);
      this.bumpPeak();
      const originalDestroy = resource.destroy.bind(resource);
      resource.destroy = () => {
        const live = this.externalLive.get(resource);
        if (live !== undefined) {
          this.externalLive.delete(resource);
          this.externalBytes -= live;
        }
        originalDestroy();
      };
      return resource;
    };
    device.createBuffer = (d: GPUBufferDescriptor) => track(this.rawCreateBuffer(d), d.size);
    device.createTexture = (d: GPUTextureDescriptor) => track(this.rawCreateTexture(d), textureByteSize(d));
  }

  /**
   * A handle bound to one owner: what models and stages use. With the job's `signal`, readbacks through the scope
   * (readBuffer, readBuffers) reject as soon as the job is cancelled or the device is lost.
   */
  scope(owner: string, signal?: AbortSignal): VramScope {
    return new VramScope(this, owner, signal ?? null);
  }

  createBuffer(owner: string, descriptor: GPUBufferDescriptor & { label: string }): GPUBuffer {
    const bytes = descriptor.size;
    if (bytes > this.limits.maxBufferSize) {
      throw new GpuOutOfMemoryError(
        `Buffer "${descriptor.label}" needs ${formatBytes(bytes)}, over this GPU's maxBufferSize of ${formatBytes(this.limits.maxBufferSize)}.`,
        bytes,
      );
    }
    this.assertFits(bytes, descriptor.label);
    const buffer = this.rawCreateBuffer(descriptor);
    this.add(owner, 'buffer', descriptor.label, bytes, buffer);
    return buffer;
  }

  createTexture(owner: string, descriptor: GPUTextureDescriptor & { label: string }): GPUTexture {
    const bytes = textureByteSize(descriptor);
    this.assertFits(bytes, descriptor.label);
    const texture = this.rawCreateTexture(descriptor);
    this.add(owner, 'texture', descriptor.label, bytes, texture);
    return texture;
  }

  /** Registers a GPU-located ORT tensor: disposed (returned to ORT's pool) at cleanup, before sessions are released. */
  registerOrtTensor(owner: string, tensor: OrtTensorLike, label: string): void {
    this.add(owner, 'ort-tensor', label, 0, tensor);
  }

  registerOrtSession(owner: string, session: OrtSessionLike, label: string): void {
    this.add(owner, 'ort-session', label, 0, session);
  }

  /** Destroys (or disposes / releases) one resource early. Unknown resources are ignored. */
  async release(resource: object): Promise<void> {
    const record = this.byResource.get(resource);
    if (!record) return;
    await this.finish(record);
  }

  /** Synchronous early destroy for buffers and textures (the common case inside a stage). */
  destroy(resource: GPUBuffer | GPUTexture): void {
    const record = this.byResource.get(resource);
    if (!record) return;
    (record.resource as GPUBuffer | GPUTexture).destroy();
    this.forget(record);
  }

  /**
   * Disposes the owner's ORT tensors, destroys its buffers and textures, then releases its ORT sessions (in that
   * order: disposing after release throws). Without an owner, cleans every owner. It does not wait for the queue
   * (see the top of this file): a cancel must not wait for a submission in flight.
   */
  async cleanupGpuMemory(owner?: string): Promise<CleanupResult> {
    const books = owner === undefined ? [...this.owners.entries()] : this.owners.has(owner) ? [[owner, this.owners.get(owner)!] as const] : [];
    const destroyed = { buffers: 0, textures: 0, tensors: 0, sessions: 0 };
    let ownerPeakBytes = 0;
    for (const [, book] of books) {
      ownerPeakBytes = Math.max(ownerPeakBytes, book.peakBytes);
      const records = [...book.records];
      const order: Kind[] = ['ort-tensor', 'buffer', 'texture', 'ort-session'];
      for (const kind of order) {
        for (const record of records) {
          if (record.kind !== kind) continue;
          await this.finish(record);
          if (kind === 'buffer') destroyed.buffers++;
          else if (kind === 'texture') destroyed.textures++;
          else if (kind === 'ort-tensor') destroyed.tensors++;
          else destroyed.sessions++;
        }
      }
    }
    let ownerLiveBytes = 0;
    for (const [name] of books) {
      const book = this.owners.get(name);
      if (book && book.records.size === 0) this.owners.delete(name);
      else if (book) ownerLiveBytes += book.liveBytes;
    }
    return {
      liveBytes: this.ownBytes + this.externalBytes,
      peakBytes: this.peak,
      ownerLiveBytes,
      ownerPeakBytes,
      externalBytes: this.externalBytes,
      destroyed,
    };
  }

  /** Can `requiredBytes` more be allocated now? Answers from the budget, the live bytes and the adapter limits. */
  checkVramAvailable(requiredBytes: number, largestBufferBytes = 0): VramCheck {
    const liveBytes = this.ownBytes + this.externalBytes;
    const base = {
      budgetBytes: this.budgetBytes,
      liveBytes,
      requiredBytes,
      maxBufferSize: this.limits.maxBufferSize,
      maxStorageBufferBindingSize: this.limits.maxStorageBufferBindingSize,
    };
    if (largestBufferBytes > this.limits.maxBufferSize) {
      return { ...base, available: false, reason: `a single buffer of ${formatBytes(largestBufferBytes)} exceeds maxBufferSize (${formatBytes(this.limits.maxBufferSize)})` };
    }
    if (liveBytes + requiredBytes > this.budgetBytes) {
      return {
        ...base,
        available: false,
        reason: `${formatBytes(requiredBytes)} requested with ${formatBytes(liveBytes)} live exceeds the budget of ${formatBytes(this.budgetBytes)}`,
      };
    }
    return { ...base, available: true, reason: 'fits' };
  }

  getVramUsage(): VramUsage {
    const owners: VramUsage['owners'] = {};
    for (const [name, book] of this.owners) {
      owners[name] = { liveBytes: book.liveBytes, peakBytes: book.peakBytes, resources: book.records.size };
    }
    return {
      liveBytes: this.ownBytes + this.externalBytes,
      peakBytes: this.peak,
      ownBytes: this.ownBytes,
      externalBytes: this.externalBytes,
      externalPeakBytes: this.externalPeak,
      owners,
      budgetBytes: this.budgetBytes,
    };
  }

  /** Restarts peak tracking from the bytes live now (per job or per benchmark). */
  resetPeak(): void {
    this.peak = this.ownBytes + this.externalBytes;
    this.externalPeak = this.externalBytes;
  }

  /**
   * Runs `allocate` inside an 'out-of-memory' error scope. If the driver refused an allocation, whatever `cleanup`
   * names is destroyed and a GpuOutOfMemoryError is thrown, so the caller can retry at a lower resolution.
   */
  async guardOutOfMemory<T>(what: string, allocate: () => T, cleanup?: (value: T) => void): Promise<T> {
    this.device.pushErrorScope('out-of-memory');
    let value: T;
    try {
      value = allocate();
    } catch (error) {
      await this.device.popErrorScope();
      throw error;
    }
    const error = await this.device.popErrorScope();
    if (error) {
      cleanup?.(value);
      throw new GpuOutOfMemoryError(`The GPU ran out of memory allocating ${what}: ${error.message}`, 0);
    }
    return value;
  }

  private assertFits(bytes: number, label: string): void {
    const live = this.ownBytes + this.externalBytes;
    if (live + bytes > this.budgetBytes) {
      throw new GpuOutOfMemoryError(
        `"${label}" needs ${formatBytes(bytes)} but ${formatBytes(live)} of the ${formatBytes(this.budgetBytes)} GPU budget is in use.`,
        bytes,
      );
    }
  }

  private add(owner: string, kind: Kind, label: string, bytes: number, resource: Record_['resource']): void {
    const record: Record_ = { id: this.nextId++, kind, owner, label, bytes, resource };
    let book = this.owners.get(owner);
    if (!book) {
      book = { liveBytes: 0, peakBytes: 0, records: new Set() };
      this.owners.set(owner, book);
    }
    book.records.add(record);
    book.liveBytes += bytes;
    book.peakBytes = Math.max(book.peakBytes, book.liveBytes);
    this.ownBytes += bytes;
    this.byResource.set(resource, record);
    this.bumpPeak();
  }

  private forget(record: Record_): void {
    const book = this.owners.get(record.owner);
    if (book?.records.delete(record)) {
      book.liveBytes -= record.bytes;
      this.ownBytes -= record.bytes;
    }
    this.byResource.delete(record.resource);
  }

  private async finish(record: Record_): Promise<void> {
    try {
      if (record.kind === 'ort-tensor') (record.resource as OrtTensorLike).dispose();
      else if (record.kind === 'ort-session') await (record.resource as OrtSessionLike).release();
      else (record.resource as GPUBuffer | GPUTexture).destroy();
    } finally {
      this.forget(record);
    }
  }

  private bumpPeak(): void {
    this.peak = Math.max(this.peak, this.ownBytes + this.externalBytes);
  }
}

/** The manager seen by one owner. */
export class VramScope {
  /** `signal`: the job's cancellation (or device loss); readbacks through this scope race against it. */
  constructor(readonly manager: VramManager, readonly owner: string, readonly signal: AbortSignal | null = null) {}
  createBuffer(descriptor: GPUBufferDescriptor & { label: string }): GPUBuffer {
    return this.manager.createBuffer(this.owner, descriptor);
  }
  createTexture(descriptor: GPUTextureDescriptor & { label: string }): GPUTexture {
    return this.manager.createTexture(this.owner, descriptor);
  }
  registerOrtTensor(tensor: OrtTensorLike, label: string): void {
    this.manager.registerOrtTensor(this.owner, tensor, label);
  }
  registerOrtSession(session: OrtSessionLike, label: string): void {
    this.manager.registerOrtSession(this.owner, session, label);
  }
  destroy(resource: GPUBuffer | GPUTexture): void {
    this.manager.destroy(resource);
  }
  release(resource: object): Promise<void> {
    return this.manager.release(resource);
  }
  cleanup(): Promise<CleanupResult> {
    return this.manager.cleanupGpuMemory(this.owner);
  }
}

/** A manager for a job without WebGPU: any GPU allocation fails with a clear message; accounting stays at zero. */
export function createCpuOnlyVramManager(): VramManager {
  const refuse = (): never => {
    throw new GpuOutOfMemoryError('No WebGPU device: this step needs the GPU.', 0);
  };
  const device: VramDevice = {
    createBuffer: refuse,
    createTexture: refuse,
    pushErrorScope: () => undefined,
    popErrorScope: async () => null,
  };
  return new VramManager(device, { maxBufferSize: 0, maxStorageBufferBindingSize: 0, deviceLocalHeapBytes: null, isFallbackAdapter: true }, { budgetBytes: 0 });
}
