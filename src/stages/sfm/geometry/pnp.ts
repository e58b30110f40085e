/**
 * Absolute pose from 2D-3D correspondences.
 * - Known focal: P3P (Grunert's distance equations; the two conics in the depth ratios u = l2/l1, v = l3/l1 are
 *   intersected through their Sylvester resultant, a quartic in v), then absolute orientation of the three
 *   camera-frame points, inside LO-RANSAC on the pixel reprojection error, then Levenberg-Marquardt on the pose.
 * - Uncertain focal: the 6-point DLT for the full projection matrix (in principal-point-centred pixels), RQ
 *   decomposition gives f (mean of fx, fy), R, t; LO-RANSAC with the same pixel error; then Levenberg-Marquardt
 *   on pose and focal. Chosen over P4Pf for its simplicity; the nonlinear step removes the DLT's bias.
 */
import { pixelToNormalised } from './camera';
import { angleAxisToRotation, mul3, nearestRotation, nullVector, polyMul, polySub, realRoots, solveLinear } from './linalg';
import { loRansac } from './ransac';

export interface AbsolutePose {
  /** camFromWorld 3x4 row-major. */
  pose: Float64Array;
  focal: number;
}

/** Up to four poses (12 numbers each) mapping the world points X (3 x 3) onto the unit bearings f (3 x 3). */
export function p3p(f: ArrayLike<number>, X: ArrayLike<number>): Float64Array[] {
  const c12 = f[0] * f[3] + f[1] * f[4] + f[2] * f[5];
  const c13 = f[0] * f[6] + f[1] * f[7] + f[2] * f[8];
  const c23 = f[3] * f[6] + f[4] * f[7] + f[5] * f[8];
  const d2 = (a: number, b: number) => (X[3 * a] - X[3 * b]) ** 2 + (X[3 * a + 1] - X[3 * b + 1]) ** 2 + (X[3 * a + 2] - X[3 * b + 2]) ** 2;
  const d12 = d2(0, 1), d13 = d2(0, 2), d23 = d2(1, 2);
  if (d12 < 1e-20 || d13 < 1e-20 || d23 < 1e-20) return [];
  // Quadratics in u with coefficients polynomial in v (low -> high):
  // d13 (u^2 - 2 c12 u + 1) - d12 (v^2 - 2 c13 v + 1) = 0
  // d23 (u^2 - 2 c12 u + 1) - d12 (u^2 + v^2 - 2 c23 u v) = 0
  const a1 = [d13], b1 = [-2 * c12 * d13], cc1 = [d13 - d12, 2 * c13 * d12, -d12];
  const a2 = [d23 - d12], b2 = [-2 * c12 * d23, 2 * c23 * d12], cc2 = [d23, 0, -d12];
  const p = polySub(polyMul(a1, cc2), polyMul(a2, cc1)); // a1 c2 - a2 c1
  const q = polySub(polyMul(a1, b2), polyMul(a2, b1)); // a1 b2 - a2 b1
  const r = polySub(polyMul(b1, cc2), polyMul(b2, cc1)); // b1 c2 - b2 c1
  const res = polySub(polyMul(p, p), polyMul(q, r));
  const out: Float64Array[] = [];
  const Pc = new Float64Array(9);
  for (const v of realRoots(res)) {
    if (v <= 0) continue;
    const pv = p[0] + p[1] * v + p[2] * v * v;
    const qv = q[0] + q[1] * v;
    if (Math.abs(qv) < 1e-14) continue;
    const u = -pv / qv; // from a2 Q1 - a1 Q2 = 0
    if (u <= 0) continue;
    const den = 1 + u * u - 2 * u * c12;
    if (den <= 0) continue;
    const l1 = Math.sqrt(d12 / den), l2 = u * l1, l3 = v * l1;
    for (let k = 0; k < 3; k++) { Pc[k] = l1 * f[k]; Pc[3 + k] = l2 * f[3 + k]; Pc[6 + k] = l3 * f[6 + k]; }
    const pose = absoluteOrientation(X, Pc, 3);
    if (pose) out.push(pose);
  }
  return out;
}

