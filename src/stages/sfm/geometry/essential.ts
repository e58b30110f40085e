/**
 * Essential matrix estimation in normalised camera coordinates (x = K^-1 [u v 1]): the minimal 5-point solver
 * (Stewénius, Engels, Nistér 2006: nullspace of the 5 epipolar constraints, the 10 cubic constraints det(E) = 0 and
 * 2 E E^T E - tr(E E^T) E = 0, Gauss-Jordan elimination and the 10 x 10 action matrix of multiplication by x),
 * the normalised 8-point solver for local optimisation, LO-RANSAC with the Sampson error, and the cheirality-based
 * decomposition into R, t.
 *
 * Convention: x2^T E x1 = 0 with X2 = R X1 + t (camera 2 from camera 1) and E = [t]x R.
 */
import { angleAxisToRotation, det3, leastSquaresInto, normaliserInto, mul3, nullVectorInto, nullVectorMinimalInto, realRootsInto, solveLinear, svd, svdInto } from './linalg';
import { loRansac, type RansacResult } from './ransac';

// Monomials of degree <= 3 in x, y, z in the order the action matrix needs: the 10 cubics first (eliminated),
// then the basis [x^2, xy, xz, y^2, yz, z^2, x, y, z, 1].
const MONOMIALS: [number, number, number][] = [
  [3, 0, 0], [2, 1, 0], [2, 0, 1], [1, 2, 0], [1, 1, 1], [1, 0, 2], [0, 3, 0], [0, 2, 1], [0, 1, 2], [0, 0, 3],
  [2, 0, 0], [1, 1, 0], [1, 0, 1], [0, 2, 0], [0, 1, 1], [0, 0, 2], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0],
];
const MONO_INDEX = new Int32Array(64).fill(-1);
MONOMIALS.forEach(([a, b, c], i) => { MONO_INDEX[a * 16 + b * 4 + c] = i; });
// Product table: PROD[i * 20 + j] = index of monomial_i * monomial_j (or -1 when the degree exceeds 3).
const PROD = new Int32Array(400);
for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) {
  const [a, b, c] = MONOMIALS[i], [d, e, f] = MONOMIALS[j];
  PROD[i * 20 + j] = a + b + c + d + e + f > 3 ? -1 : MONO_INDEX[(a + d) * 16 + (b + e) * 4 + (c + f)];
}

/** out += p q (out's degree-3 part; out zeroed by the caller for a plain product). */
function pmul(p: Float64Array, q: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < 20; i++) {
    const pi = p[i];
    if (pi === 0) continue;
    for (let j = 0; j < 20; j++) {
      const qj = q[j];
      if (qj === 0) continue;
      const k = PROD[i * 20 + j];
      if (k >= 0) out[k] += pi * qj;
    }
  }
  return out;
}

/** Real essential matrices (up to 10) through 5 correspondences (indices into x1, x2). */
export function essentialFivePoint(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>): Float64Array[] {
  const count = essentialFivePointInto(x1, x2, idx);
  const out: Float64Array[] = [];
  for (let k = 0; k < count; k++) out.push(Float64Array.from(FIVE_OUT[k]));
  return out;
}

// Scratch of essentialFivePointInto (per module instance, so per worker; the solver does not re-enter itself).
// Typed arrays over 64 bytes live outside the JS heap: allocating them per RANSAC hypothesis goes through the
// process's shared array-buffer allocator, which serialises a pool's workers (issue #6).
const FIVE_OUT = Array.from({ length: 10 }, () => new Float64Array(9));
/** FIVE_LISTS[c]: the first c buffers of FIVE_OUT, the models of a hypothesis without allocating a list. */
const FIVE_LISTS = Array.from({ length: 11 }, (_, c) => FIVE_OUT.slice(0, c));
const fiveA = new Float64Array(45), fiveM = new Float64Array(200), fiveAct = new Float64Array(100), fiveS = new Float64Array(36);
const fiveRoots = new Float64Array(10), fiveU = new Float64Array(5);
const fivePoly = new Float64Array(20 * 32);
const poly = (k: number) => fivePoly.subarray(20 * k, 20 * k + 20);
const FIVE_E = Array.from({ length: 9 }, (_, k) => poly(k));
const [PC0, PC1, PC2, PTMP, PT0, PT1, PT2, PD, PTR, PP, PQ] = Array.from({ length: 11 }, (_, k) => poly(9 + k));
const FIVE_EET: Float64Array[] = new Array(9);
{
  let k = 20;
  for (let i = 0; i < 3; i++) for (let j = i; j < 3; j++) { const q = poly(k++); FIVE_EET[i * 3 + j] = q; FIVE_EET[j * 3 + i] = q; }
}

/**
 * essentialFivePoint into FIVE_OUT (overwritten by the next call), without allocating: returns how many models.
 * Same arithmetic as before the scratch buffers (zeroed where a fresh array was), so results are bit-identical.
 */
