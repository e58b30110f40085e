/**
 * GPU time per labelled pass with timestamp queries (when the device has 'timestamp-query'). Passes created with
 * `timestampWrites(label)` are timed; `read()` resolves the queries once and sums milliseconds per label.
 */
import type { VramScope } from './vram';

export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private readonly labels: string[] = [];
  private readonly resolve: GPUBuffer;
  private readonly capacity: number;

  private constructor(private readonly device: GPUDevice, private readonly scope: VramScope, capacity: number) {
    this.capacity = capacity;
    this.querySet = device.createQuerySet({ label: 'timer', type: 'timestamp', count: capacity * 2 });
    this.resolve = scope.createBuffer({ label: 'timer:resolve', size: capacity * 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** A timer, or null when the device cannot time passes. */
  static create(device: GPUDevice, scope: VramScope, capacity = 256): GpuTimer | null {
    return device.features.has('timestamp-query') ? new GpuTimer(device, scope, capacity) : null;
  }

  timestampWrites(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) return undefined;
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Milliseconds per label (summed over passes of the same label). */
  async read(): Promise<Record<string, number>> {
    const n = this.labels.length;
    const out: Record<string, number> = {};
    if (n === 0) return out;
    const staging = this.scope.createBuffer({ label: 'timer:read', size: n * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = this.device.createCommandEncoder({ label: 'timer' });
      encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
      encoder.copyBufferToBuffer(this.resolve, 0, staging, 0, n * 16);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const ticks = new BigUint64Array(staging.getMappedRange().slice(0));
      this.labels.forEach((label, i) => {
        const ms = Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6;
        out[label] = (out[label] ?? 0) + (Number.isFinite(ms) && ms >= 0 ? ms : 0);
      });
      return out;
    } finally {
      this.scope.destroy(staging);
    }
  }

  dispose(): void {
    this.querySet.destroy();
    this.scope.destroy(this.resolve);
  }
}
