import { describe, expect, it } from 'vitest';
import { GpuOutOfMemoryError } from '../../src/core/errors';
import { DEFAULT_BUDGET_BYTES, textureByteSize, VramManager } from '../../src/gpu/vram';
import { FakeDevice, LIMITS } from './fakeGpu';

const STORAGE = 0x80;

describe('VramManager', () => {
  it('accounts live and peak bytes per owner, and cleanup destroys only that owner', async () => {
    const device = new FakeDevice();
    const vram = new VramManager(device, LIMITS, { budgetBytes: 10_000 });
    const a1 = vram.createBuffer('a', { label: 'a1', size: 1000, usage: STORAGE });
    vram.createBuffer('a', { label: 'a2', size: 500, usage: STORAGE });
    const b1 = vram.createBuffer('b', { label: 'b1', size: 2000, usage: STORAGE });
    expect(vram.getVramUsage()).toMatchObject({ liveBytes: 3500, peakBytes: 3500, ownBytes: 3500 });
    expect(vram.getVramUsage().owners).toEqual({
      a: { liveBytes: 1500, peakBytes: 1500, resources: 2 },
      b: { liveBytes: 2000, peakBytes: 2000, resources: 1 },
    });
    vram.destroy(a1);
    expect((a1 as unknown as { destroyed: boolean }).destroyed).toBe(true);
    expect(vram.getVramUsage().liveBytes).toBe(2500);
    const result = await vram.cleanupGpuMemory('a');
    // Cleanup does not wait for the queue (a cancel must not wait for the submission in flight).
    expect(device.queueWaits).toBe(0);
    expect(result).toMatchObject({ liveBytes: 2000, peakBytes: 3500, ownerLiveBytes: 0, ownerPeakBytes: 1500 });
    expect(result.destroyed.buffers).toBe(1);
    expect((b1 as unknown as { destroyed: boolean }).destroyed).toBe(false);
    const all = await vram.cleanupGpuMemory();
    expect(all.liveBytes).toBe(0);
    expect(all.peakBytes).toBe(3500);
    expect(device.created.every((r) => r.destroyed)).toBe(true);
    expect(vram.getVramUsage().owners).toEqual({});
  });

  it('disposes ORT tensors before buffers and releases sessions last', async () => {
    const device = new FakeDevice();
    const vram = new VramManager(device, LIMITS);
    const order: string[] = [];
    vram.registerOrtSession('m', { release: async () => void order.push('session') }, 's');
    vram.createBuffer('m', { label: 'buf', size: 64, usage: STORAGE });
    vram.registerOrtTensor('m', { dispose: () => void order.push('tensor') }, 't');
    const origDestroy = device.created[0].destroy;
    device.created[0].destroy = () => {
      order.push('buffer');
      origDestroy();
    };
    const result = await vram.cleanupGpuMemory('m');
    expect(order).toEqual(['tensor', 'buffer', 'session']);
    expect(result.destroyed).toEqual({ buffers: 1, textures: 0, tensors: 1, sessions: 1 });
    expect(result.liveBytes).toBe(0);
  });

  it('refuses allocations over the budget or maxBufferSize with a typed error', () => {
    const vram = new VramManager(new FakeDevice(), LIMITS, { budgetBytes: 1000 });
    vram.createBuffer('a', { label: 'x', size: 800, usage: STORAGE });
    expect(() => vram.createBuffer('a', { label: 'y', size: 300, usage: STORAGE })).toThrow(GpuOutOfMemoryError);
    const big = new VramManager(new FakeDevice(), LIMITS, { budgetBytes: 1e12 });
    expect(() => big.createBuffer('a', { label: 'huge', size: 2 ** 31, usage: STORAGE })).toThrow(/maxBufferSize/);
  });

  it('answers checkVramAvailable from the budget, live bytes and limits', () => {
    const vram = new VramManager(new FakeDevice(), LIMITS, { budgetBytes: 1000 });
    vram.createBuffer('a', { label: 'x', size: 600, usage: STORAGE });
    expect(vram.checkVramAvailable(300)).toMatchObject({ available: true, liveBytes: 600, budgetBytes: 1000, maxBufferSize: LIMITS.maxBufferSize, maxStorageBufferBindingSize: LIMITS.maxStorageBufferBindingSize });
    const no = vram.checkVramAvailable(500);
    expect(no.available).toBe(false);
    expect(no.reason).toMatch(/budget/);
    expect(vram.checkVramAvailable(10, 2 ** 31).reason).toMatch(/maxBufferSize/);
  });

  it('derives the default budget from memory heaps when known', () => {
    expect(new VramManager(new FakeDevice(), LIMITS).budgetBytes).toBe(DEFAULT_BUDGET_BYTES);
    expect(new VramManager(new FakeDevice(), { ...LIMITS, deviceLocalHeapBytes: 10_000 }).budgetBytes).toBe(8000);
  });

  it('counts allocations others make on an instrumented device as external, until they destroy them', () => {
    const device = new FakeDevice();
    const vram = new VramManager(device, LIMITS);
    vram.instrumentDevice();
    const foreign = device.createBuffer({ label: 'ort', size: 4096, usage: STORAGE });
    vram.createBuffer('m', { label: 'own', size: 100, usage: STORAGE });
    expect(vram.getVramUsage()).toMatchObject({ liveBytes: 4196, ownBytes: 100, externalBytes: 4096, externalPeakBytes: 4096 });
    foreign.destroy();
    expect(vram.getVramUsage()).toMatchObject({ liveBytes: 100, externalBytes: 0, peakBytes: 4196 });
  });

  it('turns a driver out-of-memory into GpuOutOfMemoryError and cleans up', async () => {
    const device = new FakeDevice();
    const vram = new VramManager(device, LIMITS);
    device.oomNext = true;
    let cleaned = false;
    await expect(
      vram.guardOutOfMemory('volume', () => vram.createBuffer('m', { label: 'vol', size: 64, usage: STORAGE }), (b) => {
        vram.destroy(b);
        cleaned = true;
      }),
    ).rejects.toBeInstanceOf(GpuOutOfMemoryError);
    expect(cleaned).toBe(true);
    expect(vram.getVramUsage().liveBytes).toBe(0);
  });

  it('sizes textures with mips, layers and samples', () => {
    expect(textureByteSize({ size: [4, 4], format: 'rgba8unorm', usage: 0 })).toBe(64);
    expect(textureByteSize({ size: { width: 4, height: 4 }, format: 'r32float', usage: 0, mipLevelCount: 3 })).toBe(4 * (16 + 4 + 1));
    expect(textureByteSize({ size: [8, 8, 8], format: 'r8unorm', usage: 0, dimension: '3d', mipLevelCount: 2 })).toBe(512 + 64);
    expect(textureByteSize({ size: [2, 2, 3], format: 'rgba32float', usage: 0, sampleCount: 1 })).toBe(2 * 2 * 3 * 16);
  });
});