function essentialFivePointInto(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>): number {
  const A = fiveA;
  for (let r = 0; r < 5; r++) {
    const i = idx[r];
    const u1 = x1[2 * i], v1 = x1[2 * i + 1], u2 = x2[2 * i], v2 = x2[2 * i + 1];
    const row = A.subarray(r * 9, r * 9 + 9);
    row[0] = u2 * u1; row[1] = u2 * v1; row[2] = u2;
    row[3] = v2 * u1; row[4] = v2 * v1; row[5] = v2;
    row[6] = u1; row[7] = v1; row[8] = 1;
  }
  const N = nullspace5x9(A); // rows: 4 basis vectors X, Y, Z, W
  if (!N) return 0;
  // E_k = x X_k + y Y_k + z Z_k + W_k as degree-1 polynomials.
  const E = FIVE_E;
  for (let k = 0; k < 9; k++) {
    const p = E[k].fill(0);
    p[16] = N[k]; p[17] = N[9 + k]; p[18] = N[18 + k]; p[19] = N[27 + k];
  }
  const M = fiveM.fill(0);
  // det(E)
  {
    const c0 = polyMinus(pmul(E[4], E[8], PC0.fill(0)), pmul(E[5], E[7], PTMP.fill(0)));
    const c1 = polyMinus(pmul(E[3], E[8], PC1.fill(0)), pmul(E[5], E[6], PTMP.fill(0)));
    const c2 = polyMinus(pmul(E[3], E[7], PC2.fill(0)), pmul(E[4], E[6], PTMP.fill(0)));
    const d = PD;
    const t0 = pmul(E[0], c0, PT0.fill(0)), t1 = pmul(E[1], c1, PT1.fill(0)), t2 = pmul(E[2], c2, PT2.fill(0));
    for (let k = 0; k < 20; k++) d[k] = t0[k] - t1[k] + t2[k];
    M.set(d, 0);
  }
  // EE^T (symmetric, degree 2)
  const EEt = FIVE_EET;
  for (let i = 0; i < 3; i++) for (let j = i; j < 3; j++) {
    const p = EEt[i * 3 + j].fill(0);
    for (let k = 0; k < 3; k++) pmul(E[i * 3 + k], E[j * 3 + k], p);
  }
  const tr = PTR;
  for (let k = 0; k < 20; k++) tr[k] = EEt[0][k] + EEt[4][k] + EEt[8][k];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    const p = PP.fill(0);
    for (let k = 0; k < 3; k++) pmul(EEt[i * 3 + k], E[k * 3 + j], p);
    const q = pmul(tr, E[i * 3 + j], PQ.fill(0));
    const row = M.subarray((1 + i * 3 + j) * 20, (2 + i * 3 + j) * 20);
    for (let k = 0; k < 20; k++) row[k] = 2 * p[k] - q[k];
  }
  // Gauss-Jordan on the 10 cubic columns.
  for (let c = 0; c < 10; c++) {
    let piv = c, best = Math.abs(M[c * 20 + c]);
    for (let r = c + 1; r < 10; r++) if (Math.abs(M[r * 20 + c]) > best) { best = Math.abs(M[r * 20 + c]); piv = r; }
    if (best < 1e-14) return 0;
    if (piv !== c) for (let k = 0; k < 20; k++) { const t = M[c * 20 + k]; M[c * 20 + k] = M[piv * 20 + k]; M[piv * 20 + k] = t; }
    const inv = 1 / M[c * 20 + c];
    for (let k = c; k < 20; k++) M[c * 20 + k] *= inv;
    for (let r = 0; r < 10; r++) {
      if (r === c) continue;
      const f = M[r * 20 + c];
      if (f === 0) continue;
      for (let k = c; k < 20; k++) M[r * 20 + k] -= f * M[c * 20 + k];
    }
  }
  // Action matrix of multiplication by x on the basis [x^2, xy, xz, y^2, yz, z^2, x, y, z, 1].
  const Act = fiveAct.fill(0);
  for (let r = 0; r < 6; r++) for (let j = 0; j < 10; j++) Act[r * 10 + j] = -M[r * 20 + 10 + j];
  Act[6 * 10 + 0] = 1; Act[7 * 10 + 1] = 1; Act[8 * 10 + 2] = 1; Act[9 * 10 + 6] = 1;
  const nx = realRootsInto(charPolyInto(Act, 10), 11, fiveRoots);
  let count = 0;
  const S = fiveS;
  for (let ix = 0; ix < nx; ix++) {
    const x = fiveRoots[ix];
    // Rows 0..5 of (Act - x I) v = 0 with v = [x^2, x y, x z, y^2, y z, z^2, x, y, z, 1] are linear in
    // u = (y^2, yz, z^2, y, z, 1): solve for u as the nullvector of the 6 x 6 system.
    for (let r = 0; r < 6; r++) {
      const b = M.subarray(r * 20 + 10, r * 20 + 20);
      // sum_j b_j v_j + x v_r = 0
      let cy2 = b[3], cyz = b[4], cz2 = b[5], cy = b[1] * x + b[7], cz = b[2] * x + b[8], c1 = b[0] * x * x + b[6] * x + b[9];
      if (r === 0) c1 += x * x * x;
      else if (r === 1) cy += x * x;
      else if (r === 2) cz += x * x;
      else if (r === 3) cy2 += x;
      else if (r === 4) cyz += x;
      else cz2 += x;
      S[r * 6] = cy2; S[r * 6 + 1] = cyz; S[r * 6 + 2] = cz2; S[r * 6 + 3] = cy; S[r * 6 + 4] = cz; S[r * 6 + 5] = c1;
    }
    // Least squares over the 6 rows for the 5 unknowns (consistent at a root).
    for (let r = 0; r < 6; r++) { for (let a = 0; a < 5; a++) NA[r * 5 + a] = S[r * 6 + a]; NB[r] = -S[r * 6 + 5]; }
    if (!leastSquaresInto(NA, NB, 6, 5, fiveU)) continue;
    const u = fiveU;
    const y = u[3], z = u[4];
    const e = FIVE_OUT[count];
    let nrm = 0;
    for (let k = 0; k < 9; k++) {
      e[k] = x * N[k] + y * N[9 + k] + z * N[18 + k] + N[27 + k];
      nrm += e[k] * e[k];
    }
    nrm = Math.sqrt(nrm);
    if (!(nrm > 0) || !Number.isFinite(nrm)) continue;
    for (let k = 0; k < 9; k++) e[k] /= nrm;
    count++;
  }
  return count;
}

