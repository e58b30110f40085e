/**
 * Homography x2 ~ H x1: normalised 4-point DLT (also the least-squares solver for local optimisation) and
 * LO-RANSAC on the forward transfer error. Used for the degenerate-pair check (planar scene or pure rotation),
 * COLMAP's rule: a pair whose H inliers are a large fraction of its E inliers is a poor initial pair. The check
 * only needs to find a dominant plane when there is one, so RANSAC is capped at 200 iterations with one LO step.
 */
import { normaliserInto, nullVectorInto, nullVectorMinimalInto } from './linalg';
import { loRansac, type RansacResult } from './ransac';

export function homographyDlt(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>, count: number): Float64Array | null {
  const out = new Float64Array(9);
  return homographyDltInto(x1, x2, idx, count, out) ? out : null;
}

// Scratch of homographyDltInto (per module instance, so per worker). Typed arrays over 64 bytes live outside the JS
// heap: allocating them per RANSAC hypothesis goes through the process's shared array-buffer allocator, which
// serialises a pool's workers (issue #6).
const hN1 = new Float64Array(3), hN2 = new Float64Array(3), hAtA = new Float64Array(81), hRows = new Float64Array(72);
const hR1 = new Float64Array(9), hR2 = new Float64Array(9), hh = new Float64Array(9), hT1 = new Float64Array(9), hT2inv = new Float64Array(9);
const hTmp = new Float64Array(9);
/** The RANSAC models: the minimal solver's (with its one-model list) and the non-minimal fit's, distinct. */
const hMinimal = new Float64Array(9), hMinimalList = [hMinimal], hFit = new Float64Array(9);
const NO_MODELS: Float64Array[] = [];

/** homographyDlt into H (9), without allocating; false when it fails (H unspecified). Bit-identical to homographyDlt. */
function homographyDltInto(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>, count: number, H: Float64Array): boolean {
  if (count < 4) return false;
  // Hartley normalisation of both point sets.
  normaliserInto(x1, idx, count, hN1); normaliserInto(x2, idx, count, hN2);
  const s1 = hN1[0], a1 = hN1[1], b1 = hN1[2], s2 = hN2[0], a2 = hN2[1], b2 = hN2[2];
  const AtA = hAtA.fill(0);
  const rows = count === 4 ? hRows : null;
  const r1 = hR1, r2 = hR2;
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    const u = s1 * x1[2 * i] + a1, v = s1 * x1[2 * i + 1] + b1, p = s2 * x2[2 * i] + a2, q = s2 * x2[2 * i + 1] + b2;
    r1[0] = 0; r1[1] = 0; r1[2] = 0; r1[3] = -u; r1[4] = -v; r1[5] = -1; r1[6] = q * u; r1[7] = q * v; r1[8] = q;
    r2[0] = u; r2[1] = v; r2[2] = 1; r2[3] = 0; r2[4] = 0; r2[5] = 0; r2[6] = -p * u; r2[7] = -p * v; r2[8] = -p;
    if (rows) { rows.set(r1, 18 * k); rows.set(r2, 18 * k + 9); continue; }
    for (let a = 0; a < 9; a++) for (let b = a; b < 9; b++) AtA[a * 9 + b] += r1[a] * r1[b] + r2[a] * r2[b];
  }
  const h = hh;
  if (rows) { if (!nullVectorMinimalInto(rows, 9, h)) return false; } // minimal sample: the exact nullvector, no SVD
  else {
    for (let a = 0; a < 9; a++) for (let b = 0; b < a; b++) AtA[a * 9 + b] = AtA[b * 9 + a];
    nullVectorInto(AtA, 9, 9, h);
  }
  // H = T2^-1 Hn T1
  const T1 = hT1, T2inv = hT2inv;
  T1[0] = s1; T1[1] = 0; T1[2] = a1; T1[3] = 0; T1[4] = s1; T1[5] = b1; T1[6] = 0; T1[7] = 0; T1[8] = 1;
  T2inv[0] = 1 / s2; T2inv[1] = 0; T2inv[2] = -a2 / s2; T2inv[3] = 0; T2inv[4] = 1 / s2; T2inv[5] = -b2 / s2; T2inv[6] = 0; T2inv[7] = 0; T2inv[8] = 1;
  const tmp = hTmp;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) tmp[r * 3 + c] = h[r * 3] * T1[c] + h[r * 3 + 1] * T1[3 + c] + h[r * 3 + 2] * T1[6 + c];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) H[r * 3 + c] = T2inv[r * 3] * tmp[c] + T2inv[r * 3 + 1] * tmp[3 + c] + T2inv[r * 3 + 2] * tmp[6 + c];
  const s = H[8] !== 0 ? 1 / H[8] : 1;
  for (let k = 0; k < 9; k++) H[k] *= s;
  return Number.isFinite(H[0]);
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
      // Scratch models, copied by loRansac when it keeps one: no allocation per hypothesis.
      minimal: (s) => (homographyDltInto(x1, x2, s, 4, hMinimal) ? hMinimalList : NO_MODELS),
      nonMinimal: (idx, count) => (homographyDltInto(x1, x2, idx, count, hFit) ? hFit : null),
      residual2: (H, i) => transferError2(H, x1, x2, i),
      copy: (src, dst) => { if (!dst) return Float64Array.from(src); dst.set(src); return dst; },
    },
    n,
    { threshold, seed: opts.seed, maxIterations: opts.maxIterations ?? 200, confidence: 0.99, minIterations: 30, loSteps: 1 },
  );
}
