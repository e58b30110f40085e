/**
 * Fusion kernel benchmark (inside the worker, on the shared device): `views` synthetic depth maps of
 * width x height integrated into a voxels^3 volume, then marching cubes. GPU time from timestamp queries (median of
 * `repeats` after a warm-up), wall time around each phase, and the VRAM manager's peak.
 */
import type { GpuContext } from '../gpu/device';
import { GpuTimer } from '../gpu/timer';
import type { StageContext } from '../stages/context';
import { createVolume, destroyVolume, extractMesh, fusionBytes, integrateViews } from '../stages/fusion/fusion';
import type { VolumeSpec } from '../stages/fusion/types';
import { sphereViews } from './kernelChecks';

export interface FusionBenchSpec {
  views: number;
  size: [number, number];
  voxels: number;
  repeats?: number;
}

export async function benchmarkFusion(gpu: GpuContext, spec: FusionBenchSpec): Promise<Record<string, unknown>> {
  const scope = gpu.vram.scope('bench:fusion');
  const ctx: StageContext = { gpu, scope, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined };
  const views = sphereViews(spec.views, spec.size[0], spec.size[1]);
  const n = spec.voxels;
  const volumeSpec: VolumeSpec = { dims: [n, n, n], origin: [0, 0, 0], voxelSize: 1 / (n - 1), truncation: 4 / (n - 1) };
  gpu.vram.resetPeak();
  const runs: Record<string, number>[] = [];
  try {
    for (let r = 0; r < (spec.repeats ?? 5) + 1; r++) {
      const timer = GpuTimer.create(gpu.device, scope);
      const volume = createVolume(ctx, volumeSpec);
      try {
        const t0 = performance.now();
        await integrateViews(ctx, volume, views, timer);
        const t1 = performance.now();
        const mesh = await extractMesh(ctx, volume, timer);
        const t2 = performance.now();
        const gpuMs = timer ? await timer.read() : {};
        if (r > 0) runs.push({ ...prefix(gpuMs, 'gpu.'), 'wall.integrate': t1 - t0, 'wall.marchingCubes': t2 - t1, vertices: mesh.positions.length / 3, triangles: mesh.indices.length / 3 });
      } finally {
        destroyVolume(ctx, volume);
        timer?.dispose();
      }
    }
    const median: Record<string, number> = {};
    for (const key of Object.keys(runs[0] ?? {})) {
      const values = runs.map((r) => r[key]).sort((a, b) => a - b);
      median[key] = values[Math.floor(values.length / 2)];
    }
    const voxelsTotal = n * n * n;
    // Bytes the integration kernel must move at least: volume read + write (12 B each way) per batch.
    const batches = Math.ceil(spec.views / 8);
    const integrateBytes = voxelsTotal * 24 * batches;
    return {
      spec,
      median,
      runs,
      integrateMinBytes: integrateBytes,
      integrateTBps: median['gpu.integrate'] ? integrateBytes / (median['gpu.integrate'] / 1000) / 1e12 : null,
      estimatedFusionBytes: fusionBytes(voxelsTotal),
      vramPeakBytes: gpu.vram.getVramUsage().peakBytes,
      adapter: gpu.summary.description || gpu.summary.architecture,
    };
  } finally {
    await scope.cleanup();
  }
}

function prefix(record: Record<string, number>, p: string): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [p + k, v]));
}