const NA = new Float64Array(30), NB = new Float64Array(6);

/**
 * A basis of the nullspace of a 5 x 9 matrix (rows of the result: 4 vectors of 9) by Gauss-Jordan elimination
 * with partial pivoting, [I | F] -> basis [-F; I]: an order of magnitude cheaper than an SVD, and any basis serves
 * the 5-point solver. Null when the first five columns are (nearly) dependent.
 */
const ns5A = new Float64Array(45), ns5N = new Float64Array(36);
function nullspace5x9(a: Float64Array): Float64Array | null {
  const A = ns5A;
  A.set(a);
  let scale = 0;
  for (let k = 0; k < 45; k++) scale = Math.max(scale, Math.abs(A[k]));
  for (let c = 0; c < 5; c++) {
    let piv = c, best = Math.abs(A[c * 9 + c]);
    for (let r = c + 1; r < 5; r++) if (Math.abs(A[r * 9 + c]) > best) { best = Math.abs(A[r * 9 + c]); piv = r; }
    if (best < 1e-10 * scale) return null;
    if (piv !== c) for (let k = 0; k < 9; k++) { const t = A[c * 9 + k]; A[c * 9 + k] = A[piv * 9 + k]; A[piv * 9 + k] = t; }
    const inv = 1 / A[c * 9 + c];
    for (let k = c; k < 9; k++) A[c * 9 + k] *= inv;
    for (let r = 0; r < 5; r++) {
      if (r === c) continue;
      const f = A[r * 9 + c];
      if (f === 0) continue;
      for (let k = c; k < 9; k++) A[r * 9 + k] -= f * A[c * 9 + k];
    }
  }
  const N = ns5N.fill(0);
  for (let v = 0; v < 4; v++) {
    for (let r = 0; r < 5; r++) N[v * 9 + r] = -A[r * 9 + 5 + v];
    N[v * 9 + 5 + v] = 1;
  }
  // Orthonormalise (modified Gram-Schmidt): the cubic constraints are better conditioned on an orthonormal basis.
  for (let v = 0; v < 4; v++) {
    for (let w = 0; w < v; w++) {
      let d = 0;
      for (let k = 0; k < 9; k++) d += N[v * 9 + k] * N[w * 9 + k];
      for (let k = 0; k < 9; k++) N[v * 9 + k] -= d * N[w * 9 + k];
    }
    let nn = 0;
    for (let k = 0; k < 9; k++) nn += N[v * 9 + k] ** 2;
    nn = 1 / Math.sqrt(nn);
    for (let k = 0; k < 9; k++) N[v * 9 + k] *= nn;
  }
  return N;
}

function polyMinus(a: Float64Array, b: Float64Array): Float64Array {
  for (let k = 0; k < 20; k++) a[k] -= b[k];
  return a;
}

/**
 * Characteristic polynomial det(A - lambda I) (coefficients low -> high) of a general n x n matrix: Householder
 * reduction to upper Hessenberg form, then Hyman's recurrence over the leading principal minors.
 */
export function charPolyHessenberg(a: Float64Array, n: number): Float64Array {
  return Float64Array.from(charPolyInto(a, n));
}

// Scratch of charPolyInto, grown on demand: the Hessenberg matrix, the Householder vector, the leading minors'
// polynomials (row k: p_k, degree k) and one term.
let cpH = new Float64Array(100), cpV = new Float64Array(10), cpP = new Float64Array(121), cpT = new Float64Array(11), cpOut = new Float64Array(11);

