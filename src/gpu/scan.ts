/**
 * GPU exclusive prefix sum over u32 (in place), with the grand total written to a 4-byte buffer. Multi-level:
 * blocks of 512 are scanned in workgroup memory, block totals scanned recursively, then offsets added back.
 * Buffers for the levels are created once per size through the VRAM scope and reused (`dispose()` frees them).
 */
import scanAddWgsl from './kernels/scan_add.wgsl?raw';
import scanBlocksWgsl from './kernels/scan_blocks.wgsl?raw';
import { getComputePipeline, splitWorkgroups } from './kernel';
import type { GpuTimer } from './timer';
import type { VramScope } from './vram';

export const SCAN_BLOCK = 512;

export class PrefixSum {
  /** Holds the total after `encode`. */
  readonly total: GPUBuffer;
  private readonly levels: { buffer: GPUBuffer; count: number; params: GPUBuffer }[] = [];
  private readonly device: GPUDevice;
  private readonly scope: VramScope;
  private readonly maxCount: number;

  constructor(device: GPUDevice, scope: VramScope, maxCount: number, label = 'scan') {
    this.device = device;
    this.scope = scope;
    this.maxCount = maxCount;
    this.total = scope.createBuffer({ label: `${label}:total`, size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    let count = Math.ceil(maxCount / SCAN_BLOCK);
    let level = 1;
    while (count > 1) {
      this.levels.push({
        buffer: scope.createBuffer({ label: `${label}:sums${level}`, size: Math.max(4, count * 4), usage: GPUBufferUsage.STORAGE }),
        count,
        params: scope.createBuffer({ label: `${label}:params${level}`, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
      });
      count = Math.ceil(count / SCAN_BLOCK);
      level++;
    }
    this.levels.unshift({ buffer: this.total, count: 0, params: scope.createBuffer({ label: `${label}:params0`, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }) });
  }

  /** Encodes the scan of the first `count` elements of `data` (count <= maxCount). */
  encode(encoder: GPUCommandEncoder, data: GPUBuffer, count: number, timer?: GpuTimer | null): void {
    if (count > this.maxCount) throw new Error(`scan: ${count} elements exceed the ${this.maxCount} it was built for`);
    const device = this.device;
    const blocks = getComputePipeline(device, { label: 'scan.blocks', code: scanBlocksWgsl });
    const add = getComputePipeline(device, { label: 'scan.add', code: scanAddWgsl });
    const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
    // Level chain: data (count) -> sums1 (ceil(count/512)) -> ... -> total (1).
    const chain: { buffer: GPUBuffer; count: number; params: GPUBuffer }[] = [];
    let n = count;
    chain.push({ buffer: data, count: n, params: this.levels[0].params });
    let li = 1;
    while (n > SCAN_BLOCK) {
      n = Math.ceil(n / SCAN_BLOCK);
      const level = this.levels[li++];
      chain.push({ buffer: level.buffer, count: n, params: level.params });
    }
    for (const step of chain) this.device.queue.writeBuffer(step.params, 0, new Uint32Array([Math.max(1, step.count), 0, 0, 0]));
    const pass = encoder.beginComputePass({ label: 'scan', timestampWrites: timer?.timestampWrites('scan') });
    for (let k = 0; k < chain.length; k++) {
      const sums = k + 1 < chain.length ? chain[k + 1].buffer : this.total;
      pass.setPipeline(blocks);
      pass.setBindGroup(0, device.createBindGroup({
        label: 'scan.blocks',
        layout: blocks.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: chain[k].buffer } }, { binding: 1, resource: { buffer: sums } }, { binding: 2, resource: { buffer: chain[k].params } }],
      }));
      pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(Math.max(1, chain[k].count) / SCAN_BLOCK), maxDim));
    }
    for (let k = chain.length - 2; k >= 0; k--) {
      pass.setPipeline(add);
      pass.setBindGroup(0, device.createBindGroup({
        label: 'scan.add',
        layout: add.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: chain[k].buffer } }, { binding: 1, resource: { buffer: chain[k + 1].buffer } }, { binding: 2, resource: { buffer: chain[k].params } }],
      }));
      pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(chain[k].count / SCAN_BLOCK), maxDim));
    }
    pass.end();
    if (count === 0) encoder.clearBuffer(this.total);
  }

  dispose(): void {
    for (const level of this.levels) {
      if (level.buffer !== this.total) this.scope.destroy(level.buffer);
      this.scope.destroy(level.params);
    }
    this.scope.destroy(this.total);
  }
}
