/**
 * Copies GPU buffers back to the CPU through staging buffers owned by the VRAM manager (destroyed in `finally`).
 * Each readback costs a round trip (~4-5 ms even on a fast GPU): read once per stage, not per item.
 *
 * Every wait for the GPU here is raced against the job's AbortSignal (the scope's, or one passed in): a cancel or a
 * lost device rejects at once instead of after the GPU work in flight (on SwiftShader one big submission can take
 * seconds). The callers' `finally` blocks then destroy their buffers while that work may still run: WebGPU allows
 * this and frees the memory once the GPU is done with it. Long kernels are split into short submissions (see
 * SubmissionPacer) so that the work left in flight after a cancel is small.
 */
import { CancelledError, WebReconError } from '../core/errors';
import type { VramScope } from './vram';

/** The error an aborted signal stands for: its reason when that is one of ours (device lost), else a cancel. */
export function abortError(signal: AbortSignal): WebReconError {
  const reason: unknown = signal.reason;
  return reason instanceof WebReconError ? reason : new CancelledError();
}

/**
 * Settles like `promise`, or rejects with `abortError(signal)` as soon as the signal fires (at once if it already
 * has). The promise itself keeps running; a later rejection of it (a map aborted by destroy()) is swallowed.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits for the queue's submitted work, or rejects as soon as `signal` fires. */
export function gpuDone(device: GPUDevice, signal: AbortSignal | null | undefined): Promise<void> {
  return abortable(device.queue.onSubmittedWorkDone(), signal);
}

/**
 * Keeps at most `depth` submissions in flight: `submit` waits (abortably) for the submission `depth` back to finish
 * before returning. Used for work split into slabs, so that the GPU never holds more than a couple of short
 * submissions (what a cancel has to wait for before the GPU is free) while the CPU still keeps it busy.
 */
export class SubmissionPacer {
  private readonly pending: Promise<void>[] = [];
  constructor(
    private readonly device: GPUDevice,
    private readonly signal: AbortSignal | null | undefined,
    private readonly depth = 2,
  ) {}

  async submit(commands: GPUCommandBuffer[]): Promise<void> {
    if (this.signal?.aborted) throw abortError(this.signal);
    this.device.queue.submit(commands);
    const done = this.device.queue.onSubmittedWorkDone();
    done.catch(() => undefined); // left unawaited after an abort
    this.pending.push(done);
    while (this.pending.length > this.depth) await abortable(this.pending.shift()!, this.signal);
  }

  /** Waits for everything submitted through this pacer. */
  async drain(): Promise<void> {
    while (this.pending.length) await abortable(this.pending.shift()!, this.signal);
  }
}

export async function readBuffer(
  device: GPUDevice,
  scope: VramScope,
  source: GPUBuffer,
  byteOffset = 0,
  byteLength = source.size - byteOffset,
  signal: AbortSignal | null | undefined = scope.signal,
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
    await abortable(staging.mapAsync(GPUMapMode.READ), signal);
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
export async function readBuffers(device: GPUDevice, scope: VramScope, sources: GPUBuffer[], signal: AbortSignal | null | undefined = scope.signal): Promise<ArrayBuffer[]> {
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
    await abortable(staging.mapAsync(GPUMapMode.READ), signal);
    const mapped = staging.getMappedRange();
    return sources.map((source, k) => mapped.slice(offsets[k], offsets[k] + source.size));
  } finally {
    scope.destroy(staging);
  }
}