/**
 * charPolyHessenberg into scratch (n + 1 coefficients, overwritten by the next call), without allocating (n = 10).
 * Every coefficient goes through the same operations as the polyMul / polySub / map form it replaces (sums start
 * from a zeroed entry), so results are bit-identical, signs of zero included.
 */
function charPolyInto(a: Float64Array, n: number): Float64Array {
  if (cpH.length < n * n) { cpH = new Float64Array(n * n); cpV = new Float64Array(n); cpP = new Float64Array((n + 1) * (n + 1)); cpT = new Float64Array(n + 1); cpOut = new Float64Array(n + 1); }
  const H = cpH;
  for (let k = 0; k < n * n; k++) H[k] = a[k];
  const v = cpV;
  for (let k = 0; k < n - 2; k++) {
    let alpha = 0;
    for (let i = k + 1; i < n; i++) alpha += H[i * n + k] * H[i * n + k];
    alpha = Math.sqrt(alpha);
    if (alpha < 1e-300) continue;
    if (H[(k + 1) * n + k] > 0) alpha = -alpha;
    v.fill(0);
    v[k + 1] = H[(k + 1) * n + k] - alpha;
    for (let i = k + 2; i < n; i++) v[i] = H[i * n + k];
    let vn = 0;
    for (let i = k + 1; i < n; i++) vn += v[i] * v[i];
    if (vn < 1e-300) continue;
    // H = P H P with P = I - 2 v v^T / (v^T v)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = k + 1; i < n; i++) s += v[i] * H[i * n + j];
      s = (2 * s) / vn;
      for (let i = k + 1; i < n; i++) H[i * n + j] -= s * v[i];
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += H[i * n + j] * v[j];
      s = (2 * s) / vn;
      for (let j = k + 1; j < n; j++) H[i * n + j] -= s * v[j];
    }
  }
  // p_k = det of the leading k x k block of (H - lambda I), at P[k * w .. k * w + k].
  const w = n + 1, P = cpP, t = cpT;
  P[0] = 1;
  for (let k = 1; k <= n; k++) {
    const hkk = H[(k - 1) * n + (k - 1)];
    const prev = (k - 1) * w, cur = k * w;
    // cur = polyMul([hkk, -1], p_{k-1}): out[i + j] += a[i] b[j] from zero, i outer.
    for (let x = 0; x <= k; x++) P[cur + x] = 0;
    for (let j = 0; j < k; j++) P[cur + j] += hkk * P[prev + j];
    for (let j = 0; j < k; j++) P[cur + 1 + j] += -1 * P[prev + j];
    let prod = 1;
    for (let i = k - 1; i >= 1; i--) {
      prod *= -H[i * n + (i - 1)]; // subdiagonal h_{i+1,i} (1-based); the cofactor signs alternate
      const term = H[(i - 1) * n + (k - 1)] * prod;
      if (term !== 0) {
        // cur = polySub(cur, p_{i-1}.map((c) => -c * term)): out = (0 + cur) - t, entry by entry.
        for (let x = 0; x < i; x++) t[x] = -P[(i - 1) * w + x] * term;
        for (let x = 0; x <= k; x++) { let o = 0; o += P[cur + x]; if (x < i) o -= t[x]; P[cur + x] = o; }
      }
    }
  }
  const out = n + 1 === cpOut.length ? cpOut : new Float64Array(n + 1);
  for (let x = 0; x <= n; x++) out[x] = P[n * w + x];
  return out;
}

/**
 * Least-squares fundamental-style estimate through n >= 8 correspondences with Hartley normalisation; with
 * `essential` the result is projected onto the essential manifold (singular values 1, 1, 0), otherwise to rank 2.
 */
export function eightPoint(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>, count: number, essential: boolean): Float64Array | null {
  const out = new Float64Array(9);
  return eightPointInto(x1, x2, idx, count, essential, out) ? out : null;
}

// Scratch of eightPointInto and projectRank2 (see FIVE_OUT on why).
const epN1 = new Float64Array(3), epN2 = new Float64Array(3), epAtA = new Float64Array(81), epRows = new Float64Array(72);
const epRow = new Float64Array(9), epF = new Float64Array(9), epT1 = new Float64Array(9), epT2 = new Float64Array(9);
const epTmp = new Float64Array(9), epE = new Float64Array(9);
const prS = new Float64Array(3), prV = new Float64Array(9), prU = new Float64Array(9);

