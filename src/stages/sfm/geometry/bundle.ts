/**
 * Bundle adjustment: Levenberg-Marquardt over camera poses, intrinsics (focal, optionally k1, k2; blocks shared by
 * any set of cameras) and 3-D points, on the pixel reprojection error with a Huber loss (IRLS weights).
 *
 * - Parameters: rotation by a left angle-axis increment R <- exp([w]x) R (the pose is stored as a matrix, so there
 *   is no singularity at 180 degrees), translation t (camFromWorld), point X, intrinsics f, k1, k2, cx, cy and, where
 *   the problem has one, the pixel aspect a (fy = a f). Analytic Jacobians.
 * - Solver: the Schur complement over points (3 x 3 point blocks inverted in closed form), the reduced camera
 *   system assembled densely and solved by Cholesky: right for up to a few hundred cameras (N = 6 per camera +
 *   intrinsics; 100 cameras -> ~600 unknowns).
 * - Gauge: the caller fixes poses (the first camera) and one translation coordinate of another camera (scale).
 * - Memory: typed arrays only; per-observation Jacobians are stored once per iteration (24 + 6 doubles).
 */
import { INTRINSICS_STRIDE } from './camera';
import { angleAxisToRotation, cholesky, choleskySolve, rotationToAngleAxis } from './linalg';

export interface BundleProblem {
  /** camFromWorld, 12 per camera; updated in place. */
  poses: Float64Array;
  /** [f, cx, cy, k1, k2] per intrinsic block; updated in place. */
  intrinsics: Float64Array;
  /** Intrinsic block of each camera. */
  cameraIntrinsics: Uint32Array;
  /**
   * Pixel aspect per intrinsic block (fy = aspect f: v = aspect f d(r^2) y + cy); updated in place. Absent: square
   * pixels (aspect 1).
   */
  aspect?: Float64Array;
  /** xyz per point; updated in place. */
  points: Float64Array;
  obsCamera: Uint32Array;
  obsPoint: Uint32Array;
  /** Observed pixel (u, v) per observation. */
  obsUv: Float64Array;
}

export interface BundleOptions {
  /** Per camera: 1 = pose held constant. */
  constantPoses?: Uint8Array;
  /** Scale gauge: this camera's translation coordinate is held constant. */
  fixedTranslation?: { camera: number; coordinate: number };
  refineFocal?: boolean;
  /** Refine k1 and k2 of every free intrinsic block (distortionTerms, where given, overrides it per block). */
  refineDistortion?: boolean;
  /** Per intrinsic block: radial terms refined, 0 = none, 1 = k1, 2 = k1 and k2 (only where the block is not constant). */
  distortionTerms?: Uint8Array;
  /** Also refine the principal point (cx, cy) of every free intrinsic block. */
  refinePrincipalPoint?: boolean;
  /** Also refine the pixel aspect of every free intrinsic block (the problem must carry `aspect`). */
  refineAspect?: boolean;
  /** Per intrinsic block: 1 = held constant (e.g. intrinsics shared with cameras outside a local window). */
  constantIntrinsics?: Uint8Array;
  /** Per point: 1 = held constant. */
  constantPoints?: Uint8Array;
  /**
   * Soft prior on the free cameras' poses (refinement of given cameras, refineGiven.ts): adds
   * 0.5 * sum(|log(R R0^T)|^2 / rotationSigma^2 + |C - C0|^2 / translationSigma^2) to the cost (pixel^2 units), C the
   * camera centre, with rotationSigma in radians and translationSigma in the poses' units. Absent: no prior.
   */
  posePrior?: { poses: Float64Array; rotationSigma: number; translationSigma: number };
  /** Huber threshold in pixels. */
  huberDelta?: number;
  maxIterations?: number;
  /** Initial Levenberg-Marquardt damping (relative to the diagonal). */
  initialLambda?: number;
  /** Stop when the relative cost decrease of an accepted step is below this. */
  functionTolerance?: number;
}

export interface BundleReport {
  initialCost: number;
  finalCost: number;
  /** Root mean square reprojection error (pixels) over all observations, before and after. */
  initialRms: number;
  finalRms: number;
  iterations: number;
  /** Unknowns in the reduced camera system. */
  cameraUnknowns: number;
  seconds: number;
  /** Seconds in the Schur assembly and in the Cholesky factorisation (the rest: Jacobians and cost evaluations). */
  assemblySeconds: number;
  factorSeconds: number;
}

