/**
 * Small dense linear algebra for the SfM estimators and bundle adjustment, on Float64Array, row-major.
 * (src/eval/linalg.ts holds the evaluator's symmetric eigen solver on plain arrays; the estimators here need SVD,
 * nullspaces, Cholesky and polynomial roots on typed arrays in hot loops, which it does not provide.)
 */

/**
 * Singular value decomposition of an m x n matrix (m >= n) by one-sided Jacobi rotations: accurate to machine
 * precision for the small matrices we use (up to ~12 columns). Returns singular values in descending order, V
 * (n x n, columns = right singular vectors) and, when wanted, U (m x n).
 */
export function svd(a: Float64Array, m: number, n: number, wantU = false): { s: Float64Array; V: Float64Array; U?: Float64Array } {
  if (m < n) {
    // Pad with zero rows: the right singular vectors (and the nullspace) are unchanged.
    const padded = new Float64Array(n * n);
    padded.set(a.subarray(0, m * n));
    return svd(padded, n, n, wantU);
  }
  const s = new Float64Array(n), V = new Float64Array(n * n), U = wantU ? new Float64Array(m * n) : undefined;
  svdCore(a, m, n, new Float64Array(m * n), new Float64Array(n * n), new Float64Array(n), s, V, U ?? null);
  return { s, V, U };
}

// Scratch of svdInto (each worker has its own module instance; svdInto does not re-enter itself).
const SVD_MAX = 144;
const svdA = new Float64Array(SVD_MAX), svdV = new Float64Array(SVD_MAX), svdNorms = new Float64Array(12);

/**
 * svd into the caller's s (n), V (n x n) and U (m x n, or null), without allocating (m >= n, m * n <= 144, n <= 12:
 * the estimators' 3 x 3 and 9 x 9 cases, per RANSAC hypothesis). Same arithmetic as svd, so bit-identical results.
 */
export function svdInto(a: Float64Array, m: number, n: number, s: Float64Array, V: Float64Array, U: Float64Array | null): void {
  if (m < n || m * n > SVD_MAX || n > 12) throw new Error(`svdInto: ${m} x ${n} is outside its scratch`);
  svdCore(a, m, n, svdA, svdV, svdNorms, s, V, U);
}

/** One-sided Jacobi on the scratch A (m x n) and V0 (n x n); results into s, Vs and U. */
function svdCore(a: Float64Array, m: number, n: number, A: Float64Array, V: Float64Array, norms: Float64Array, s: Float64Array, Vs: Float64Array, U: Float64Array | null): void {
  for (let k = 0; k < m * n; k++) A[k] = a[k];
  for (let k = 0; k < n * n; k++) V[k] = 0;
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let k = 0; k < m; k++) {
          const ap = A[k * n + p], aq = A[k * n + q];
          alpha += ap * ap;
          beta += aq * aq;
          gamma += ap * aq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), sn = c * t;
        for (let k = 0; k < m; k++) {
          const ap = A[k * n + p], aq = A[k * n + q];
          A[k * n + p] = c * ap - sn * aq;
          A[k * n + q] = sn * ap + c * aq;
        }
        for (let k = 0; k < n; k++) {
          const vp = V[k * n + p], vq = V[k * n + q];
          V[k * n + p] = c * vp - sn * vq;
          V[k * n + q] = sn * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }
  let finite = true;
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let k = 0; k < m; k++) sum += A[k * n + j] * A[k * n + j];
    norms[j] = Math.sqrt(sum);
    if (!Number.isFinite(norms[j])) finite = false;
  }
  // Columns by descending norm, ties in index order. With finite norms the comparator is a consistent order and any
  // stable sort (Array.prototype.sort is stable) gives this order: a stable insertion sort, without allocating.
  // Non-finite norms (NaN input) make the comparator inconsistent: the original sort call then decides the order.
  const order = finite ? svdOrder(norms, n) : Array.from({ length: n }, (_, i) => i).sort((x, y) => norms[y] - norms[x]);
  for (let j = 0; j < n; j++) {
    const o = order[j];
    s[j] = norms[o];
    for (let k = 0; k < n; k++) Vs[k * n + j] = V[k * n + o];
    if (U) for (let k = 0; k < m; k++) U[k * n + j] = norms[o] > 0 ? A[k * n + o] / norms[o] : 0;
  }
}