/** eightPoint into out (9), without allocating; false when it fails (out unspecified). Bit-identical to eightPoint. */
function eightPointInto(x1: Float64Array, x2: Float64Array, idx: ArrayLike<number>, count: number, essential: boolean, out: Float64Array): boolean {
  if (count < 8) return false;
  normaliserInto(x1, idx, count, epN1); normaliserInto(x2, idx, count, epN2);
  const s1 = epN1[0], a1 = epN1[1], b1 = epN1[2], s2 = epN2[0], a2 = epN2[1], b2 = epN2[2];
  const AtA = epAtA.fill(0);
  const rows = count === 8 ? epRows : null;
  const row = epRow;
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    const u1 = s1 * x1[2 * i] + a1, v1 = s1 * x1[2 * i + 1] + b1, u2 = s2 * x2[2 * i] + a2, v2 = s2 * x2[2 * i + 1] + b2;
    row[0] = u2 * u1; row[1] = u2 * v1; row[2] = u2; row[3] = v2 * u1; row[4] = v2 * v1; row[5] = v2; row[6] = u1; row[7] = v1; row[8] = 1;
    if (rows) { rows.set(row, 9 * k); continue; }
    for (let r = 0; r < 9; r++) { const rr = row[r]; for (let c = r; c < 9; c++) AtA[r * 9 + c] += rr * row[c]; }
  }
  const f = epF;
  if (rows) { if (!nullVectorMinimalInto(rows, 9, f)) return false; } // minimal sample: exact nullvector without an SVD
  else {
    for (let r = 0; r < 9; r++) for (let c = 0; c < r; c++) AtA[r * 9 + c] = AtA[c * 9 + r];
    nullVectorInto(AtA, 9, 9, f);
  }
  // Denormalise: E = T2^T F T1 with T = [[s,0,a],[0,s,b],[0,0,1]].
  const T1 = epT1, T2 = epT2;
  T1[0] = s1; T1[1] = 0; T1[2] = a1; T1[3] = 0; T1[4] = s1; T1[5] = b1; T1[6] = 0; T1[7] = 0; T1[8] = 1;
  T2[0] = s2; T2[1] = 0; T2[2] = a2; T2[3] = 0; T2[4] = s2; T2[5] = b2; T2[6] = 0; T2[7] = 0; T2[8] = 1;
  const tmp = epTmp, E = epE;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) tmp[r * 3 + c] = f[r * 3] * T1[c] + f[r * 3 + 1] * T1[3 + c] + f[r * 3 + 2] * T1[6 + c];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) E[r * 3 + c] = T2[r] * tmp[c] + T2[3 + r] * tmp[3 + c] + T2[6 + r] * tmp[6 + c];
  projectRank2(E, essential, out);
  return true;
}

function projectRank2(E: Float64Array, essential: boolean, out: Float64Array): void {
  svdInto(E, 3, 3, prS, prV, prU);
  const s = prS, V = prV, U = prU;
  const d0 = essential ? (s[0] + s[1]) / 2 : s[0], d1 = essential ? d0 : s[1];
  let n = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) {
    out[r * 3 + c] = U[r * 3] * d0 * V[c * 3] + U[r * 3 + 1] * d1 * V[c * 3 + 1];
    n += out[r * 3 + c] ** 2;
  }
  n = Math.sqrt(n);
  for (let k = 0; k < 9; k++) out[k] /= n;
}

/** Squared Sampson distance of correspondence i under E (or F) in the coordinates of x1, x2. */
export function sampson2(E: ArrayLike<number>, x1: Float64Array, x2: Float64Array, i: number): number {
  const u1 = x1[2 * i], v1 = x1[2 * i + 1], u2 = x2[2 * i], v2 = x2[2 * i + 1];
  const ex0 = E[0] * u1 + E[1] * v1 + E[2], ex1 = E[3] * u1 + E[4] * v1 + E[5], ex2 = E[6] * u1 + E[7] * v1 + E[8];
  const etx0 = E[0] * u2 + E[3] * v2 + E[6], etx1 = E[1] * u2 + E[4] * v2 + E[7];
  const num = u2 * ex0 + v2 * ex1 + ex2;
  const den = ex0 * ex0 + ex1 * ex1 + etx0 * etx0 + etx1 * etx1;
  return den > 0 ? (num * num) / den : Infinity;
}

export interface RelativePose {
  /** Camera 2 from camera 1: X2 = R X1 + t, |t| = 1. */
  R: Float64Array;
  t: Float64Array;
  /** Correspondences in front of both cameras (among those tested). */
  positive: number;
}

/**
 * The (R, t) of E that puts most of the given correspondences in front of both cameras (of the four candidates
 * U W V^T / U W^T V^T with t = +-u3). `mask` selects which correspondences to test (all when omitted).
 */
