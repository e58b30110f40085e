/**
 * Triangulation from n >= 2 views in normalised (undistorted, K^-1) coordinates: linear DLT (the nullvector of
 * the 4 x 4 normal matrix of the rows u P3 - P1, v P3 - P2), then Gauss-Newton on the reprojection error. The
 * checks the incremental reconstruction applies (cheirality, largest ray angle, reprojection in pixels) are here.
 * poses: camFromWorld 3 x 4 row-major (12 numbers per view), addressed through `views`.
 */
import { twoViewDepths } from './essential';
import { nullVector } from './linalg';

const A4 = new Float64Array(16);

/**
 * Triangulates one point seen in `count` views: views[k] indexes poses (12 per view), xn[2k], xn[2k+1] are the
 * normalised coordinates. Writes xyz into out and returns true, or false when the system is degenerate.
 */
export function triangulateDlt(poses: Float64Array, views: ArrayLike<number>, xn: ArrayLike<number>, count: number, out: Float64Array, refineIterations = 3): boolean {
  A4.fill(0);
  for (let k = 0; k < count; k++) {
    const o = views[k] * 12, u = xn[2 * k], v = xn[2 * k + 1];
    for (let row = 0; row < 2; row++) {
      const m = row === 0 ? u : v, r = row === 0 ? 0 : 4;
      const a0 = m * poses[o + 8] - poses[o + r], a1 = m * poses[o + 9] - poses[o + r + 1];
      const a2 = m * poses[o + 10] - poses[o + r + 2], a3 = m * poses[o + 11] - poses[o + r + 3];
      // Normalise each row so views at different depths weigh alike.
      const s = 1 / Math.max(1e-300, Math.hypot(a0, a1, a2, a3));
      const b = [a0 * s, a1 * s, a2 * s, a3 * s];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) A4[i * 4 + j] += b[i] * b[j];
    }
  }
  const X = nullVector(A4, 4, 4);
  if (Math.abs(X[3]) < 1e-12 * Math.hypot(X[0], X[1], X[2])) return false;
  out[0] = X[0] / X[3]; out[1] = X[1] / X[3]; out[2] = X[2] / X[3];
  if (!Number.isFinite(out[0] + out[1] + out[2])) return false;
  for (let it = 0; it < refineIterations; it++) if (!refinePointStep(poses, views, xn, count, out)) break;
  return true;
}

/** One Gauss-Newton step on the normalised reprojection error of a point; false when it cannot improve. */
export function refinePointStep(poses: Float64Array, views: ArrayLike<number>, xn: ArrayLike<number>, count: number, X: Float64Array): boolean {
  let h00 = 0, h01 = 0, h02 = 0, h11 = 0, h12 = 0, h22 = 0, g0 = 0, g1 = 0, g2 = 0;
  for (let k = 0; k < count; k++) {
    const o = views[k] * 12;
    const x = poses[o] * X[0] + poses[o + 1] * X[1] + poses[o + 2] * X[2] + poses[o + 3];
    const y = poses[o + 4] * X[0] + poses[o + 5] * X[1] + poses[o + 6] * X[2] + poses[o + 7];
    const z = poses[o + 8] * X[0] + poses[o + 9] * X[1] + poses[o + 10] * X[2] + poses[o + 11];
    if (z <= 1e-12) return false;
    const iz = 1 / z;
    const ru = x * iz - xn[2 * k], rv = y * iz - xn[2 * k + 1];
    // d(x/z)/dX = (R0 - (x/z) R2) / z
    const j0 = (poses[o] - x * iz * poses[o + 8]) * iz, j1 = (poses[o + 1] - x * iz * poses[o + 9]) * iz, j2 = (poses[o + 2] - x * iz * poses[o + 10]) * iz;
    const k0 = (poses[o + 4] - y * iz * poses[o + 8]) * iz, k1 = (poses[o + 5] - y * iz * poses[o + 9]) * iz, k2 = (poses[o + 6] - y * iz * poses[o + 10]) * iz;
    h00 += j0 * j0 + k0 * k0; h01 += j0 * j1 + k0 * k1; h02 += j0 * j2 + k0 * k2;
    h11 += j1 * j1 + k1 * k1; h12 += j1 * j2 + k1 * k2; h22 += j2 * j2 + k2 * k2;
    g0 += j0 * ru + k0 * rv; g1 += j1 * ru + k1 * rv; g2 += j2 * ru + k2 * rv;
  }
  const c00 = h11 * h22 - h12 * h12, c01 = h02 * h12 - h01 * h22, c02 = h01 * h12 - h02 * h11;
  const det = h00 * c00 + h01 * c01 + h02 * c02;
  if (!(Math.abs(det) > 1e-300)) return false;
  const c11 = h00 * h22 - h02 * h02, c12 = h01 * h02 - h00 * h12, c22 = h00 * h11 - h01 * h01;
  const d0 = -(c00 * g0 + c01 * g1 + c02 * g2) / det, d1 = -(c01 * g0 + c11 * g1 + c12 * g2) / det, d2 = -(c02 * g0 + c12 * g1 + c22 * g2) / det;
  X[0] += d0; X[1] += d1; X[2] += d2;
  return Math.abs(d0) + Math.abs(d1) + Math.abs(d2) > 1e-12 * (Math.abs(X[0]) + Math.abs(X[1]) + Math.abs(X[2]));
}

