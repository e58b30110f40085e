/**
 * The one GPUDevice of a worker. Requested from the high-performance adapter with the adapter's maximum buffer and
 * compute limits and the optional features it has; shared with onnxruntime-web (ml/ort.ts) and our own kernels.
 * Its VRAM manager is created with it and instruments it, so that ORT's allocations are counted too.
 */
import { GpuDeviceLostError, GpuUnavailableError } from '../core/errors';
import type { AdapterSummary } from '../core/report';
import { VramManager, type VramConfig } from './vram';

/** Optional features we use when present (the H200 adapter has no shader-f16; keep fp32 paths). */
const WANTED_FEATURES: GPUFeatureName[] = [
  'timestamp-query',
  'shader-f16',
  'subgroups' as GPUFeatureName,
  'float32-filterable',
  'bgra8unorm-storage',
  'indirect-first-instance',
];

/** Limits raised to the adapter's maximum. */
const WANTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxTextureDimension2D',
  'maxTextureDimension3D',
  'maxTextureArrayLayers',
  'maxBindGroups',
  'maxStorageTexturesPerShaderStage',
  'maxSampledTexturesPerShaderStage',
  'maxColorAttachmentBytesPerSample',
] as const;

export interface GpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  summary: AdapterSummary;
  vram: VramManager;
  /** Resolves when the device is lost (never rejects). */
  lost: Promise<GPUDeviceLostInfo>;
  isLost(): boolean;
  /** The latest (at most 100) uncaptured WebGPU errors (validation, internal) since the device was created. */
  uncapturedErrors: string[];
  /** How many uncaptured errors the device has reported in all (the list above keeps only the latest 100). */
  uncapturedErrorCount(): number;
  /** The messages of the uncaptured errors since the count was `countBefore` (the latest 100 of them at most). */
  uncapturedErrorsSince(countBefore: number): string[];
  hasTimestampQuery: boolean;
}

export type GpuProbe =
  | { available: true; summary: AdapterSummary }
  | { available: false; reason: string };

/** Plain words for the case of no WebGPU: which browsers and flags work. */
export const NO_WEBGPU_HELP =
  'WebGPU is not available in this browser. WebRecon runs on your own GPU through WebGPU: use Chrome or Edge 113+ ' +
  'on Windows, macOS or ChromeOS (on Linux, start Chrome with --enable-unsafe-webgpu and enable Vulkan), or Safari 26+. ' +
  'Check chrome://gpu for "WebGPU: Hardware accelerated".';

interface GpuNavigator {
  gpu?: GPU;
}

function gpuApi(): GPU | undefined {
  return (globalThis.navigator as unknown as GpuNavigator | undefined)?.gpu;
}

async function requestAdapter(): Promise<GPUAdapter> {
  const gpu = gpuApi();
  if (!gpu) throw new GpuUnavailableError(NO_WEBGPU_HELP);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuUnavailableError(`${NO_WEBGPU_HELP} (navigator.gpu exists, but no adapter was found.)`);
  return adapter;
}

export function summarizeAdapter(adapter: GPUAdapter, device?: GPUDevice): AdapterSummary {
  const info = adapter.info as GPUAdapterInfo & {
    isFallbackAdapter?: boolean;
    memoryHeaps?: { size: number; properties: number }[];
  };
  const limits = device?.limits ?? adapter.limits;
  const features = [...(device?.features ?? adapter.features)].map(String).sort();
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? legacyFallback ?? false),
    features,
    limits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxTextureDimension2D: limits.maxTextureDimension2D,
    },
    memoryHeaps: info.memoryHeaps ? info.memoryHeaps.map((h) => ({ size: Number(h.size), properties: h.properties })) : null,
  };
}

/** Is there a usable WebGPU adapter? Never throws. */
export async function probeGpu(): Promise<GpuProbe> {
  try {
    const adapter = await requestAdapter();
    return { available: true, summary: summarizeAdapter(adapter) };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The largest device-local heap (property bit 1 = DEVICE_LOCAL), when the browser exposes heaps. */
export function deviceLocalHeapBytes(summary: AdapterSummary): number | null {
  if (!summary.memoryHeaps?.length) return null;
  const local = summary.memoryHeaps.filter((h) => (h.properties & 1) !== 0);
  const heaps = local.length ? local : summary.memoryHeaps;
  return Math.max(...heaps.map((h) => h.size));
}

/** Requests the device with maximum limits and the wanted features, instruments it for the VRAM manager. */
export async function createGpuContext(config: VramConfig = {}): Promise<GpuContext> {
  const adapter = await requestAdapter();
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'webrecon', requiredFeatures, requiredLimits });
  } catch (error) {
    throw new GpuUnavailableError(`The GPU adapter refused to create a device: ${String(error)}`, { cause: error });
  }
  const summary = summarizeAdapter(adapter, device);
  const vram = new VramManager(device, {
    maxBufferSize: device.limits.maxBufferSize,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    deviceLocalHeapBytes: deviceLocalHeapBytes(summary),
    isFallbackAdapter: summary.isFallbackAdapter,
  }, config);
  vram.instrumentDevice();
  let lostFlag = false;
  const uncapturedErrors: string[] = [];
  let uncapturedErrorCount = 0;
  device.addEventListener('uncapturederror', (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message;
    uncapturedErrorCount++;
    if (uncapturedErrors.length >= 100) uncapturedErrors.shift();
    uncapturedErrors.push(message);
    console.error(`[webgpu] ${message}`);
  });
  const lost = device.lost.then((info) => {
    lostFlag = true;
    return info;
  });
  return {
    adapter,
    device,
    summary,
    vram,
    lost,
    isLost: () => lostFlag,
    uncapturedErrors,
    uncapturedErrorCount: () => uncapturedErrorCount,
    uncapturedErrorsSince: (countBefore) => {
      const count = uncapturedErrorCount - countBefore;
      return count > 0 ? uncapturedErrors.slice(-Math.min(count, uncapturedErrors.length)) : [];
    },
    hasTimestampQuery: device.features.has('timestamp-query'),
  };
}

export function deviceLostError(info: GPUDeviceLostInfo): GpuDeviceLostError {
  const why = info.reason === 'destroyed' ? 'the device was destroyed' : info.message || 'unknown reason';
  return new GpuDeviceLostError(
    `The GPU device was lost (${why}). The job was stopped; nothing was written. Retry: a new device will be created.`,
    info.reason,
  );
}