export function decomposeEssential(E: ArrayLike<number>, x1: Float64Array, x2: Float64Array, mask?: Uint8Array): RelativePose | null {
  const { U: U0, V: V0 } = svd(Float64Array.from(E), 3, 3, true);
  const U = U0!, V = V0;
  if (det3(U) < 0) for (let r = 0; r < 3; r++) U[r * 3 + 2] *= -1;
  if (det3(V) < 0) for (let r = 0; r < 3; r++) V[r * 3 + 2] *= -1;
  const W = [0, -1, 0, 1, 0, 0, 0, 0, 1];
  const Rs: Float64Array[] = [];
  for (const transposeW of [false, true]) {
    const R = new Float64Array(9);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) s += U[r * 3 + k] * (transposeW ? W[l * 3 + k] : W[k * 3 + l]) * V[c * 3 + l];
      R[r * 3 + c] = s;
    }
    Rs.push(R);
  }
  const n = x1.length / 2;
  let best: RelativePose | null = null;
  for (const R of Rs) for (const sign of [1, -1]) {
    const t = Float64Array.of(sign * U[2], sign * U[5], sign * U[8]);
    let positive = 0;
    for (let i = 0; i < n; i++) {
      if (mask && !mask[i]) continue;
      if (inFront(R, t, x1[2 * i], x1[2 * i + 1], x2[2 * i], x2[2 * i + 1])) positive++;
    }
    if (!best || positive > best.positive) best = { R, t, positive };
  }
  return best;
}

/**
 * Depths (d1, d2) along the rays f1 = (u1, v1, 1), f2 = (u2, v2, 1) with d2 f2 ≈ R d1 f1 + t (midpoint method,
 * least squares); null for parallel rays.
 */
export function twoViewDepths(R: ArrayLike<number>, t: ArrayLike<number>, u1: number, v1: number, u2: number, v2: number): [number, number] | null {
  const a0 = R[0] * u1 + R[1] * v1 + R[2], a1 = R[3] * u1 + R[4] * v1 + R[5], a2 = R[6] * u1 + R[7] * v1 + R[8];
  // [a, -f2] [d1 d2]^T = -t
  const aa = a0 * a0 + a1 * a1 + a2 * a2, ab = -(a0 * u2 + a1 * v2 + a2), bb = u2 * u2 + v2 * v2 + 1;
  const ra = -(a0 * t[0] + a1 * t[1] + a2 * t[2]), rb = u2 * t[0] + v2 * t[1] + t[2];
  const det = aa * bb - ab * ab;
  if (Math.abs(det) < 1e-12 * aa * bb) return null;
  return [(ra * bb - ab * rb) / det, (aa * rb - ab * ra) / det];
}

/** The non-minimal fits' scratch model (distinct from FIVE_OUT: LO runs while a hypothesis' models are iterated). */
const fitBuf = new Float64Array(9);

/** loRansac's copy for 3 x 3 models: into dst, or a fresh array for a result. */
function copy9(src: Float64Array, dst: Float64Array | null): Float64Array {
  if (!dst) return Float64Array.from(src);
  dst.set(src);
  return dst;
}

/** twoViewDepths(...) gives two positive depths, without its result array (same arithmetic). */
function inFront(R: ArrayLike<number>, t: ArrayLike<number>, u1: number, v1: number, u2: number, v2: number): boolean {
  const a0 = R[0] * u1 + R[1] * v1 + R[2], a1 = R[3] * u1 + R[4] * v1 + R[5], a2 = R[6] * u1 + R[7] * v1 + R[8];
  const aa = a0 * a0 + a1 * a1 + a2 * a2, ab = -(a0 * u2 + a1 * v2 + a2), bb = u2 * u2 + v2 * v2 + 1;
  const ra = -(a0 * t[0] + a1 * t[1] + a2 * t[2]), rb = u2 * t[0] + v2 * t[1] + t[2];
  const det = aa * bb - ab * ab;
  if (Math.abs(det) < 1e-12 * aa * bb) return false;
  return (ra * bb - ab * rb) / det > 0 && (aa * rb - ab * ra) / det > 0;
}

export interface EssentialResult extends RansacResult<Float64Array> {
  pose: RelativePose;
}

/**
 * LO-RANSAC for E with the 5-point minimal solver and the 8-point solver for local optimisation. x1, x2: normalised
 * coordinates; `threshold`: Sampson distance in the same normalised units (pixels / focal).
 */
export function estimateEssential(x1: Float64Array, x2: Float64Array, threshold: number, opts: { seed?: number; maxIterations?: number; confidence?: number; minInliers?: number } = {}): EssentialResult | null {
  const n = x1.length / 2;
  if (n < 5) return null;
  const res = loRansac<Float64Array>(
    {
      sampleSize: 5,
      // Scratch models (FIVE_OUT, fitBuf), copied by loRansac when it keeps one: no allocation per hypothesis.
      minimal: (s) => FIVE_LISTS[essentialFivePointInto(x1, x2, s)],
      nonMinimal: (idx, count) => (eightPointInto(x1, x2, idx, count, true, fitBuf) ? fitBuf : null),
      residual2: (E, i) => sampson2(E, x1, x2, i),
      copy: copy9,
    },
    n,
    { threshold, seed: opts.seed, maxIterations: opts.maxIterations ?? 2000, confidence: opts.confidence ?? 0.9999, minIterations: 30, minInliers: opts.minInliers },
  );
  if (!res) return null;
  const pose0 = decomposeEssential(res.model, x1, x2, res.inliers);
  if (!pose0) return null;
  // The linear 8-point fit is biased; refine R, t on the Sampson error of the inliers, then re-collect inliers.
  const refined = refineRelativePose(x1, x2, res.inliers, pose0.R, pose0.t, 20);
  const E = essentialFromPose(refined.R, refined.t);
  const thr2 = threshold * threshold;
  const inliers = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) if (sampson2(E, x1, x2, i) < thr2) { inliers[i] = 1; count++; }
  if (count < res.inlierCount * 0.9) return { ...res, pose: pose0 };
  const pose = decomposeEssential(E, x1, x2, inliers) ?? pose0;
  return { ...res, model: E, inliers, inlierCount: count, pose };
}

