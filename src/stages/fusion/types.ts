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