const svdOrderBuf = new Int32Array(12);
function svdOrder(norms: Float64Array, n: number): Int32Array {
  const order = n <= 12 ? svdOrderBuf : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && norms[order[j - 1]] < norms[i]) { order[j] = order[j - 1]; j--; }
    order[j] = i;
  }
  return order;
}

/** The right singular vector of the smallest singular value (unit norm): the least-squares nullspace of A. */
export function nullVector(a: Float64Array, m: number, n: number): Float64Array {
  const { V } = svd(a, m, n);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = V[k * n + n - 1];
  return out;
}

const nvS = new Float64Array(12), nvV = new Float64Array(144);

/** nullVector into out (n), without allocating (svdInto's limits). */
export function nullVectorInto(a: Float64Array, m: number, n: number, out: Float64Array): Float64Array {
  svdInto(a, m, n, nvS, nvV, null);
  for (let k = 0; k < n; k++) out[k] = nvV[k * n + n - 1];
  return out;
}

/**
 * The `count` right singular vectors with the smallest singular values, as rows of a count x n array
 * (out[i*n + k] = component k of the i-th vector; i = 0 is the smallest).
 */
export function nullspace(a: Float64Array, m: number, n: number, count: number): Float64Array {
  const { V } = svd(a, m, n);
  const out = new Float64Array(count * n);
  for (let i = 0; i < count; i++) for (let k = 0; k < n; k++) out[i * n + k] = V[k * n + n - 1 - i];
  return out;
}

/**
 * Unit nullvector of an (n-1) x n matrix of full rank by Gauss-Jordan elimination with partial pivoting: for
 * minimal solvers (8-point F, 4-point H, 6-point DLT) where an SVD would dominate the RANSAC loop. Null when the
 * rows are (nearly) dependent.
 */
export function nullVectorMinimal(a: ArrayLike<number>, n: number): Float64Array | null {
  const x = new Float64Array(n);
  return nullVectorMinimalInto(a, n, x) ? x : null;
}

// Scratch of nullVectorMinimalInto, grown on demand (the estimators use n = 9, P6P n = 12).
let nvmA = new Float64Array(132), nvmPerm = new Int32Array(12);

/** nullVectorMinimal into x (n), without allocating; false (x unspecified) when the rows are (nearly) dependent. */
export function nullVectorMinimalInto(a: ArrayLike<number>, n: number, x: Float64Array): boolean {
  const m = n - 1;
  if (nvmA.length < a.length) nvmA = new Float64Array(a.length);
  if (nvmPerm.length < n) nvmPerm = new Int32Array(n);
  const A = nvmA, perm = nvmPerm;
  for (let k = 0; k < a.length; k++) A[k] = a[k];
  for (let i = 0; i < n; i++) perm[i] = i;
  let scale = 0;
  for (let k = 0; k < m * n; k++) scale = Math.max(scale, Math.abs(A[k]));
  if (scale === 0) return false;
  for (let c = 0; c < m; c++) {
    // Full pivoting over the remaining rows and columns for stability.
    let pr = c, pc = c, best = 0;
    for (let r = c; r < m; r++) for (let k = c; k < n; k++) { const v = Math.abs(A[r * n + k]); if (v > best) { best = v; pr = r; pc = k; } }
    if (best < 1e-12 * scale) return false;
    if (pr !== c) for (let k = 0; k < n; k++) { const t = A[c * n + k]; A[c * n + k] = A[pr * n + k]; A[pr * n + k] = t; }
    if (pc !== c) { for (let r = 0; r < m; r++) { const t = A[r * n + c]; A[r * n + c] = A[r * n + pc]; A[r * n + pc] = t; } const t = perm[c]; perm[c] = perm[pc]; perm[pc] = t; }
    const inv = 1 / A[c * n + c];
    for (let k = c; k < n; k++) A[c * n + k] *= inv;
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = A[r * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
    }
  }
  // [I | b] x = 0 with x_last = 1  ->  x_r = -b_r
  let nn = 1;
  for (let r = 0; r < m; r++) nn += A[r * n + m] ** 2;
  nn = 1 / Math.sqrt(nn);
  for (let r = 0; r < m; r++) x[perm[r]] = -A[r * n + m] * nn;
  x[perm[m]] = nn;
  return true;
}