/** RMS pixel reprojection error and robust cost of the current parameters (observations behind a camera count as 1e3 px). */
export function reprojectionStats(p: BundleProblem, huberDelta = Infinity): { rms: number; cost: number } {
  const { poses, intrinsics, cameraIntrinsics, points, obsCamera, obsPoint, obsUv, aspect } = p;
  let sum = 0, cost = 0;
  const n = obsCamera.length;
  const d2 = huberDelta * huberDelta;
  for (let o = 0; o < n; o++) {
    const c = obsCamera[o], po = c * 12, io = cameraIntrinsics[c] * INTRINSICS_STRIDE, xo = obsPoint[o] * 3;
    const X = points[xo], Y = points[xo + 1], Z = points[xo + 2];
    const x = poses[po] * X + poses[po + 1] * Y + poses[po + 2] * Z + poses[po + 3];
    const y = poses[po + 4] * X + poses[po + 5] * Y + poses[po + 6] * Z + poses[po + 7];
    const z = poses[po + 8] * X + poses[po + 9] * Y + poses[po + 10] * Z + poses[po + 11];
    let e2: number;
    if (z <= 0) e2 = 1e6;
    else {
      const xn = x / z, yn = y / z, r2 = xn * xn + yn * yn;
      const dist = 1 + intrinsics[io + 3] * r2 + intrinsics[io + 4] * r2 * r2;
      const fy = aspect ? aspect[cameraIntrinsics[c]] * intrinsics[io] : intrinsics[io];
      const ru = intrinsics[io] * dist * xn + intrinsics[io + 1] - obsUv[2 * o], rv = fy * dist * yn + intrinsics[io + 2] - obsUv[2 * o + 1];
      e2 = ru * ru + rv * rv;
    }
    sum += e2;
    cost += e2 <= d2 ? e2 : 2 * huberDelta * Math.sqrt(e2) - d2;
  }
  return { rms: n ? Math.sqrt(sum / n) : 0, cost: 0.5 * cost };
}

/** Intrinsic slot (f, k1, k2, cx, cy) -> offset in the intrinsics stride [f, cx, cy, k1, k2]; slot 5 (aspect) lives in `aspect`. */
const SLOT_OFFSET = [0, 3, 4, 1, 2];
const ASPECT_SLOT = 5;
/** Intrinsic slots: f, k1, k2, cx, cy, aspect. */
const NI = 6;

/** Camera-side columns per observation: 6 pose (rotation increment, translation) + 6 intrinsics (f, k1, k2, cx, cy, aspect). */
const NC = 6 + NI;

