/**
 * Copies GPU buffers back to the CPU through staging buffers owned by the VRAM manager (destroyed in `finally`).
 * Each readback costs a round trip (~4-5 ms even on a fast GPU): read once per stage, not per item.
 */
import type { VramScope } from './vram';

export async function readBuffer(
  device: GPUDevice,
  scope: VramScope,
  source: GPUBuffer,
  byteOffset = 0,
  byteLength = source.size - byteOffset,
): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = scope.createBuffer({
    label: `readback:${source.label}`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: `readback:${source.label}` });
    encoder.copyBufferToBuffer(source, byteOffset, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, byteLength);
  } finally {
    scope.destroy(staging);
  }
}

/** Creates a storage buffer holding `data` (padded to 4 bytes). */
export function uploadBuffer(
  device: GPUDevice,
  scope: VramScope,
  label: string,
  data: ArrayBufferView,
  usage: GPUBufferUsageFlags = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
): GPUBuffer {
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buffer = scope.createBuffer({ label, size, usage: usage | GPUBufferUsage.COPY_DST });
  if (data.byteLength % 4 === 0) {
    device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  } else {
    const padded = new Uint8Array(size);
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    device.queue.writeBuffer(buffer, 0, padded);
  }
  return buffer;
}

/** Reads several buffers back with one staging buffer, one submit and one map (one GPU round trip, not one each). */
export async function readBuffers(device: GPUDevice, scope: VramScope, sources: GPUBuffer[]): Promise<ArrayBuffer[]> {
  const sizes = sources.map((b) => Math.ceil(b.size / 4) * 4);
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += Math.ceil(size / 256) * 256;
  }
  const staging = scope.createBuffer({ label: `readback:${sources.map((b) => b.label).join('+')}`, size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'readback:several' });
    sources.forEach((source, k) => encoder.copyBufferToBuffer(source, 0, staging, offsets[k], sizes[k]));
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const mapped = staging.getMappedRange();
    return sources.map((source, k) => mapped.slice(offsets[k], offsets[k] + source.size));
  } finally {
    scope.destroy(staging);
  }
}