/** Depth of X in view v (z in camera coordinates). */
export function depthIn(poses: Float64Array, v: number, X: ArrayLike<number>): number {
  const o = v * 12;
  return poses[o + 8] * X[0] + poses[o + 9] * X[1] + poses[o + 10] * X[2] + poses[o + 11];
}

/** Camera centre -R^T t of view v into out[3*k..]. */
export function cameraCentreOf(poses: ArrayLike<number>, v: number, out: Float64Array, k = 0): void {
  const o = v * 12;
  for (let i = 0; i < 3; i++) out[3 * k + i] = -(poses[o + i] * poses[o + 3] + poses[o + 4 + i] * poses[o + 7] + poses[o + 8 + i] * poses[o + 11]);
}

/** Largest angle (degrees) between the rays from the given camera centres (3 per view) to X. */
export function maxRayAngleDeg(centres: Float64Array, count: number, X: ArrayLike<number>): number {
  let minCos = 1;
  for (let a = 0; a < count; a++) {
    const ax = X[0] - centres[3 * a], ay = X[1] - centres[3 * a + 1], az = X[2] - centres[3 * a + 2];
    const na = Math.hypot(ax, ay, az);
    for (let b = a + 1; b < count; b++) {
      const bx = X[0] - centres[3 * b], by = X[1] - centres[3 * b + 1], bz = X[2] - centres[3 * b + 2];
      const c = (ax * bx + ay * by + az * bz) / (na * Math.hypot(bx, by, bz));
      if (c < minCos) minCos = c;
    }
  }
  return (Math.acos(Math.max(-1, Math.min(1, minCos))) * 180) / Math.PI;
}

/**
 * Triangulation angle (degrees) of a two-view correspondence in normalised coordinates under X2 = R X1 + t, or -1
 * when the midpoint lies behind either camera.
 */
export function twoViewAngleFree(R: ArrayLike<number>, t: ArrayLike<number>, u1: number, v1: number, u2: number, v2: number): number {
  const d = twoViewDepths(R, t, u1, v1, u2, v2);
  if (!d || d[0] <= 0 || d[1] <= 0) return -1;
  const X = [d[0] * u1, d[0] * v1, d[0]];
  // Camera 2 centre in camera 1's frame: -R^T t.
  const c2 = [0, 1, 2].map((i) => -(R[i] * t[0] + R[3 + i] * t[1] + R[6 + i] * t[2]));
  const b = [X[0] - c2[0], X[1] - c2[1], X[2] - c2[2]];
  const cos = (X[0] * b[0] + X[1] * b[1] + X[2] * b[2]) / (Math.hypot(X[0], X[1], X[2]) * Math.hypot(b[0], b[1], b[2]));
  return (Math.acos(Math.max(-1, Math.min(1, cos))) * 180) / Math.PI;
}