/** Rigid transform (camFromWorld) with P_i ≈ R X_i + t from n point pairs (Kabsch). */
export function absoluteOrientation(X: ArrayLike<number>, P: ArrayLike<number>, n: number): Float64Array | null {
  const mx = [0, 0, 0], mp = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) { mx[k] += X[3 * i + k] / n; mp[k] += P[3 * i + k] / n; }
  const M = new Float64Array(9);
  for (let i = 0; i < n; i++) for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) M[r * 3 + c] += (P[3 * i + r] - mp[r]) * (X[3 * i + c] - mx[c]);
  const R = nearestRotation(M);
  if (!Number.isFinite(R[0])) return null;
  const pose = new Float64Array(12);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) pose[r * 4 + c] = R[r * 3 + c];
    pose[r * 4 + 3] = mp[r] - (R[r * 3] * mx[0] + R[r * 3 + 1] * mx[1] + R[r * 3 + 2] * mx[2]);
  }
  return pose;
}

/**
 * Projection-matrix DLT from n >= 6 correspondences in centred pixels (u - cx, v - cy), decomposed as
 * P = K [R | t] with K = [[fx, s, px], [0, fy, py], [0, 0, 1]]; returns the pose and f = (fx + fy) / 2.
 */
export function dltPoseFocal(uv: Float64Array, X: Float64Array, idx: ArrayLike<number>, count: number): AbsolutePose | null {
  if (count < 6) return null;
  // Normalise both sets for conditioning.
  let mu = 0, mv = 0, su = 0;
  const mX = [0, 0, 0];
  for (let k = 0; k < count; k++) { const i = idx[k]; mu += uv[2 * i]; mv += uv[2 * i + 1]; for (let c = 0; c < 3; c++) mX[c] += X[3 * i + c]; }
  mu /= count; mv /= count; for (let c = 0; c < 3; c++) mX[c] /= count;
  let sX = 0;
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    su += Math.hypot(uv[2 * i] - mu, uv[2 * i + 1] - mv);
    sX += Math.hypot(X[3 * i] - mX[0], X[3 * i + 1] - mX[1], X[3 * i + 2] - mX[2]);
  }
  const s2 = su > 0 ? (count * Math.SQRT2) / su : 1, s3 = sX > 0 ? (count * Math.sqrt(3)) / sX : 1;
  const AtA = new Float64Array(144);
  const r1 = new Float64Array(12), r2 = new Float64Array(12);
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    const u = (uv[2 * i] - mu) * s2, v = (uv[2 * i + 1] - mv) * s2;
    const x = (X[3 * i] - mX[0]) * s3, y = (X[3 * i + 1] - mX[1]) * s3, z = (X[3 * i + 2] - mX[2]) * s3;
    r1.fill(0); r2.fill(0);
    r1[0] = x; r1[1] = y; r1[2] = z; r1[3] = 1; r1[8] = -u * x; r1[9] = -u * y; r1[10] = -u * z; r1[11] = -u;
    r2[4] = x; r2[5] = y; r2[6] = z; r2[7] = 1; r2[8] = -v * x; r2[9] = -v * y; r2[10] = -v * z; r2[11] = -v;
    for (let a = 0; a < 12; a++) for (let b = a; b < 12; b++) AtA[a * 12 + b] += r1[a] * r1[b] + r2[a] * r2[b];
  }
  for (let a = 0; a < 12; a++) for (let b = 0; b < a; b++) AtA[a * 12 + b] = AtA[b * 12 + a];
  const pn = nullVector(AtA, 12, 12);
  // Denormalise: P = T2^-1 Pn T3.
  const T2inv = [1 / s2, 0, mu, 0, 1 / s2, mv, 0, 0, 1];
  const T3 = [s3, 0, 0, -s3 * mX[0], 0, s3, 0, -s3 * mX[1], 0, 0, s3, -s3 * mX[2], 0, 0, 0, 1];
  const tmp = new Float64Array(12), P = new Float64Array(12);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) { let s = 0; for (let k = 0; k < 4; k++) s += pn[r * 4 + k] * T3[k * 4 + c]; tmp[r * 4 + c] = s; }
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) { let s = 0; for (let k = 0; k < 3; k++) s += T2inv[r * 3 + k] * tmp[k * 4 + c]; P[r * 4 + c] = s; }
  return decomposeProjection(P);
}

