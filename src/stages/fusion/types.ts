/** Fusion inputs and the volume description shared by the WGSL kernels and the CPU references. */

export interface VolumeSpec {
  /** Grid points per axis. */
  dims: [number, number, number];
  /** World position of grid point (0, 0, 0). */
  origin: [number, number, number];
  voxelSize: number;
  /** Truncation distance in world units. */
  truncation: number;
}

/**
 * One view as fusion needs it: depth in metres at the working size (0 = missing, -1 = background by mask; fusion turns
 * background into minus the distance to the silhouette in pixels itself, see silhouette.ts).
 */
export interface FusionViewData {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  camFromWorld: number[];
  depth: Float32Array;
  /** RGBA8 packed little-endian (r | g << 8 | b << 16 | a << 24). */
  color: Uint32Array;
}

/**
 * FREE_SPACE_RULE: a voxel in front of a measured depth by more than the truncation (free space) counts this much of a
 * vote (inside the band, behind the surface and from masks: a full vote). With full votes, each depth that is too far
 * writes +1 over the true surface while depths that are too near say nothing there (beyond -truncation is skipped), so
 * sparse, noisy depth pushes the fused surface back. 7-Scenes kitchen at draft with its sensor depth in 8x8 blocks,
 * 15% kept, held-out mesh depth / truth (bench/kitchen/corrupt-depth.ts, docs/benchmarks.md session 14): 3% noise
 * 1.007 -> 1.002 (AbsRel 0.0181 both), a quarter of the blocks 0.8-1.2x off 1.013 -> 1.004 (AbsRel 0.0229 -> 0.0200);
 * weight 0.05 went to 0.999 / 0.998 but cost the 3% case AbsRel 0.0215 (free space no longer carves noise).
 */
export const FREE_SPACE_WEIGHT = 0.25;
