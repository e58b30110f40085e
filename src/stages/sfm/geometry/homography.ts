/**
 * Homography x2 ~ H x1: normalised 4-point DLT (also the least-squares solver for local optimisation) and
 * LO-RANSAC on the forward transfer error. Used for the degenerate-pair check (planar scene or pure rotation),
 * COLMAP's rule: a pair whose H inliers are a large fraction of its E inliers is a poor initial pair. The check
 * only needs to find a dominant plane when there is one, so RANSAC is capped at 200 iterations with one LO step.
 */
import { nullVector, nullVectorMinimal, normaliser } from './linalg';
import { loRansac, type RansacResult } from './ransac';

export function homographyDlt(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>, count: number): Float64Array | null {
  if (count < 4) return null;
  // Hartley normalisation of both point sets.
  const [s1, a1, b1] = normaliser(x1, idx, count), [s2, a2, b2] = normaliser(x2, idx, count);
  const AtA = new Float64Array(81);
  const rows = count === 4 ? new Float64Array(72) : null;
  const r1 = new Float64Array(9), r2 = new Float64Array(9);
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    const u = s1 * x1[2 * i] + a1, v = s1 * x1[2 * i + 1] + b1, p = s2 * x2[2 * i] + a2, q = s2 * x2[2 * i + 1] + b2;
    r1[0] = 0; r1[1] = 0; r1[2] = 0; r1[3] = -u; r1[4] = -v; r1[5] = -1; r1[6] = q * u; r1[7] = q * v; r1[8] = q;
    r2[0] = u; r2[1] = v; r2[2] = 1; r2[3] = 0; r2[4] = 0; r2[5] = 0; r2[6] = -p * u; r2[7] = -p * v; r2[8] = -p;
    if (rows) { rows.set(r1, 18 * k); rows.set(r2, 18 * k + 9); continue; }
    for (let a = 0; a < 9; a++) for (let b = a; b < 9; b++) AtA[a * 9 + b] += r1[a] * r1[b] + r2[a] * r2[b];
  }
  let h: Float64Array | null;
  if (rows) h = nullVectorMinimal(rows, 9); // minimal sample: the exact nullvector, no SVD
  else {
    for (let a = 0; a < 9; a++) for (let b = 0; b < a; b++) AtA[a * 9 + b] = AtA[b * 9 + a];
    h = nullVector(AtA, 9, 9);
  }
  if (!h) return null;
  // H = T2^-1 Hn T1
  const T1 = [s1, 0, a1, 0, s1, b1, 0, 0, 1];
  const T2inv = [1 / s2, 0, -a2 / s2, 0, 1 / s2, -b2 / s2, 0, 0, 1];
  const tmp = new Float64Array(9), H = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) tmp[r * 3 + c] = h[r * 3] * T1[c] + h[r * 3 + 1] * T1[3 + c] + h[r * 3 + 2] * T1[6 + c];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) H[r * 3 + c] = T2inv[r * 3] * tmp[c] + T2inv[r * 3 + 1] * tmp[3 + c] + T2inv[r * 3 + 2] * tmp[6 + c];
  const s = H[8] !== 0 ? 1 / H[8] : 1;
  for (let k = 0; k < 9; k++) H[k] *= s;
  return Number.isFinite(H[0]) ? H : null;
}

export function transferError2(H: ArrayLike<number>, x1: Float64Array, x2: Float64Array, i: number): number {
  const u = x1[2 * i], v = x1[2 * i + 1];
  const w = H[6] * u + H[7] * v + H[8];
  if (w === 0) return Infinity;
  const du = (H[0] * u + H[1] * v + H[2]) / w - x2[2 * i], dv = (H[3] * u + H[4] * v + H[5]) / w - x2[2 * i + 1];
  return du * du + dv * dv;
}

export function estimateHomography(x1: Float64Array, x2: Float64Array, threshold: number, opts: { seed?: number; maxIterations?: number } = {}): RansacResult<Float64Array> | null {
  const n = x1.length / 2;
  return loRansac<Float64Array>(
    {
      sampleSize: 4,
      minimal: (s) => { const H = homographyDlt(x1, x2, s, 4); return H ? [H] : []; },
      nonMinimal: (idx, count) => homographyDlt(x1, x2, idx, count),
      residual2: (H, i) => transferError2(H, x1, x2, i),
    },
    n,
    { threshold, seed: opts.seed, maxIterations: opts.maxIterations ?? 200, confidence: 0.99, minIterations: 30, loSteps: 1 },
  );
}