/** P (3x4) = lambda K [R | t] with K upper triangular, positive diagonal; returns pose and mean focal. */
export function decomposeProjection(P: Float64Array): AbsolutePose | null {
  const m = [P[0], P[1], P[2], P[4], P[5], P[6], P[8], P[9], P[10]];
  const detM = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const sign = detM < 0 ? -1 : 1;
  const row = (i: number) => [sign * m[i * 3], sign * m[i * 3 + 1], sign * m[i * 3 + 2]];
  const m1 = row(0), m2 = row(1), m3 = row(2);
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const k22 = Math.hypot(m3[0], m3[1], m3[2]);
  if (!(k22 > 0)) return null;
  const r3 = m3.map((x) => x / k22);
  const k12 = dot(m2, r3);
  const w2 = m2.map((x, i) => x - k12 * r3[i]);
  const k11 = Math.hypot(w2[0], w2[1], w2[2]);
  const r2 = w2.map((x) => x / k11);
  const k02 = dot(m1, r3), k01 = dot(m1, r2);
  const w1 = m1.map((x, i) => x - k01 * r2[i] - k02 * r3[i]);
  const k00 = Math.hypot(w1[0], w1[1], w1[2]);
  const r1 = w1.map((x) => x / k00);
  const K = [k00 / k22, k01 / k22, k02 / k22, 0, k11 / k22, k12 / k22, 0, 0, 1];
  const p4 = [sign * P[3] / k22, sign * P[7] / k22, sign * P[11] / k22];
  // t = K^-1 p4 (back substitution)
  const t2 = p4[2];
  const t1 = (p4[1] - K[5] * t2) / K[4];
  const t0 = (p4[0] - K[1] * t1 - K[2] * t2) / K[0];
  const R = nearestRotation([...r1, ...r2, ...r3]);
  const pose = Float64Array.of(R[0], R[1], R[2], t0, R[3], R[4], R[5], t1, R[6], R[7], R[8], t2);
  const focal = (K[0] + K[4]) / 2;
  if (!Number.isFinite(focal) || focal <= 0 || !Number.isFinite(t0 + t1 + t2)) return null;
  return { pose, focal };
}

export interface PnpOptions {
  /** Intrinsics [f, cx, cy, k1, k2]; f is the prior when estimateFocal. */
  intrinsics: ArrayLike<number>;
  /** Inlier threshold in pixels. */
  threshold: number;
  estimateFocal?: boolean;
  seed?: number;
  maxIterations?: number;
}

export interface PnpResult extends AbsolutePose {
  inliers: Uint8Array;
  inlierCount: number;
  iterations: number;
}

function reproj2(pose: ArrayLike<number>, intr: ArrayLike<number>, f: number, X: Float64Array, i: number, u: number, v: number): number {
  const x = pose[0] * X[3 * i] + pose[1] * X[3 * i + 1] + pose[2] * X[3 * i + 2] + pose[3];
  const y = pose[4] * X[3 * i] + pose[5] * X[3 * i + 1] + pose[6] * X[3 * i + 2] + pose[7];
  const z = pose[8] * X[3 * i] + pose[9] * X[3 * i + 1] + pose[10] * X[3 * i + 2] + pose[11];
  if (z <= 0) return Infinity;
  const xn = x / z, yn = y / z, r2 = xn * xn + yn * yn;
  const d = 1 + intr[3] * r2 + intr[4] * r2 * r2;
  const du = f * d * xn + intr[1] - u, dv = f * d * yn + intr[2] - v;
  return du * du + dv * dv;
}

/**
 * Absolute pose by LO-RANSAC (P3P, or the 6-point DLT when estimating focal) then LM refinement on the inliers.
 * uv: pixels (2 per point), X: world (3 per point).
 */
