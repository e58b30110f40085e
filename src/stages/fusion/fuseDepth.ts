/**
 * The fusion stage: views with depth -> volume bounds and resolution -> TSDF -> marching cubes -> cleaned mesh.
 * Resolution comes from the preset and the VRAM budget; an out-of-memory (budget or driver) halves it and retries.
 */
import { invertPose } from '../../core/camera';
import type { CaptureView } from '../../core/capture';
import { GpuOutOfMemoryError, InputError, throwIfAborted } from '../../core/errors';
import { removeSmallComponents, type Mesh } from '../../core/mesh';
import { formatBytes } from '../../gpu/vram';
import type { StageContext } from '../context';
import { createVolume, destroyVolume, extractMesh, FUSION_FLOATER_FILTER, fusionBytes, HULL_FILL_COST, integrateViews, MARCHING_CUBES_COST, meshFromRaw, viewsHaveMasks } from './fusion';
import type { FusionViewData, VolumeSpec } from './types';

export type FusionPreset = 'draft' | 'standard' | 'high';

/** Grid points along the longest side of the volume. */
export const VOXELS_PER_SIDE: Record<FusionPreset, number> = { draft: 128, standard: 256, high: 512 };

/** Truncation distance in voxels. */
export const TRUNCATION_VOXELS = 4;

export interface FusionOptions {
  preset: FusionPreset;
  /** World-space crop box; default from the depth maps. */
  bounds?: { min: [number, number, number]; max: [number, number, number] };
  /** Override grid points along the longest side. */
  voxelsPerSide?: number;
  /** Silhouette fill (fusion.ts integrateViews); default: on when the views have masks. */
  hullFill?: boolean;
}

export interface FusionResult {
  mesh: Mesh;
  spec: VolumeSpec;
  stats: { integrateMs: number; marchMs: number; cleanupMs: number; rawVertices: number; rawFaces: number; removedFaces: number; components: number; resolutionFallbacks: number };
}

/** Views as fusion reads them: depth in metres with -1 where the mask says background. */
export function fusionViewOf(view: CaptureView): FusionViewData {
  if (!view.depthMeters || !view.camFromWorld) throw new Error(`fusion: ${view.name} has no depth or pose`);
  const n = view.width * view.height;
  let depth = view.depthMeters;
  if (view.mask) {
    depth = new Float32Array(depth);
    for (let i = 0; i < n; i++) if (view.mask[i] === 0) depth[i] = -1;
  }
  const color = new Uint32Array(view.image.data.buffer, view.image.data.byteOffset, n);
  return { width: view.width, height: view.height, fx: view.K[0], fy: view.K[4], cx: view.K[2], cy: view.K[5], camFromWorld: view.camFromWorld, depth, color };
}

/** Robust bounds of the back-projected depth (0.5% / 99.5% per axis), with a margin. */
export function boundsFromDepth(views: FusionViewData[], stride = 4): { min: [number, number, number]; max: [number, number, number] } {
  const capacity = views.reduce((n, v) => n + Math.ceil(v.width / stride) * Math.ceil(v.height / stride), 0);
  const xs = new Float32Array(capacity), ys = new Float32Array(capacity), zs = new Float32Array(capacity);
  let count = 0;
  for (const v of views) {
    const w = invertPose(v.camFromWorld);
    for (let y = 0; y < v.height; y += stride) {
      const ry = (y - v.cy) / v.fy;
      for (let x = 0; x < v.width; x += stride) {
        const d = v.depth[y * v.width + x];
        if (d <= 0) continue;
        const cx = ((x - v.cx) / v.fx) * d, cy = ry * d;
        xs[count] = w[0] * cx + w[1] * cy + w[2] * d + w[3];
        ys[count] = w[4] * cx + w[5] * cy + w[6] * d + w[7];
        zs[count] = w[8] * cx + w[9] * cy + w[10] * d + w[11];
        count++;
      }
    }
  }
  if (count < 10) throw new InputError('The depth maps hold (almost) no valid depth: nothing to fuse.');
  const q = (a: Float32Array, f: number) => {
    const sorted = a.subarray(0, count).sort();
    return sorted[Math.min(count - 1, Math.max(0, Math.floor(f * (count - 1))))];
  };
  const min = [q(xs, 0.005), q(ys, 0.005), q(zs, 0.005)];
  const max = [xs[Math.floor(0.995 * (count - 1))], ys[Math.floor(0.995 * (count - 1))], zs[Math.floor(0.995 * (count - 1))]];
  const margin = 0.04 * Math.max(max[0] - min[0], max[1] - min[1], max[2] - min[2]);
  return { min: min.map((v) => v - margin) as [number, number, number], max: max.map((v) => v + margin) as [number, number, number] };
}

