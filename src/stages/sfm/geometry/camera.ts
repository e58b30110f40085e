/**
 * The SfM camera model: pinhole with one focal length f (square pixels), principal point (cx, cy) and radial
 * distortion k1, k2 (COLMAP RADIAL): u = f d(r^2) x + cx with x = X/Z, d = 1 + k1 r^2 + k2 r^4.
 * Intrinsics are 5 numbers [f, cx, cy, k1, k2].
 */

export const INTRINSICS_STRIDE = 5;

/** Normalised, undistorted coordinates of a pixel (fixed-point iteration on the radial model). */
export function pixelToNormalised(intr: ArrayLike<number>, o: number, u: number, v: number, out: Float64Array, k = 0): void {
  const f = intr[o], cx = intr[o + 1], cy = intr[o + 2], k1 = intr[o + 3], k2 = intr[o + 4];
  const xd = (u - cx) / f, yd = (v - cy) / f;
  let x = xd, y = yd;
  if (k1 !== 0 || k2 !== 0) {
    for (let it = 0; it < 20; it++) {
      const r2 = x * x + y * y;
      const d = 1 + k1 * r2 + k2 * r2 * r2;
      const nx = xd / d, ny = yd / d;
      const delta = Math.abs(nx - x) + Math.abs(ny - y);
      x = nx; y = ny;
      if (delta < 1e-12) break;
    }
  }
  out[2 * k] = x;
  out[2 * k + 1] = y;
}

/**
 * Squared pixel reprojection error of world point X in a camera (pose 12 numbers at po, intrinsics at io);
 * Infinity when the point is behind the camera.
 */
export function reprojectionError2(pose: ArrayLike<number>, po: number, intr: ArrayLike<number>, io: number, X: ArrayLike<number>, xo: number, u: number, v: number): number {
  const x = pose[po] * X[xo] + pose[po + 1] * X[xo + 1] + pose[po + 2] * X[xo + 2] + pose[po + 3];
  const y = pose[po + 4] * X[xo] + pose[po + 5] * X[xo + 1] + pose[po + 6] * X[xo + 2] + pose[po + 7];
  const z = pose[po + 8] * X[xo] + pose[po + 9] * X[xo + 1] + pose[po + 10] * X[xo + 2] + pose[po + 11];
  if (z <= 0) return Infinity;
  const xn = x / z, yn = y / z;
  const r2 = xn * xn + yn * yn;
  const d = 1 + intr[io + 3] * r2 + intr[io + 4] * r2 * r2;
  const du = intr[io] * d * xn + intr[io + 1] - u, dv = intr[io] * d * yn + intr[io + 2] - v;
  return du * du + dv * dv;
}