/** In-place Cholesky factorisation of a symmetric positive definite n x n matrix (lower triangle used/written). */
export function cholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    const inv = 1 / ljj;
    const j4 = j & ~3;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      // Row dot product unrolled by four with independent accumulators (the bundle adjuster's hot loop).
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let k = 0;
      for (; k < j4; k += 4) {
        s0 += a[ri + k] * a[rj + k];
        s1 += a[ri + k + 1] * a[rj + k + 1];
        s2 += a[ri + k + 2] * a[rj + k + 2];
        s3 += a[ri + k + 3] * a[rj + k + 3];
      }
      for (; k < j; k++) s0 += a[ri + k] * a[rj + k];
      a[ri + j] = (a[ri + j] - (s0 + s1) - (s2 + s3)) * inv;
    }
  }
  return true;
}

/** Solves L L^T x = b in place (b becomes x) with the factor from `cholesky`. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[k];
    b[i] = s / l[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

/** Solves the n x n system A x = b by Gaussian elimination with partial pivoting; null when singular. */
export function solveLinear(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const A = Float64Array.from(a.subarray(0, n * n));
  const x = Float64Array.from(b.subarray(0, n));
  for (let c = 0; c < n; c++) {
    let piv = c, best = Math.abs(A[c * n + c]);
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > best) { best = Math.abs(A[r * n + c]); piv = r; }
    if (best < 1e-300) return null;
    if (piv !== c) {
      for (let k = 0; k < n; k++) { const t = A[c * n + k]; A[c * n + k] = A[piv * n + k]; A[piv * n + k] = t; }
      const t = x[c]; x[c] = x[piv]; x[piv] = t;
    }
    const inv = 1 / A[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c] * inv;
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= A[r * n + k] * x[k];
    x[r] = s / A[r * n + r];
  }
  return x;
}

/**
 * Least-squares solution of the m x n system A x = b (m >= n) by Householder QR (no squaring of the condition
 * number, unlike the normal equations); null when A is rank deficient.
 */
export function leastSquares(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number): Float64Array | null {
  const x = new Float64Array(n);
  return leastSquaresCore(a, b, m, n, new Float64Array(a.length), new Float64Array(b.length), x) ? x : null;
}

const lsA = new Float64Array(64), lsY = new Float64Array(8);

/** leastSquares into x (n) without allocating (m * n <= 64, m <= 8: the 5-point solver's 6 x 5); false when rank deficient. */
export function leastSquaresInto(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, x: Float64Array): boolean {
  if (a.length > lsA.length || b.length > lsY.length) throw new Error(`leastSquaresInto: ${m} x ${n} is outside its scratch`);
  return leastSquaresCore(a, b, m, n, lsA, lsY, x);
}

function leastSquaresCore(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, A: Float64Array, y: Float64Array, x: Float64Array): boolean {
  for (let k = 0; k < a.length; k++) A[k] = a[k];
  for (let k = 0; k < b.length; k++) y[k] = b[k];
  let scale = 0;
  for (let k = 0; k < m * n; k++) scale = Math.max(scale, Math.abs(A[k]));
  for (let c = 0; c < n; c++) {
    let norm = 0;
    for (let r = c; r < m; r++) norm += A[r * n + c] * A[r * n + c];
    norm = Math.sqrt(norm);
    if (norm <= 1e-14 * scale) return false;
    const alpha = A[c * n + c] > 0 ? -norm : norm;
    // v = x - alpha e1, stored in place below the diagonal (v0 separately).
    const v0 = A[c * n + c] - alpha;
    let vn = v0 * v0;
    for (let r = c + 1; r < m; r++) vn += A[r * n + c] * A[r * n + c];
    if (vn === 0) continue;
    for (let j = c + 1; j < n; j++) {
      let s = v0 * A[c * n + j];
      for (let r = c + 1; r < m; r++) s += A[r * n + c] * A[r * n + j];
      s = (2 * s) / vn;
      A[c * n + j] -= s * v0;
      for (let r = c + 1; r < m; r++) A[r * n + j] -= s * A[r * n + c];
    }
    let s = v0 * y[c];
    for (let r = c + 1; r < m; r++) s += A[r * n + c] * y[r];
    s = (2 * s) / vn;
    y[c] -= s * v0;
    for (let r = c + 1; r < m; r++) y[r] -= s * A[r * n + c];
    A[c * n + c] = alpha;
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = y[r];
    for (let k = r + 1; k < n; k++) s -= A[r * n + k] * x[k];
    x[r] = s / A[r * n + r];
  }
  return true;
}