export function essentialFromPose(R: ArrayLike<number>, t: ArrayLike<number>): Float64Array {
  const tx = [0, -t[2], t[1], t[2], 0, -t[0], -t[1], t[0], 0];
  return mul3(tx, R);
}

/** E of camera 2 from camera 1 for two world-to-camera poses [R|t] (row-major 3x4): E = [t]x R, R = R2 R1^T, t = t2 - R t1. */
export function essentialBetween(P1: ArrayLike<number>, P2: ArrayLike<number>): Float64Array {
  const R = new Float64Array(9), t = new Float64Array(3);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) R[3 * r + c] = P2[4 * r] * P1[4 * c] + P2[4 * r + 1] * P1[4 * c + 1] + P2[4 * r + 2] * P1[4 * c + 2];
  for (let r = 0; r < 3; r++) t[r] = P2[4 * r + 3] - (R[3 * r] * P1[3] + R[3 * r + 1] * P1[7] + R[3 * r + 2] * P1[11]);
  return Float64Array.of(
    -t[2] * R[3] + t[1] * R[6], -t[2] * R[4] + t[1] * R[7], -t[2] * R[5] + t[1] * R[8],
    t[2] * R[0] - t[0] * R[6], t[2] * R[1] - t[0] * R[7], t[2] * R[2] - t[0] * R[8],
    -t[1] * R[0] + t[0] * R[3], -t[1] * R[1] + t[0] * R[4], -t[1] * R[2] + t[0] * R[5],
  );
}

/** Signed Sampson residual (numerator / sqrt(denominator)). */
function sampsonSigned(E: ArrayLike<number>, x1: Float64Array, x2: Float64Array, i: number): number {
  const u1 = x1[2 * i], v1 = x1[2 * i + 1], u2 = x2[2 * i], v2 = x2[2 * i + 1];
  const ex0 = E[0] * u1 + E[1] * v1 + E[2], ex1 = E[3] * u1 + E[4] * v1 + E[5], ex2 = E[6] * u1 + E[7] * v1 + E[8];
  const etx0 = E[0] * u2 + E[3] * v2 + E[6], etx1 = E[1] * u2 + E[4] * v2 + E[7];
  const den = ex0 * ex0 + ex1 * ex1 + etx0 * etx0 + etx1 * etx1;
  return den > 0 ? (u2 * ex0 + v2 * ex1 + ex2) / Math.sqrt(den) : 0;
}

/**
 * Levenberg-Marquardt on the Sampson error of the masked correspondences over the 5 degrees of freedom of a
 * relative pose: R <- exp(w) R, t <- normalise(t + B d) with B a basis of t's tangent plane. The Jacobian is by
 * central differences (5 parameters, once per pair: cheap next to RANSAC).
 */
