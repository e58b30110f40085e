/**
 * Small-hole filling of filtered depth maps, before fusion. The consistency filter keeps a depth only where two
 * sources confirm it, which on weakly textured surfaces (plaster, plastic) leaves a speckle: on the temple at draft
 * 40-50% of the object's pixels survive, scattered, and the TSDF then has too few observed voxels next to each other for
 * marching cubes (which needs all 8 corners of a cube observed), so the mesh is full of holes although most of the
 * surface has depth near it. A missing pixel is filled only when it is enclosed: along at least `minAxes` of the four
 * axes through it (horizontal, vertical, two diagonals) a kept depth lies on BOTH sides within `radius` pixels, the two
 * ends of each such axis differ by at most `maxSlope` (relative depth per pixel: no interpolation across an occlusion
 * edge), and the axes' linear interpolations agree within `agreement`. Their mean is the filled depth (exact on a
 * plane seen along an axis). Silhouettes do not grow: outside a straight edge no axis has depth on both sides.
 */
import { throwIfAborted } from '../../core/errors';

export interface HoleFillOptions {
  /** Search distance along each axis, in pixels of the depth map. */
  radius: number;
  /** Axes (of 4) that must enclose the pixel. */
  minAxes: number;
  /** Largest depth change per pixel between an axis' two ends, relative to their mean. */
  maxSlope: number;
  /** Largest relative spread of the enclosing axes' interpolated depths. */
  agreement: number;
  /** Passes; each one can use what the previous one filled (holes up to ~2 * radius * iterations pixels wide). */
  iterations: number;
}

export const DEFAULT_HOLE_FILL: HoleFillOptions = { radius: 3, minAxes: 2, maxSlope: 0.01, agreement: 0.01, iterations: 2 };

const AXES: [number, number][] = [[1, 0], [0, 1], [1, 1], [1, -1]];

/** Fills enclosed holes of `count` depth maps of width x height (0 = none) in place; returns the pixels filled. */
export function fillDepthHoles(depths: Float32Array, count: number, width: number, height: number, options: HoleFillOptions = DEFAULT_HOLE_FILL, signal?: AbortSignal): number {
  const { radius, minAxes, maxSlope, agreement, iterations } = options;
  const n = width * height;
  let filled = 0;
  const values: number[] = [];
  for (let k = 0; k < count; k++) {
    // seconds of CPU work at high with 100 views: Cancel is honoured between views
    throwIfAborted(signal);
    for (let pass = 0; pass < iterations; pass++) {
      const src = depths.slice(k * n, (k + 1) * n);
      let changed = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
        if (src[y * width + x] > 0) continue;
        values.length = 0;
        for (const [dx, dy] of AXES) {
          // The nearest kept depth on each side of the pixel along this axis.
          let d1 = 0, k1 = 0, d2 = 0, k2 = 0;
          for (let s = 1; s <= radius && !d1; s++) {
            const xx = x + s * dx, yy = y + s * dy;
            if (xx < 0 || yy < 0 || xx >= width || yy >= height) break;
            if (src[yy * width + xx] > 0) { d1 = src[yy * width + xx]; k1 = s; }
          }
          if (!d1) continue;
          for (let s = 1; s <= radius && !d2; s++) {
            const xx = x - s * dx, yy = y - s * dy;
            if (xx < 0 || yy < 0 || xx >= width || yy >= height) break;
            if (src[yy * width + xx] > 0) { d2 = src[yy * width + xx]; k2 = s; }
          }
          if (!d2) continue;
          if (Math.abs(d1 - d2) > maxSlope * (k1 + k2) * 0.5 * (d1 + d2)) continue;
          values.push((d1 * k2 + d2 * k1) / (k1 + k2));
        }
        if (values.length < minAxes) continue;
        let lo = Infinity, hi = 0, sum = 0;
        for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v; }
        const mean = sum / values.length;
        if (hi - lo > agreement * mean) continue;
        depths[k * n + y * width + x] = mean;
        changed++;
      }
      filled += changed;
      if (!changed) break;
    }
  }
  return filled;
}