/** Inverse of a symmetric 3x3 (given as 6 unique entries a00 a01 a02 a11 a12 a22) into out (same layout); false if singular. */
export function invertSym3(a00: number, a01: number, a02: number, a11: number, a12: number, a22: number, out: Float64Array, o = 0): boolean {
  const c00 = a11 * a22 - a12 * a12, c01 = a02 * a12 - a01 * a22, c02 = a01 * a12 - a02 * a11;
  const det = a00 * c00 + a01 * c01 + a02 * c02;
  if (!(Math.abs(det) > 1e-300)) return false;
  const id = 1 / det;
  out[o] = c00 * id;
  out[o + 1] = c01 * id;
  out[o + 2] = c02 * id;
  out[o + 3] = (a00 * a22 - a02 * a02) * id;
  out[o + 4] = (a01 * a02 - a00 * a12) * id;
  out[o + 5] = (a00 * a11 - a01 * a01) * id;
  return true;
}

// ---- 3x3 helpers (row-major, Float64Array or number[]) ----
type M = ArrayLike<number>;

export function mul3(a: M, b: M, out = new Float64Array(9)): Float64Array {
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  return out;
}

export function transpose3(a: M): Float64Array {
  return Float64Array.of(a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]);
}

export function det3(a: M): number {
  return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
}

/** Rotation matrix from an angle-axis vector (Rodrigues). */
export function angleAxisToRotation(wx: number, wy: number, wz: number, out = new Float64Array(9), o = 0): Float64Array {
  const th2 = wx * wx + wy * wy + wz * wz;
  let a: number, b: number;
  if (th2 < 1e-16) {
    // Taylor expansion near zero keeps the matrix orthonormal to first order.
    a = 1 - th2 / 6; b = 0.5 - th2 / 24;
  } else {
    const th = Math.sqrt(th2);
    a = Math.sin(th) / th; b = (1 - Math.cos(th)) / th2;
  }
  out[o] = 1 - b * (wy * wy + wz * wz);
  out[o + 1] = -a * wz + b * wx * wy;
  out[o + 2] = a * wy + b * wx * wz;
  out[o + 3] = a * wz + b * wx * wy;
  out[o + 4] = 1 - b * (wx * wx + wz * wz);
  out[o + 5] = -a * wx + b * wy * wz;
  out[o + 6] = -a * wy + b * wx * wz;
  out[o + 7] = a * wx + b * wy * wz;
  out[o + 8] = 1 - b * (wx * wx + wy * wy);
  return out;
}

/** Angle-axis vector of a rotation matrix. */
export function rotationToAngleAxis(r: M): [number, number, number] {
  const cos = Math.min(1, Math.max(-1, (r[0] + r[4] + r[8] - 1) / 2));
  const th = Math.acos(cos);
  const vx = r[7] - r[5], vy = r[2] - r[6], vz = r[3] - r[1];
  if (th < 1e-6) return [vx / 2, vy / 2, vz / 2];
  if (Math.PI - th > 1e-4) {
    const k = th / (2 * Math.sin(th));
    return [vx * k, vy * k, vz * k];
  }
  // Near pi: the axis from the symmetric part.
  const xx = Math.sqrt(Math.max(0, (r[0] + 1) / 2)), yy = Math.sqrt(Math.max(0, (r[4] + 1) / 2)), zz = Math.sqrt(Math.max(0, (r[8] + 1) / 2));
  let ax: number, ay: number, az: number;
  if (xx >= yy && xx >= zz) { ax = xx; ay = (r[1] + r[3]) / (4 * xx); az = (r[2] + r[6]) / (4 * xx); }
  else if (yy >= zz) { ay = yy; ax = (r[1] + r[3]) / (4 * yy); az = (r[5] + r[7]) / (4 * yy); }
  else { az = zz; ax = (r[2] + r[6]) / (4 * zz); ay = (r[5] + r[7]) / (4 * zz); }
  if (ax * vx + ay * vy + az * vz < 0) { ax = -ax; ay = -ay; az = -az; }
  const n = Math.hypot(ax, ay, az);
  return [(ax / n) * th, (ay / n) * th, (az / n) * th];
}