export function refineRelativePose(x1: Float64Array, x2: Float64Array, mask: Uint8Array, R0: ArrayLike<number>, t0: ArrayLike<number>, iterations = 20): { R: Float64Array; t: Float64Array } {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx.push(i);
  const m = idx.length;
  let R: Float64Array = Float64Array.from(R0), t: Float64Array = Float64Array.from(t0);
  // Trial poses go to scratch (rfR, rfT: 11 per iteration); an accepted step is copied out fresh.
  const apply = (Rb: Float64Array, tb: Float64Array, d: ArrayLike<number>): void => {
    // Tangent basis of t (a = e_x or e_y).
    const ax = Math.abs(tb[0]) < 0.9 ? 1 : 0, ay = 1 - ax, az = 0;
    let b10 = tb[1] * az - tb[2] * ay, b11 = tb[2] * ax - tb[0] * az, b12 = tb[0] * ay - tb[1] * ax;
    const n1 = Math.hypot(b10, b11, b12);
    b10 /= n1; b11 /= n1; b12 /= n1;
    const b20 = tb[1] * b12 - tb[2] * b11, b21 = tb[2] * b10 - tb[0] * b12, b22 = tb[0] * b11 - tb[1] * b10;
    mul3(angleAxisToRotation(d[0], d[1], d[2], rfRot), Rb, rfR);
    const tn = rfT;
    tn[0] = tb[0] + d[3] * b10 + d[4] * b20; tn[1] = tb[1] + d[3] * b11 + d[4] * b21; tn[2] = tb[2] + d[3] * b12 + d[4] * b22;
    const nt = Math.hypot(tn[0], tn[1], tn[2]);
    for (let k = 0; k < 3; k++) tn[k] /= nt;
  };
  const residuals = (Rb: Float64Array, tb: Float64Array, out: Float64Array) => {
    const E = essentialFromPoseInto(Rb, tb, rfE);
    let c = 0;
    for (let k = 0; k < m; k++) { out[k] = sampsonSigned(E, x1, x2, idx[k]); c += out[k] * out[k]; }
    return c;
  };
  const r = new Float64Array(m), rp = new Float64Array(m), rm = new Float64Array(m);
  const J = new Float64Array(m * 5);
  let cost = residuals(R, t, r);
  let lambda = 1e-4;
  const h = 1e-7;
  const d = rfD;
  const H = rfH, g = rfG, A = rfA, negG = rfNegG;
  for (let it = 0; it < iterations; it++) {
    for (let p = 0; p < 5; p++) {
      d.fill(0); d[p] = h;
      apply(R, t, d);
      residuals(rfR, rfT, rp);
      d[p] = -h;
      apply(R, t, d);
      residuals(rfR, rfT, rm);
      for (let k = 0; k < m; k++) J[k * 5 + p] = (rp[k] - rm[k]) / (2 * h);
    }
    H.fill(0); g.fill(0);
    for (let k = 0; k < m; k++) for (let a = 0; a < 5; a++) {
      g[a] += J[k * 5 + a] * r[k];
      for (let b = 0; b < 5; b++) H[a * 5 + b] += J[k * 5 + a] * J[k * 5 + b];
    }
    let improved = false;
    for (let attempt = 0; attempt < 6; attempt++) {
      A.set(H);
      for (let a = 0; a < 5; a++) A[a * 5 + a] += lambda * Math.max(H[a * 5 + a], 1e-12);
      for (let a = 0; a < 5; a++) negG[a] = -g[a];
      const step = solveLinear(A, negG, 5);
      if (!step) { lambda *= 10; continue; }
      apply(R, t, step);
      const c = residuals(rfR, rfT, rp);
      if (c < cost) {
        const rel = (cost - c) / cost;
        R = Float64Array.from(rfR); t = Float64Array.from(rfT); cost = c; r.set(rp); lambda = Math.max(1e-10, lambda / 10); improved = true;
        // Converged: a relative decrease of 1e-7 moves no Sampson residual by a measurable fraction of a pixel, and
        // each further iteration costs 11 passes over the inliers (the central-difference Jacobian).
        if (rel < 1e-7) return { R, t };
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  return { R, t };
}

// Scratch of refineRelativePose (not re-entrant; see FIVE_OUT on why).
const rfRot = new Float64Array(9), rfR = new Float64Array(9), rfT = new Float64Array(3), rfE = new Float64Array(9), rfTx = new Float64Array(9);
const rfD = new Float64Array(5), rfH = new Float64Array(25), rfG = new Float64Array(5), rfA = new Float64Array(25), rfNegG = new Float64Array(5);

/** essentialFromPose into out (through rfTx). */
function essentialFromPoseInto(R: ArrayLike<number>, t: ArrayLike<number>, out: Float64Array<ArrayBuffer>): Float64Array {
  const tx = rfTx;
  tx[0] = 0; tx[1] = -t[2]; tx[2] = t[1]; tx[3] = t[2]; tx[4] = 0; tx[5] = -t[0]; tx[6] = -t[1]; tx[7] = t[0]; tx[8] = 0;
  return mul3(tx, R, out);
}

/**
 * LO-RANSAC for a fundamental matrix (8-point minimal and least-squares solver, rank 2 enforced) on the Sampson
 * error: the verification model when a focal length is only a guess, where E's calibrated constraint would reject
 * true matches (a 10% focal error shifts epipolar lines by several pixels at the image border).
 */
export function estimateFundamental(x1: Float64Array, x2: Float64Array, threshold: number, opts: { seed?: number; maxIterations?: number; minInliers?: number } = {}): RansacResult<Float64Array> | null {
  const n = x1.length / 2;
  return loRansac<Float64Array>(
    {
      sampleSize: 8,
      // Scratch models (see estimateEssential).
      minimal: (s) => (eightPointInto(x1, x2, s, 8, false, FIVE_OUT[0]) ? FIVE_LISTS[1] : FIVE_LISTS[0]),
      nonMinimal: (idx, count) => (eightPointInto(x1, x2, idx, count, false, fitBuf) ? fitBuf : null),
      residual2: (F, i) => sampson2(F, x1, x2, i),
      copy: copy9,
    },
    n,
    { threshold, seed: opts.seed, maxIterations: opts.maxIterations ?? 3000, confidence: 0.999, minIterations: 50, minInliers: opts.minInliers },
  );
}