export function bundleAdjust(p: BundleProblem, opts: BundleOptions = {}): BundleReport {
  const t0 = performance.now();
  const nCam = p.poses.length / 12, nPts = p.points.length / 3, nObs = p.obsCamera.length;
  const nIntr = p.intrinsics.length / INTRINSICS_STRIDE;
  const delta = opts.huberDelta ?? 2;
  const maxIt = opts.maxIterations ?? 50;
  const ftol = opts.functionTolerance ?? 1e-7;
  const refineFocal = opts.refineFocal ?? false, refineDist = opts.refineDistortion ?? false;
  if (opts.refineAspect && !p.aspect) throw new Error('bundleAdjust: refineAspect needs the problem to carry aspect');

  // Camera-side unknowns in contiguous groups, so that the Schur scatter writes dense blocks without index lookups:
  // 6 pose columns at poseBase[c] per free camera (-1 = constant), and the free intrinsics of block b packed at
  // intrBase[b] (intrCount[b] columns; intrSlot lists which of f, k1, k2, cx, cy, aspect each one is, in Jc's slot
  // numbering 6 + 0..5). All pose columns come before all intrinsic columns. The scale gauge's translation coordinate keeps its
  // column but is pinned: its Jacobian column is zeroed in linearise and its diagonal set to 1 in the solve, which
  // gives exactly the step of the system without it (dc = 0 there).
  const poseBase = new Int32Array(nCam).fill(-1);
  const intrBase = new Int32Array(nIntr).fill(-1), intrCount = new Uint8Array(nIntr), intrSlot = new Uint8Array(NI * nIntr);
  const camUsed = new Uint8Array(nCam), intrUsed = new Uint8Array(nIntr);
  const ptCount = new Uint32Array(nPts);
  for (let o = 0; o < nObs; o++) { camUsed[p.obsCamera[o]] = 1; intrUsed[p.cameraIntrinsics[p.obsCamera[o]]] = 1; ptCount[p.obsPoint[o]]++; }
  let N = 0;
  for (let c = 0; c < nCam; c++) {
    if (!camUsed[c] || opts.constantPoses?.[c]) continue;
    poseBase[c] = N;
    N += 6;
  }
  const pinCamera = opts.fixedTranslation && poseBase[opts.fixedTranslation.camera] >= 0 ? opts.fixedTranslation.camera : -1;
  const pinSlot = pinCamera >= 0 ? 3 + opts.fixedTranslation!.coordinate : -1;
  const pinned = pinCamera >= 0 ? poseBase[pinCamera] + pinSlot : -1;
  // The pose prior (BundleOptions.posePrior): rotation error as the angle-axis of R R0^T, first-order in the left
  // increment (d log / d w = I near the prior), so its gradient is w_r e and its Gauss-Newton block w_r I.
  const prior = opts.posePrior;
  const wRot = prior ? 1 / prior.rotationSigma ** 2 : 0, wTrans = prior ? 1 / prior.translationSigma ** 2 : 0;
  const priorE = new Float64Array(3);
  const priorM = new Float64Array(9);
  const rotationLog = (P: Float64Array, c: number, out: Float64Array) => {
    const po = 12 * c, q = prior!.poses;
    for (let r = 0; r < 3; r++) for (let k = 0; k < 3; k++) priorM[3 * r + k] = P[po + 4 * r] * q[po + 4 * k] + P[po + 4 * r + 1] * q[po + 4 * k + 1] + P[po + 4 * r + 2] * q[po + 4 * k + 2];
    out.set(rotationToAngleAxis(priorM));
  };
  // Centre residual r = t - R R0^T t0 = -R (C - C0) (|r| = |C - C0|, independent of where the world origin is), and
  // a = R R0^T t0, whose cross-product matrix is r's Jacobian in the rotation increment (dr/dt = I).
  const priorR = new Float64Array(3), priorA = new Float64Array(3);
  const centreResidual = (P: Float64Array, c: number, r: Float64Array, a: Float64Array) => {
    const po = 12 * c, q = prior!.poses;
    const b0 = q[po] * q[po + 3] + q[po + 4] * q[po + 7] + q[po + 8] * q[po + 11];
    const b1 = q[po + 1] * q[po + 3] + q[po + 5] * q[po + 7] + q[po + 9] * q[po + 11];
    const b2 = q[po + 2] * q[po + 3] + q[po + 6] * q[po + 7] + q[po + 10] * q[po + 11];
    for (let k = 0; k < 3; k++) {
      a[k] = P[po + 4 * k] * b0 + P[po + 4 * k + 1] * b1 + P[po + 4 * k + 2] * b2;
      r[k] = P[po + 4 * k + 3] - a[k];
    }
  };
  const priorCost = (P: Float64Array): number => {
    if (!prior) return 0;
    let sum = 0;
    for (let c = 0; c < nCam; c++) {
      if (poseBase[c] < 0) continue;
      rotationLog(P, c, priorE);
      sum += wRot * (priorE[0] ** 2 + priorE[1] ** 2 + priorE[2] ** 2);
      centreResidual(P, c, priorR, priorA);
      sum += wTrans * (priorR[0] ** 2 + priorR[1] ** 2 + priorR[2] ** 2);
    }
    return 0.5 * sum;
  };
  for (let b = 0; b < nIntr; b++) {
    if (!intrUsed[b] || opts.constantIntrinsics?.[b]) continue;
    const slots: number[] = [];
    if (refineFocal) slots.push(0);
    const terms = opts.distortionTerms ? opts.distortionTerms[b] : refineDist ? 2 : 0;
    if (terms >= 1) slots.push(1);
    if (terms >= 2) slots.push(2);
    if (opts.refinePrincipalPoint) slots.push(3, 4);
    if (opts.refineAspect) slots.push(ASPECT_SLOT);
    if (!slots.length) continue;
    intrBase[b] = N;
    intrCount[b] = slots.length;
    slots.forEach((sl, k) => { intrSlot[NI * b + k] = sl; });
    N += slots.length;
  }
  // Points: free when seen at least twice and not held constant.
  const ptFree = new Uint8Array(nPts);
  for (let i = 0; i < nPts; i++) ptFree[i] = ptCount[i] >= 2 && !opts.constantPoints?.[i] ? 1 : 0;
  // Observations grouped by point (CSR).
  const ptStart = new Uint32Array(nPts + 1);
  for (let i = 0; i < nPts; i++) ptStart[i + 1] = ptStart[i] + ptCount[i];
  const ptObs = new Uint32Array(nObs);
  {
    const fill = ptStart.slice(0, nPts);
    for (let o = 0; o < nObs; o++) ptObs[fill[p.obsPoint[o]]++] = o;
  }
  // Observations of each point in camera order (the Schur scatter relies on it).
  for (let i = 0; i < nPts; i++) {
    for (let a = ptStart[i] + 1; a < ptStart[i + 1]; a++) {
      const o = ptObs[a], c = p.obsCamera[o];
      let b = a - 1;
      while (b >= ptStart[i] && p.obsCamera[ptObs[b]] > c) { ptObs[b + 1] = ptObs[b]; b--; }
      ptObs[b + 1] = o;
    }
    for (let a = ptStart[i] + 1; a < ptStart[i + 1]; a++) {
      if (p.obsCamera[ptObs[a]] === p.obsCamera[ptObs[a - 1]]) throw new Error('bundleAdjust: a point is observed twice by one camera');
    }
  }
  let maxTrack = 0;
  for (let i = 0; i < nPts; i++) maxTrack = Math.max(maxTrack, ptCount[i]);
  // Per observation: its free columns as (global index, Jc slot) lists, pose columns first (ascending).
  const colCount = new Uint8Array(nObs), colIdx = new Int32Array(NC * nObs), colSlot = new Uint8Array(NC * nObs);
  for (let o = 0; o < nObs; o++) {
    const c = p.obsCamera[o], b = p.cameraIntrinsics[c];
    let n = 0;
    if (poseBase[c] >= 0) for (let k = 0; k < 6; k++) { colIdx[NC * o + n] = poseBase[c] + k; colSlot[NC * o + n] = k; n++; }
    for (let k = 0; k < intrCount[b]; k++) { colIdx[NC * o + n] = intrBase[b] + k; colSlot[NC * o + n] = 6 + intrSlot[NI * b + k]; n++; }
    colCount[o] = n;
  }

  const res = new Float64Array(2 * nObs), Jc = new Float64Array(2 * NC * nObs), Jp = new Float64Array(6 * nObs), wts = new Float64Array(nObs);
  const S = new Float64Array(N * N), Udiag = new Float64Array(N), dc = new Float64Array(N);
  const Vinv = new Float64Array(6 * nPts), gp = new Float64Array(3 * nPts);
  // Per point, the rows of W = J_c^T w J_p (N x 3, sparse) in groups: one of 6 pose rows per observation of a free
  // camera, one per distinct free intrinsic block (summed over the point's observations that share it).
  const maxGroups = 2 * maxTrack;
  const Wbuf = new Float64Array(18 * maxGroups), Ybuf = new Float64Array(18 * maxGroups);
  const groupBase = new Int32Array(maxGroups), groupSize = new Int32Array(maxGroups), groupBlock = new Int32Array(maxGroups);
  const dp = new Float64Array(3 * nPts);
  const candPoses = new Float64Array(p.poses.length), candIntr = new Float64Array(p.intrinsics.length), candPts = new Float64Array(p.points.length);
  const candAspect = p.aspect ? new Float64Array(p.aspect.length) : undefined;
  const Rd = new Float64Array(9);

  const linearise = (): number => {
    const { poses, intrinsics, cameraIntrinsics, points, obsCamera, obsPoint, obsUv, aspect } = p;
    let cost = 0;
    for (let o = 0; o < nObs; o++) {
      const c = obsCamera[o], po = c * 12, io = cameraIntrinsics[c] * INTRINSICS_STRIDE, xo = obsPoint[o] * 3;
      const X = points[xo], Y = points[xo + 1], Z = points[xo + 2];
      const r00 = poses[po], r01 = poses[po + 1], r02 = poses[po + 2], r10 = poses[po + 4], r11 = poses[po + 5], r12 = poses[po + 6], r20 = poses[po + 8], r21 = poses[po + 9], r22 = poses[po + 10];
      const ax = r00 * X + r01 * Y + r02 * Z, ay = r10 * X + r11 * Y + r12 * Z, az = r20 * X + r21 * Y + r22 * Z;
      const x = ax + poses[po + 3], y = ay + poses[po + 7], z = az + poses[po + 11];
      const jo = 2 * NC * o, po6 = 6 * o;
      if (z <= 1e-9) {
        // Behind the camera: no gradient, a constant penalty so the cost stays comparable.
        for (let k = 0; k < 2 * NC; k++) Jc[jo + k] = 0;
        for (let k = 0; k < 6; k++) Jp[po6 + k] = 0;
        res[2 * o] = 0; res[2 * o + 1] = 0; wts[o] = 0;
        cost += 2 * delta * 1e3 - delta * delta;
        continue;
      }
      const f = intrinsics[io], k1 = intrinsics[io + 3], k2 = intrinsics[io + 4];
      // The v row is the square-pixel one times the aspect (exactly it when the aspect is 1).
      const asp = aspect ? aspect[cameraIntrinsics[c]] : 1;
      const iz = 1 / z, xn = x * iz, yn = y * iz, r2 = xn * xn + yn * yn;
      const d = 1 + k1 * r2 + k2 * r2 * r2, dd = k1 + 2 * k2 * r2;
      const ru = f * d * xn + intrinsics[io + 1] - obsUv[2 * o], rv = asp * f * d * yn + intrinsics[io + 2] - obsUv[2 * o + 1];
      const e2 = ru * ru + rv * rv;
      let w = 1;
      if (e2 <= delta * delta) cost += e2;
      else { const e = Math.sqrt(e2); w = delta / e; cost += 2 * delta * e - delta * delta; }
      res[2 * o] = ru; res[2 * o + 1] = rv; wts[o] = w;
      const a00 = f * (d + 2 * xn * xn * dd), a01 = f * 2 * xn * yn * dd, a11 = f * (d + 2 * yn * yn * dd);
      const c00 = a00 * iz, c01 = a01 * iz, c02 = -(a00 * xn + a01 * yn) * iz;
      const c10 = asp * a01 * iz, c11 = asp * a11 * iz, c12 = -asp * (a01 * xn + a11 * yn) * iz;
      Jc[jo] = -c01 * az + c02 * ay; Jc[jo + 1] = c00 * az - c02 * ax; Jc[jo + 2] = -c00 * ay + c01 * ax;
      Jc[jo + 3] = c00; Jc[jo + 4] = c01; Jc[jo + 5] = c02;
      Jc[jo + 6] = d * xn; Jc[jo + 7] = f * r2 * xn; Jc[jo + 8] = f * r2 * r2 * xn; Jc[jo + 9] = 1; Jc[jo + 10] = 0; Jc[jo + 11] = 0;
      const jv = jo + NC;
      Jc[jv] = -c11 * az + c12 * ay; Jc[jv + 1] = c10 * az - c12 * ax; Jc[jv + 2] = -c10 * ay + c11 * ax;
      Jc[jv + 3] = c10; Jc[jv + 4] = c11; Jc[jv + 5] = c12;
      Jc[jv + 6] = asp * d * yn; Jc[jv + 7] = asp * f * r2 * yn; Jc[jv + 8] = asp * f * r2 * r2 * yn; Jc[jv + 9] = 0; Jc[jv + 10] = 1; Jc[jv + 11] = f * d * yn;
      if (c === pinCamera) { Jc[jo + pinSlot] = 0; Jc[jv + pinSlot] = 0; }
      Jp[po6] = c00 * r00 + c01 * r10 + c02 * r20; Jp[po6 + 1] = c00 * r01 + c01 * r11 + c02 * r21; Jp[po6 + 2] = c00 * r02 + c01 * r12 + c02 * r22;
      Jp[po6 + 3] = c10 * r00 + c11 * r10 + c12 * r20; Jp[po6 + 4] = c10 * r01 + c11 * r11 + c12 * r21; Jp[po6 + 5] = c10 * r02 + c11 * r12 + c12 * r22;
    }
    return 0.5 * cost + priorCost(poses);
  };

  // The camera-side gradient and J^T J (upper triangle, before damping) do not depend on lambda: accumulated once per
  // linearisation into Ubase/gbase (by the first assemble), reused by later assemblies with another point damping.
  const Ubase = new Float64Array(N * N), gbase = new Float64Array(N);

  /**
   * Assembles the reduced camera system S0 = U - W V^-1 W^T (upper triangle, undamped cameras) and the reduced
   * gradient, with the point blocks damped by `mu`. A point's W has one group of rows per observation of a free
   * camera (6 pose rows) and one per distinct free intrinsic block (its W rows summed over the observations sharing
   * the block: O(track length) work for shared intrinsics instead of O(track length^2)). Each pair of groups adds a
   * dense block Y_g1 W_g2^T (Y = W V^-1) at contiguous rows and columns; the group with the lower base gives the rows,
   * so every write lands in the upper triangle (a diagonal group writes its full block: the lower half is discarded
   * when solveReduced mirrors the upper triangle).
   */
  let timeAssembly = 0, timeFactor = 0;
  const S0 = new Float64Array(N * N), gRed = new Float64Array(N);
  const assemble = (mu: number, withU: boolean): void => {
    const ta = performance.now();
    S0.fill(0);
    gRed.fill(0);
    if (withU) { Ubase.fill(0); gbase.fill(0); }
    const { obsCamera, cameraIntrinsics } = p;
    for (let pt = 0; pt < nPts; pt++) {
      const free = ptFree[pt];
      if (!free && !withU) continue;
      const s0 = ptStart[pt], k = ptStart[pt + 1] - s0;
      let v00 = 0, v01 = 0, v02 = 0, v11 = 0, v12 = 0, v22 = 0, g0 = 0, g1 = 0, g2 = 0;
      let nPose = 0;
      // Pose groups first (ascending camera: ascending base), in one pass with V and g.
      for (let m = 0; m < k; m++) {
        const o = ptObs[s0 + m], w = wts[o], q = 6 * o;
        const p0 = Jp[q], p1 = Jp[q + 1], p2 = Jp[q + 2], p3 = Jp[q + 3], p4 = Jp[q + 4], p5 = Jp[q + 5];
        v00 += w * (p0 * p0 + p3 * p3); v01 += w * (p0 * p1 + p3 * p4); v02 += w * (p0 * p2 + p3 * p5);
        v11 += w * (p1 * p1 + p4 * p4); v12 += w * (p1 * p2 + p4 * p5); v22 += w * (p2 * p2 + p5 * p5);
        const ru = res[2 * o] * w, rv = res[2 * o + 1] * w;
        g0 += p0 * ru + p3 * rv; g1 += p1 * ru + p4 * rv; g2 += p2 * ru + p5 * rv;
        const c = obsCamera[o], pb = poseBase[c];
        if (withU && w !== 0) {
          // U += w Jc^T Jc and g_c += w Jc^T r over the observation's free columns (upper triangle: pose columns
          // precede intrinsic ones, and both run in increasing index).
          const b = cameraIntrinsics[c], ni = intrCount[b], ib = intrBase[b], so = NI * b, jo = 2 * NC * o;
          const ru0 = res[2 * o], rv0 = res[2 * o + 1];
          if (pb >= 0) {
            for (let a = 0; a < 6; a++) {
              const ja0 = Jc[jo + a] * w, ja1 = Jc[jo + NC + a] * w;
              gbase[pb + a] += ja0 * ru0 + ja1 * rv0;
              const row = (pb + a) * N;
              for (let bb = a; bb < 6; bb++) Ubase[row + pb + bb] += ja0 * Jc[jo + bb] + ja1 * Jc[jo + NC + bb];
              for (let kk = 0; kk < ni; kk++) { const sl = 6 + intrSlot[so + kk]; Ubase[row + ib + kk] += ja0 * Jc[jo + sl] + ja1 * Jc[jo + NC + sl]; }
            }
          }
          for (let a = 0; a < ni; a++) {
            const sa = 6 + intrSlot[so + a];
            const ja0 = Jc[jo + sa] * w, ja1 = Jc[jo + NC + sa] * w;
            gbase[ib + a] += ja0 * ru0 + ja1 * rv0;
            const row = (ib + a) * N;
            for (let kk = a; kk < ni; kk++) { const sl = 6 + intrSlot[so + kk]; Ubase[row + ib + kk] += ja0 * Jc[jo + sl] + ja1 * Jc[jo + NC + sl]; }
          }
        }
        if (!free || pb < 0) continue;
        const jo = 2 * NC * o, wb = 18 * nPose;
        for (let a = 0; a < 6; a++) {
          const ja0 = Jc[jo + a] * w, ja1 = Jc[jo + NC + a] * w;
          Wbuf[wb + 3 * a] = ja0 * p0 + ja1 * p3;
          Wbuf[wb + 3 * a + 1] = ja0 * p1 + ja1 * p4;
          Wbuf[wb + 3 * a + 2] = ja0 * p2 + ja1 * p5;
        }
        groupBase[nPose] = pb; groupSize[nPose] = 6; groupBlock[nPose] = -1;
        nPose++;
      }
      if (!free) continue;
      // Intrinsic groups: one per distinct free block, summed.
      let nG = nPose;
      for (let m = 0; m < k; m++) {
        const o = ptObs[s0 + m], b = cameraIntrinsics[obsCamera[o]], ni = intrCount[b];
        if (!ni) continue;
        let g = nPose;
        while (g < nG && groupBlock[g] !== b) g++;
        const wb = 18 * g;
        if (g === nG) { Wbuf.fill(0, wb, wb + 3 * ni); groupBase[g] = intrBase[b]; groupSize[g] = ni; groupBlock[g] = b; nG++; }
        const w = wts[o], q = 6 * o, jo = 2 * NC * o;
        const p0 = Jp[q], p1 = Jp[q + 1], p2 = Jp[q + 2], p3 = Jp[q + 3], p4 = Jp[q + 4], p5 = Jp[q + 5];
        for (let a = 0; a < ni; a++) {
          const sl = 6 + intrSlot[NI * b + a];
          const ja0 = Jc[jo + sl] * w, ja1 = Jc[jo + NC + sl] * w;
          Wbuf[wb + 3 * a] += ja0 * p0 + ja1 * p3;
          Wbuf[wb + 3 * a + 1] += ja0 * p1 + ja1 * p4;
          Wbuf[wb + 3 * a + 2] += ja0 * p2 + ja1 * p5;
        }
      }
      v00 += mu * Math.max(v00, 1e-9); v11 += mu * Math.max(v11, 1e-9); v22 += mu * Math.max(v22, 1e-9);
      // Closed-form inverse of the symmetric 3 x 3.
      const i00 = v11 * v22 - v12 * v12, i01 = v02 * v12 - v01 * v22, i02 = v01 * v12 - v02 * v11;
      const det = v00 * i00 + v01 * i01 + v02 * i02;
      const vo = 6 * pt;
      if (!(det > 1e-300)) { Vinv.fill(0, vo, vo + 6); gp[3 * pt] = 0; gp[3 * pt + 1] = 0; gp[3 * pt + 2] = 0; continue; }
      const id = 1 / det;
      const w00 = i00 * id, w01 = i01 * id, w02 = i02 * id, w11 = (v00 * v22 - v02 * v02) * id, w12 = (v01 * v02 - v00 * v12) * id, w22 = (v00 * v11 - v01 * v01) * id;
      Vinv[vo] = w00; Vinv[vo + 1] = w01; Vinv[vo + 2] = w02; Vinv[vo + 3] = w11; Vinv[vo + 4] = w12; Vinv[vo + 5] = w22;
      gp[3 * pt] = g0; gp[3 * pt + 1] = g1; gp[3 * pt + 2] = g2;
      // Y_g = W_g V^-1; g_c -= Y_g g_p
      for (let g = 0; g < nG; g++) {
        const wb = 18 * g, base = groupBase[g], n = groupSize[g];
        for (let a = 0; a < n; a++) {
          const x0 = Wbuf[wb + 3 * a], x1 = Wbuf[wb + 3 * a + 1], x2 = Wbuf[wb + 3 * a + 2];
          const y0 = x0 * w00 + x1 * w01 + x2 * w02, y1 = x0 * w01 + x1 * w11 + x2 * w12, y2 = x0 * w02 + x1 * w12 + x2 * w22;
          Ybuf[wb + 3 * a] = y0; Ybuf[wb + 3 * a + 1] = y1; Ybuf[wb + 3 * a + 2] = y2;
          gRed[base + a] -= y0 * g0 + y1 * g1 + y2 * g2;
        }
      }
      // S0 -= Y_g1 W_g2^T over group pairs g1 <= g2, rows from the group with the lower base.
      for (let g1 = 0; g1 < nG; g1++) {
        for (let g2 = g1; g2 < nG; g2++) {
          const lo = groupBase[g1] <= groupBase[g2] ? g1 : g2, hi = lo === g1 ? g2 : g1;
          const yb = 18 * lo, wb = 18 * hi, nr = groupSize[lo], nc = groupSize[hi], cb = groupBase[hi];
          if (nc === 6) {
            // Pose column group (nearly all the work: a 6-row block per pair of observations): W_hi in registers,
            // each entry the same expression in the same order as the general loop below (bit-identical results).
            const q00 = Wbuf[wb], q01 = Wbuf[wb + 1], q02 = Wbuf[wb + 2], q10 = Wbuf[wb + 3], q11 = Wbuf[wb + 4], q12 = Wbuf[wb + 5];
            const q20 = Wbuf[wb + 6], q21 = Wbuf[wb + 7], q22 = Wbuf[wb + 8], q30 = Wbuf[wb + 9], q31 = Wbuf[wb + 10], q32 = Wbuf[wb + 11];
            const q40 = Wbuf[wb + 12], q41 = Wbuf[wb + 13], q42 = Wbuf[wb + 14], q50 = Wbuf[wb + 15], q51 = Wbuf[wb + 16], q52 = Wbuf[wb + 17];
            for (let a = 0; a < nr; a++) {
              const row = (groupBase[lo] + a) * N + cb;
              const y0 = Ybuf[yb + 3 * a], y1 = Ybuf[yb + 3 * a + 1], y2 = Ybuf[yb + 3 * a + 2];
              S0[row] -= y0 * q00 + y1 * q01 + y2 * q02;
              S0[row + 1] -= y0 * q10 + y1 * q11 + y2 * q12;
              S0[row + 2] -= y0 * q20 + y1 * q21 + y2 * q22;
              S0[row + 3] -= y0 * q30 + y1 * q31 + y2 * q32;
              S0[row + 4] -= y0 * q40 + y1 * q41 + y2 * q42;
              S0[row + 5] -= y0 * q50 + y1 * q51 + y2 * q52;
            }
            continue;
          }
          for (let a = 0; a < nr; a++) {
            const row = (groupBase[lo] + a) * N + cb;
            const y0 = Ybuf[yb + 3 * a], y1 = Ybuf[yb + 3 * a + 1], y2 = Ybuf[yb + 3 * a + 2];
            for (let b = 0; b < nc; b++) S0[row + b] -= y0 * Wbuf[wb + 3 * b] + y1 * Wbuf[wb + 3 * b + 1] + y2 * Wbuf[wb + 3 * b + 2];
          }
        }
      }
    }
    if (withU && prior) {
      for (let c = 0; c < nCam; c++) {
        const b = poseBase[c];
        if (b < 0) continue;
        rotationLog(p.poses, c, priorE);
        centreResidual(p.poses, c, priorR, priorA);
        // J = [[I, 0], [[a]x, I]] over (w, dt) for (rotation, centre) residuals; [a]x w = a x w.
        const ax = [[0, -priorA[2], priorA[1]], [priorA[2], 0, -priorA[0]], [-priorA[1], priorA[0], 0]];
        const keep = (col: number) => col !== pinned;
        for (let k = 0; k < 3; k++) {
          // rotation prior: gradient w_r e, block w_r I; centre prior through [a]x: gradient w_t [a]x^T r
          let gw = wRot * priorE[k];
          for (let m = 0; m < 3; m++) gw += wTrans * ax[m][k] * priorR[m];
          gbase[b + k] += gw;
          for (let l = k; l < 3; l++) {
            let h = k === l ? wRot : 0;
            for (let m = 0; m < 3; m++) h += wTrans * ax[m][k] * ax[m][l];
            Ubase[(b + k) * N + b + l] += h;
          }
          // cross block (rotation row k, translation column l): w_t [a]x^T
          for (let l = 0; l < 3; l++) if (keep(b + 3 + l)) Ubase[(b + k) * N + b + 3 + l] += wTrans * ax[l][k];
          const col = b + 3 + k;
          if (!keep(col)) continue;
          gbase[col] += wTrans * priorR[k];
          Ubase[col * N + col] += wTrans;
        }
      }
    }
    // S0 = U - W V^-1 W^T, g_red = g_c - W V^-1 g_p.
    for (let i = 0; i < N * N; i++) S0[i] += Ubase[i];
    for (let i = 0; i < N; i++) gRed[i] += gbase[i];
    if (withU) for (let i = 0; i < N; i++) Udiag[i] = Ubase[i * N + i];
    timeAssembly += performance.now() - ta;
  };

  /** Damps the reduced system's camera diagonal by lambda, solves it; fills dc and dp. False when not positive definite. */
  const solveReduced = (lambda: number): boolean => {
    const tf = performance.now();
    S.set(S0);
    for (let i = 0; i < N; i++) S[i * N + i] += lambda * Math.max(Udiag[i], 1e-6);
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) S[j * N + i] = S[i * N + j];
    // The pinned gauge column: its row and column are zero (Jacobian zeroed), a unit diagonal gives dc = 0 there.
    if (pinned >= 0) S[pinned * N + pinned] = 1;
    if (N > 0) {
      const ok = cholesky(S, N);
      if (!ok) { timeFactor += performance.now() - tf; return false; }
      for (let i = 0; i < N; i++) dc[i] = -gRed[i];
      choleskySolve(S, N, dc);
    }
    timeFactor += performance.now() - tf;
    // Back-substitution for the points: dp = -V^-1 (g_p + sum_o W_o^T dc_o).
    for (let pt = 0; pt < nPts; pt++) {
      if (!ptFree[pt]) { dp[3 * pt] = 0; dp[3 * pt + 1] = 0; dp[3 * pt + 2] = 0; continue; }
      const s0 = ptStart[pt], k = ptStart[pt + 1] - s0;
      let b0 = gp[3 * pt], b1 = gp[3 * pt + 1], b2 = gp[3 * pt + 2];
      for (let m = 0; m < k; m++) {
        const o = ptObs[s0 + m], w = wts[o], jo = 2 * NC * o, co = NC * o, q = 6 * o, n = colCount[o];
        // (J_c dc) for this observation, then Jp^T w (J_c dc)
        let e0 = 0, e1 = 0;
        for (let a = 0; a < n; a++) {
          const ga = colIdx[co + a], sa = colSlot[co + a];
          e0 += Jc[jo + sa] * dc[ga]; e1 += Jc[jo + NC + sa] * dc[ga];
        }
        e0 *= w; e1 *= w;
        b0 += Jp[q] * e0 + Jp[q + 3] * e1; b1 += Jp[q + 1] * e0 + Jp[q + 4] * e1; b2 += Jp[q + 2] * e0 + Jp[q + 5] * e1;
      }
      const vo = 6 * pt;
      dp[3 * pt] = -(Vinv[vo] * b0 + Vinv[vo + 1] * b1 + Vinv[vo + 2] * b2);
      dp[3 * pt + 1] = -(Vinv[vo + 1] * b0 + Vinv[vo + 3] * b1 + Vinv[vo + 4] * b2);
      dp[3 * pt + 2] = -(Vinv[vo + 2] * b0 + Vinv[vo + 4] * b1 + Vinv[vo + 5] * b2);
    }
    return true;
  };

  const applyStep = () => {
    candPoses.set(p.poses); candIntr.set(p.intrinsics); candPts.set(p.points);
    if (candAspect) candAspect.set(p.aspect!);
    for (let c = 0; c < nCam; c++) {
      const b = poseBase[c];
      if (b < 0) continue;
      const w0 = dc[b], w1 = dc[b + 1], w2 = dc[b + 2];
      const po = 12 * c;
      if (w0 !== 0 || w1 !== 0 || w2 !== 0) {
        angleAxisToRotation(w0, w1, w2, Rd);
        for (let r = 0; r < 3; r++) for (let col = 0; col < 3; col++) {
          candPoses[po + r * 4 + col] = Rd[r * 3] * p.poses[po + col] + Rd[r * 3 + 1] * p.poses[po + 4 + col] + Rd[r * 3 + 2] * p.poses[po + 8 + col];
        }
      }
      for (let k = 0; k < 3; k++) candPoses[po + 4 * k + 3] += dc[b + 3 + k];
    }
    for (let i = 0; i < nIntr; i++) {
      const io = i * INTRINSICS_STRIDE;
      for (let k = 0; k < intrCount[i]; k++) {
        const sl = intrSlot[NI * i + k];
        if (sl === ASPECT_SLOT) candAspect![i] += dc[intrBase[i] + k];
        else candIntr[io + SLOT_OFFSET[sl]] += dc[intrBase[i] + k];
      }
    }
    for (let k = 0; k < 3 * nPts; k++) candPts[k] += dp[k];
  };

  const initial = reprojectionStats(p, delta);
  let cost = linearise();
  const initialCost = cost;
  let lambda = opts.initialLambda ?? 1e-4;
  let it = 0;
  const trial: BundleProblem = { ...p, poses: candPoses, intrinsics: candIntr, points: candPts, ...(candAspect ? { aspect: candAspect } : {}) };
  // Points are damped lightly and independently of lambda, so one assembly serves every lambda tried in an
  // iteration (damping the cameras alone is exact LM on the reduced system); after two rejections the points are
  // damped by lambda as well (full Levenberg-Marquardt), which always yields a descent step for large lambda.
  const pointDampingFloor = 1e-8;
  for (; it < maxIt; it++) {
    assemble(pointDampingFloor, true);
    let accepted = false, done = false;
    for (let attempt = 0; attempt < 10; attempt++) {
      if (attempt >= 2) assemble(Math.max(lambda, pointDampingFloor), false);
      if (!solveReduced(lambda)) { lambda *= 10; continue; }
      applyStep();
      if (candIntr.some((v, k) => k % INTRINSICS_STRIDE === 0 && !(v > 0)) || candAspect?.some((v) => !(v > 0))) { lambda *= 10; continue; }
      const newCost = reprojectionStats(trial, delta).cost + priorCost(candPoses);
      if (newCost < cost) {
        p.poses.set(candPoses); p.intrinsics.set(candIntr); p.points.set(candPts);
        if (candAspect) p.aspect!.set(candAspect);
        const rel = (cost - newCost) / Math.max(cost, 1e-300);
        lambda = Math.max(1e-10, lambda / 3);
        accepted = true;
        cost = linearise();
        if (rel < ftol) done = true;
        break;
      }
      lambda *= 10;
    }
    if (!accepted || done) { it++; break; }
  }
  const fin = reprojectionStats(p, delta);
  return { initialCost, finalCost: fin.cost + priorCost(p.poses), initialRms: initial.rms, finalRms: fin.rms, iterations: it, cameraUnknowns: pinned >= 0 ? N - 1 : N, seconds: (performance.now() - t0) / 1000, assemblySeconds: timeAssembly / 1000, factorSeconds: timeFactor / 1000 };
}