/** Nearest rotation (Frobenius) to a 3x3 matrix, via SVD. */
export function nearestRotation(a: M): Float64Array {
  const { U, V } = svd(Float64Array.from(a as ArrayLike<number>), 3, 3, true);
  const r = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[i * 3 + j] = U![i * 3] * V[j * 3] + U![i * 3 + 1] * V[j * 3 + 1] + U![i * 3 + 2] * V[j * 3 + 2];
  if (det3(r) < 0) {
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[i * 3 + j] = U![i * 3] * V[j * 3] + U![i * 3 + 1] * V[j * 3 + 1] - U![i * 3 + 2] * V[j * 3 + 2];
  }
  return r;
}

/** Angle in degrees between two rotation matrices. */
export function rotationDistanceDeg(a: M, b: M): number {
  let tr = 0;
  for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) tr += a[i * 3 + k] * b[i * 3 + k];
  return (Math.acos(Math.min(1, Math.max(-1, (tr - 1) / 2))) * 180) / Math.PI;
}

// ---- polynomials (coefficients low -> high degree) ----

export function polyEval(c: ArrayLike<number>, deg: number, x: number): number {
  let v = c[deg];
  for (let i = deg - 1; i >= 0; i--) v = v * x + c[i];
  return v;
}

/**
 * All real roots of a polynomial (coefficients low -> high), by isolating them between the real roots of its
 * derivative (recursively) and bisecting each bracket. Exact-enough and branch-free of complex arithmetic; double
 * roots that only touch zero are reported when the polynomial nearly vanishes at the derivative's root.
 */
export function realRoots(coeffs: ArrayLike<number>): number[] {
  const out = new Float64Array(Math.max(1, coeffs.length - 1));
  const k = realRootsInto(coeffs, coeffs.length, out);
  return Array.from(out.subarray(0, k));
}

/**
 * realRoots of coeffs[0..len) into out (at least len - 1 long: a degree-d polynomial has at most d roots here, one
 * per bracket), ascending; returns how many. Allocation-free after the first call of a degree (per-degree scratch).
 */
export function realRootsInto(coeffs: ArrayLike<number>, len: number, out: Float64Array): number {
  let deg = len - 1;
  let scale = 0;
  for (let i = 0; i <= deg; i++) scale = Math.max(scale, Math.abs(coeffs[i]));
  if (scale === 0) return 0;
  while (deg > 0 && Math.abs(coeffs[deg]) <= 1e-14 * scale) deg--;
  if (deg === 0) return 0;
  const c = rootScratch(deg).c;
  for (let i = 0; i <= deg; i++) c[i] = coeffs[i] / coeffs[deg];
  return rootsMonic(c, deg, out);
}

/** Per-degree buffers of rootsMonic: c (deg + 1, realRootsInto's normalised copy), d (the derivative), crit (its
 * roots), pts (the brackets' ends). Each recursion level has its own degree, hence its own buffers. */
interface RootScratch { c: Float64Array; d: Float64Array; crit: Float64Array; pts: Float64Array }
const rootScratches: RootScratch[] = [];
function rootScratch(deg: number): RootScratch {
  let r = rootScratches[deg];
  if (!r) {
    for (let k = rootScratches.length; k < deg; k++) rootScratches.push(undefined as unknown as RootScratch);
    r = { c: new Float64Array(deg + 1), d: new Float64Array(deg), crit: new Float64Array(Math.max(1, deg - 1)), pts: new Float64Array(deg + 1) };
    rootScratches[deg] = r;
  }
  return r;
}