export function volumeSpecFor(bounds: { min: number[]; max: number[] }, voxelsPerSide: number): VolumeSpec {
  const extent = [0, 1, 2].map((k) => bounds.max[k] - bounds.min[k]);
  const voxelSize = Math.max(...extent) / (voxelsPerSide - 1);
  const dims = extent.map((e) => Math.max(2, Math.ceil(e / voxelSize - 1e-6) + 1)) as [number, number, number];
  return { dims, origin: [bounds.min[0], bounds.min[1], bounds.min[2]], voxelSize, truncation: TRUNCATION_VOXELS * voxelSize };
}

export async function fuseDepthMaps(views: CaptureView[], options: FusionOptions, ctx: StageContext): Promise<FusionResult> {
  const usable = views.filter((v) => v.depthMeters && v.camFromWorld && !v.heldOut);
  if (usable.length === 0) throw new InputError('No view has both a depth map and a camera pose: nothing to fuse.');
  const data = usable.map(fusionViewOf);
  const bounds = options.bounds ?? boundsFromDepth(data);
  let side = options.voxelsPerSide ?? VOXELS_PER_SIDE[options.preset];
  let fallbacks = 0;
  for (;;) {
    throwIfAborted(ctx.signal);
    const spec = volumeSpecFor(bounds, side);
    const voxels = spec.dims[0] * spec.dims[1] * spec.dims[2];
    const check = ctx.gpu.vram.checkVramAvailable(fusionBytes(voxels), voxels * 4);
    if (!check.available && side > 32) {
      ctx.warn(`A ${spec.dims.join('x')} volume needs ${formatBytes(fusionBytes(voxels))} (${check.reason}): using ${side >> 1} voxels per side instead of ${side}.`);
      side >>= 1;
      fallbacks++;
      continue;
    }
    try {
      const { mesh, stats } = await fuseAt(data, spec, ctx, options.hullFill ?? viewsHaveMasks(data));
      return { mesh, spec, stats: { ...stats, resolutionFallbacks: fallbacks } };
    } catch (error) {
      if (error instanceof GpuOutOfMemoryError && side > 32) {
        ctx.warn(`Out of GPU memory at ${spec.dims.join('x')} voxels (${error.message}): retrying at ${side >> 1} voxels per side.`);
        await ctx.scope.cleanup();
        side >>= 1;
        fallbacks++;
        continue;
      }
      throw error;
    }
  }
}

async function fuseAt(data: FusionViewData[], spec: VolumeSpec, ctx: StageContext, hullFill: boolean): Promise<{ mesh: Mesh; stats: Omit<FusionResult['stats'], 'resolutionFallbacks'> }> {
  const volume = await ctx.gpu.vram.guardOutOfMemory('the TSDF volume', () => createVolume(ctx, spec), (v) => destroyVolume(ctx, v));
  try {
    const t0 = performance.now();
    // Progress in proportion to the measured costs (fusion.ts): integration (+ hull fill), then marching cubes.
    const integrationCost = data.length + (hullFill ? HULL_FILL_COST : 0);
    const share = integrationCost / (integrationCost + MARCHING_CUBES_COST);
    await integrateViews(ctx, volume, data, null, { progressShare: share, hullFill });
    const t1 = performance.now();
    const raw = await extractMesh(ctx, volume, null, { progressRange: [share, 1] });
    const t2 = performance.now();
    const cleaned = removeSmallComponents(meshFromRaw(raw), FUSION_FLOATER_FILTER);
    const t3 = performance.now();
    const stats = {
      integrateMs: t1 - t0,
      marchMs: t2 - t1,
      cleanupMs: t3 - t2,
      rawVertices: raw.positions.length / 3,
      rawFaces: raw.indices.length / 3,
      removedFaces: cleaned.removedFaces,
      components: cleaned.keptComponents,
    };
    const { removedFaces: _r, components: _c, keptComponents: _k, ...mesh } = cleaned;
    return { mesh, stats };
  } finally {
    destroyVolume(ctx, volume);
  }
}