export function estimateAbsolutePose(uv: Float64Array, X: Float64Array, opts: PnpOptions): PnpResult | null {
  const n = uv.length / 2;
  const intr = opts.intrinsics;
  const estimateFocal = !!opts.estimateFocal;
  if (n < (estimateFocal ? 6 : 4)) return null;
  // Unit bearings from the focal prior (for P3P) and centred pixels (for the DLT).
  const bear = new Float64Array(3 * n), centred = new Float64Array(2 * n);
  const tmp = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    pixelToNormalised(intr, 0, uv[2 * i], uv[2 * i + 1], tmp);
    const nrm = Math.hypot(tmp[0], tmp[1], 1);
    bear[3 * i] = tmp[0] / nrm; bear[3 * i + 1] = tmp[1] / nrm; bear[3 * i + 2] = 1 / nrm;
    // The DLT ignores distortion: undistorted centred pixels at the prior focal.
    centred[2 * i] = tmp[0] * intr[0]; centred[2 * i + 1] = tmp[1] * intr[0];
  }
  const fb = new Float64Array(9), Xs = new Float64Array(9);
  const res = loRansac<AbsolutePose>(
    {
      sampleSize: estimateFocal ? 6 : 3,
      minimal: (s) => {
        if (estimateFocal) { const r = dltPoseFocal(centred, X, s, 6); return r ? [r] : []; }
        for (let k = 0; k < 3; k++) for (let c = 0; c < 3; c++) { fb[3 * k + c] = bear[3 * s[k] + c]; Xs[3 * k + c] = X[3 * s[k] + c]; }
        return p3p(fb, Xs).map((pose) => ({ pose, focal: intr[0] }));
      },
      nonMinimal: (idx, count) => {
        // Local optimisation: a few LM steps from the current best is costlier than a linear fit; the DLT serves
        // for the focal case and P3P's model is refined by LM on its inliers afterwards.
        if (estimateFocal) return dltPoseFocal(centred, X, idx, count);
        return null;
      },
      residual2: (m, i) => reproj2(m.pose, intr, m.focal, X, i, uv[2 * i], uv[2 * i + 1]),
    },
    n,
    { threshold: opts.threshold, seed: opts.seed, maxIterations: opts.maxIterations ?? 2000, confidence: 0.9999, minIterations: 30, loSteps: estimateFocal ? 2 : 0 },
  );
  if (!res) return null;
  let { pose, focal } = res.model;
  // Refine on the inliers, re-collect inliers, refine again (the refined model may recover more).
  let inliers = res.inliers;
  const thr2 = opts.threshold * opts.threshold;
  for (let round = 0; round < 2; round++) {
    const refined = refineAbsolutePose(uv, X, inliers, pose, focal, intr, estimateFocal, 20);
    pose = refined.pose; focal = refined.focal;
    const next = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (reproj2(pose, intr, focal, X, i, uv[2 * i], uv[2 * i + 1]) < thr2) next[i] = 1;
    inliers = next;
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += inliers[i];
  return { pose, focal, inliers, inlierCount: count, iterations: res.iterations };
}

/**
 * Levenberg-Marquardt on the pixel reprojection error of the masked correspondences over the pose (left
 * angle-axis increment, translation) and, optionally, the focal length. Huber-weighted (delta 2 px) so that a
 * few outliers left in the mask do not pull the pose.
 */