function rootsMonic(c: Float64Array, deg: number, roots: Float64Array): number {
  if (deg === 1) { roots[0] = -c[0] / c[1]; return 1; }
  if (deg === 2) {
    const a = c[2], b = c[1], cc = c[0];
    const disc = b * b - 4 * a * cc;
    if (disc < 0) return 0;
    const q = -0.5 * (b + Math.sign(b || 1) * Math.sqrt(disc));
    const r1 = q / a, r2 = q !== 0 ? cc / q : r1;
    if (r1 < r2) { roots[0] = r1; roots[1] = r2; } else { roots[0] = r2; roots[1] = r1; }
    return 2;
  }
  let bound = 0;
  for (let i = 0; i < deg; i++) bound = Math.max(bound, Math.abs(c[i] / c[deg]));
  bound += 1;
  const { d, crit, pts } = rootScratch(deg);
  for (let i = 1; i <= deg; i++) d[i - 1] = i * c[i];
  const nCrit = rootsMonic(d, deg - 1, crit);
  // The brackets: -bound, the derivative's roots inside (-bound, bound) in order, bound.
  let np = 0;
  pts[np++] = -bound;
  for (let k = 0; k < nCrit; k++) { const x = crit[k]; if (x > -bound && x < bound) pts[np++] = x; }
  pts[np++] = bound;
  let nr = 0;
  let fa = polyEval(c, deg, pts[0]);
  for (let k = 0; k + 1 < np; k++) {
    const a = pts[k], b = pts[k + 1];
    const fb = polyEval(c, deg, b);
    if (fa === 0) roots[nr++] = a;
    else if (fa * fb < 0) {
      let lo = a, hi = b, flo = fa;
      for (let it = 0; it < 200; it++) {
        const mid = 0.5 * (lo + hi);
        if (mid === lo || mid === hi) break;
        const fm = polyEval(c, deg, mid);
        if (fm === 0) { lo = hi = mid; break; }
        if (fm * flo < 0) hi = mid;
        else { lo = mid; flo = fm; }
      }
      roots[nr++] = 0.5 * (lo + hi);
    } else if (k + 1 < np - 1) {
      // A double root at a critical point: keep it when the value is negligible.
      let mag = 0;
      for (let i = 0; i <= deg; i++) mag += Math.abs(c[i]) * Math.abs(b) ** i;
      if (Math.abs(fb) <= 1e-10 * mag) roots[nr++] = b;
    }
    fa = fb;
  }
  return nr;
}

/** Polynomial product (low -> high). */
export function polyMul(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length + b.length - 1);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i + j] += a[i] * b[j];
  return out;
}

export function polySub(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.max(a.length, b.length));
  for (let i = 0; i < a.length; i++) out[i] += a[i];
  for (let i = 0; i < b.length; i++) out[i] -= b[i];
  return out;
}

/** Seeded PRNG (mulberry32) so RANSAC runs are reproducible. */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct random indices in [0, n) into out (rejection; k is tiny). */
export function sampleDistinct(rng: () => number, n: number, k: number, out: Uint32Array): void {
  for (let i = 0; i < k; i++) {
    let v: number;
    let dup: boolean;
    do {
      v = Math.floor(rng() * n);
      dup = false;
      for (let j = 0; j < i; j++) if (out[j] === v) { dup = true; break; }
    } while (dup);
    out[i] = v;
  }
}

/** RANSAC iterations needed to draw one all-inlier sample of size s with confidence p at inlier ratio w. */
export function ransacIterations(inlierRatio: number, sampleSize: number, confidence: number, min: number, max: number): number {
  const w = Math.pow(Math.max(1e-12, Math.min(1, inlierRatio)), sampleSize);
  if (w >= 1) return min;
  const n = Math.ceil(Math.log(1 - confidence) / Math.log(1 - w));
  return Math.max(min, Math.min(max, Number.isFinite(n) ? n : max));
}

/** Hartley normalisation of 2-D points (a subset given by indices): T such that T x has zero mean and mean norm sqrt(2). */
export function normaliser(x: Float64Array, idx: ArrayLike<number>, count: number): [number, number, number] {
  const out = new Float64Array(3);
  normaliserInto(x, idx, count, out);
  return [out[0], out[1], out[2]];
}

/** normaliser into out = [s, -s mx, -s my] (allocation-free). */
export function normaliserInto(x: Float64Array, idx: ArrayLike<number>, count: number, out: Float64Array): void {
  let mx = 0, my = 0;
  for (let k = 0; k < count; k++) { mx += x[2 * idx[k]]; my += x[2 * idx[k] + 1]; }
  mx /= count; my /= count;
  let d = 0;
  for (let k = 0; k < count; k++) d += Math.hypot(x[2 * idx[k]] - mx, x[2 * idx[k] + 1] - my);
  d /= count;
  const s = d > 0 ? Math.SQRT2 / d : 1;
  out[0] = s; out[1] = -s * mx; out[2] = -s * my;
}