export function refineAbsolutePose(uv: Float64Array, X: Float64Array, mask: Uint8Array | null, pose0: ArrayLike<number>, focal0: number, intr: ArrayLike<number>, withFocal: boolean, iterations = 20): AbsolutePose {
  const np = withFocal ? 7 : 6;
  const n = uv.length / 2;
  let pose = Float64Array.from(pose0);
  let focal = focal0;
  const H = new Float64Array(np * np), g = new Float64Array(np), J = new Float64Array(2 * np);
  const delta = 2;
  const cost = (p: Float64Array, f: number): number => {
    let c = 0;
    for (let i = 0; i < n; i++) {
      if (mask && !mask[i]) continue;
      const e2 = reproj2(p, intr, f, X, i, uv[2 * i], uv[2 * i + 1]);
      c += e2 <= delta * delta ? e2 : 2 * delta * Math.sqrt(e2) - delta * delta;
    }
    return c;
  };
  let current = cost(pose, focal);
  let lambda = 1e-3;
  const Rd = new Float64Array(9);
  for (let it = 0; it < iterations; it++) {
    H.fill(0); g.fill(0);
    for (let i = 0; i < n; i++) {
      if (mask && !mask[i]) continue;
      const Xw = X[3 * i], Yw = X[3 * i + 1], Zw = X[3 * i + 2];
      const ax = pose[0] * Xw + pose[1] * Yw + pose[2] * Zw, ay = pose[4] * Xw + pose[5] * Yw + pose[6] * Zw, az = pose[8] * Xw + pose[9] * Yw + pose[10] * Zw;
      const x = ax + pose[3], y = ay + pose[7], z = az + pose[11];
      if (z <= 1e-12) continue;
      const iz = 1 / z, xn = x * iz, yn = y * iz, r2 = xn * xn + yn * yn;
      const k1 = intr[3], k2 = intr[4];
      const d = 1 + k1 * r2 + k2 * r2 * r2, dd = k1 + 2 * k2 * r2;
      const ru = focal * d * xn + intr[1] - uv[2 * i], rv = focal * d * yn + intr[2] - uv[2 * i + 1];
      const e = Math.hypot(ru, rv);
      const w = e <= delta ? 1 : delta / e;
      // d(u,v)/d(xn,yn)
      const a00 = focal * (d + 2 * xn * xn * dd), a01 = focal * 2 * xn * yn * dd, a11 = focal * (d + 2 * yn * yn * dd);
      // d(xn,yn)/d(x,y,z)
      const b00 = iz, b02 = -xn * iz, b11 = iz, b12 = -yn * iz;
      // d(u,v)/d(Xc)
      const c00 = a00 * b00, c01 = a01 * b11, c02 = a00 * b02 + a01 * b12;
      const c10 = a01 * b00, c11 = a11 * b11, c12 = a01 * b02 + a11 * b12;
      // d Xc / d omega = -[a]x with a = R X: rows [0, az, -ay], [-az, 0, ax], [ay, -ax, 0]
      J[0] = c01 * -az + c02 * ay; J[1] = c00 * az + c02 * -ax; J[2] = c00 * -ay + c01 * ax;
      J[3] = c00; J[4] = c01; J[5] = c02;
      J[np] = c11 * -az + c12 * ay; J[np + 1] = c10 * az + c12 * -ax; J[np + 2] = c10 * -ay + c11 * ax;
      J[np + 3] = c10; J[np + 4] = c11; J[np + 5] = c12;
      if (withFocal) { J[6] = d * xn; J[np + 6] = d * yn; }
      for (let a = 0; a < np; a++) {
        g[a] += w * (J[a] * ru + J[np + a] * rv);
        for (let b = a; b < np; b++) H[a * np + b] += w * (J[a] * J[b] + J[np + a] * J[np + b]);
      }
    }
    for (let a = 0; a < np; a++) for (let b = 0; b < a; b++) H[a * np + b] = H[b * np + a];
    let improved = false;
    for (let attempt = 0; attempt < 8; attempt++) {
      const A = Float64Array.from(H);
      for (let a = 0; a < np; a++) A[a * np + a] += lambda * Math.max(H[a * np + a], 1e-9);
      const negg = g.map((x) => -x);
      const dx = solveLinear(A, negg, np);
      if (!dx) { lambda *= 10; continue; }
      angleAxisToRotation(dx[0], dx[1], dx[2], Rd);
      const R = mul3(Rd, [pose[0], pose[1], pose[2], pose[4], pose[5], pose[6], pose[8], pose[9], pose[10]]);
      const cand = Float64Array.of(R[0], R[1], R[2], pose[3] + dx[3], R[3], R[4], R[5], pose[7] + dx[4], R[6], R[7], R[8], pose[11] + dx[5]);
      const fc = withFocal ? focal + dx[6] : focal;
      const c = fc > 0 ? cost(cand, fc) : Infinity;
      if (c < current) {
        const rel = (current - c) / Math.max(current, 1e-300);
        pose = cand; focal = fc; current = c; lambda = Math.max(1e-9, lambda / 10); improved = true;
        if (rel < 1e-10) return { pose, focal };
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  return { pose, focal };
}
