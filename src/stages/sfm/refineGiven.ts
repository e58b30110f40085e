/**
 * Refinement of GIVEN cameras (JobOptions.refineCameras): poses that come from a tracker (RGB-D SLAM, a phone's AR
 * session, 7-Scenes' KinectFusion) are often a pixel or two off what the photos support, and multi-view stereo, whose
 * depth is a disparity of a few tens of pixels, turns that into depth errors of several percent (docs/benchmarks.md,
 * session 12: on 7-Scenes, poses corrected by ~0.2 deg take the filtered depth from AbsRel 0.12 to 0.10 and delta<1.25
 * from 0.87 to 0.92).
 *
 * GIVEN_POSE_BA_RULE: features and matches as structure from motion finds them; matches that the given geometry
 * cannot explain (Sampson distance over `gatePx`) are dropped; tracks are triangulated with the given poses and kept
 * where every observation reprojects within `gatePx` and the rays meet at `minAngleDeg` or more; then one bundle
 * adjustment moves the poses and points with the intrinsics held (the given K is trusted; a focal change would trade
 * against depth scale; `refineIntrinsics` / `refineAspect` free the focal and principal point / the pixel aspect).
 * Non-square pixels (fx != fy) are handled in each view's square-pixel frame; skew is refused. Gauge: the camera with the most observations keeps its pose, and one translation coordinate of
 * the camera farthest from it stays, so the metric scale and frame of the given poses are kept. The result is accepted
 * only when it explains the tracks clearly better (RMS at most `accept` x before) and no camera turns by more than
 * `maxRotationDeg`; otherwise the given poses stay, and the report says why.
 */
import { cameraCentre, composePoses, invertPose, viewDirection } from '../../core/camera';
import type { CaptureSet } from '../../core/capture';
import { InputError, throwIfAborted } from '../../core/errors';
import type { StageContext } from '../context';
import { extractFeatures } from './features/siftGpu';
import { bundleAdjust, reprojectionStats } from './geometry/bundle';
import { INTRINSICS_STRIDE, pixelToNormalised, reprojectionError2 } from './geometry/camera';
import { rotationDistanceDeg } from './geometry/linalg';
import { cameraCentreOf, maxRayAngleDeg, triangulateDlt } from './geometry/triangulation';
import { matchPairs } from './matching/matchGpu';
import type { ImageFeatures, PairMatches } from './types';

export interface GivenPoseOptions {
  /** Largest Sampson distance and reprojection error (pixels) of a kept match / observation. */
  gatePx: number;
  /** Smallest largest-ray angle of a kept track (degrees). */
  minAngleDeg: number;
  /** Cameras with fewer observations keep their given pose. */
  minObservations: number;
  /** Accept the adjustment only when RMS after <= accept x RMS before. */
  accept: number;
  /** Refuse the adjustment when a camera turns by more than this (degrees). */
  maxRotationDeg: number;
  huberPx: number;
  maxIterations: number;
  /**
   * Also refine the focal length and principal point, shared by all views when their K is the same (per view
   * otherwise): a tracker's poses may come with nominal intrinsics (7-Scenes' colour camera).
   */
  refineIntrinsics: boolean;
  /**
   * Also refine the pixel aspect fy / fx (shared like the focal): a tracker's nominal K often has square pixels where
   * the camera has not (7-Scenes' colour camera: about 512 / 528 px by a photometric fit, given as 525 / 525).
   */
  refineAspect: boolean;
  /**
   * The given poses as a soft prior (BundleOptions.posePrior): standard deviations of their rotation (degrees) and of
   * their translation (in median distances between neighbouring cameras). 0 = no prior.
   */
  priorRotationDeg: number;
  priorTranslation: number;
  /**
   * GIVEN_POSE_RELIEF_RULE (with the prior): choose the rotation prior's strength so that the adjusted poses keep the
   * depth the given poses give the matched pairs (median over the kept matches of adjusted / given two-view depth
   * within `reliefTolerance` of 1), searching from `priorRotationDeg` over 1/64x-8x. Small-baseline, narrow-view tracks (a hand-held video) have
   * a bas-relief ambiguity: turning the cameras in proportion to their positions trades against the scene's depth at
   * almost no reprojection cost, so the prior's strength alone decides where the adjustment lands (7-Scenes: depth
   * 1.17 / 0.95 / 0.84 x the sensor's for priors of 0.1 / 0.3 / 1 deg). A tracker's poses have per-frame errors but an
   * unbiased relief (their triangulated depth agrees with 7-Scenes' sensor to 0.6% in the median, with a wide spread):
   * this keeps that relief and takes the consistency from the photos.
   */
  keepGivenRelief: boolean;
  reliefTolerance: number;
}

export const DEFAULT_GIVEN_POSE_OPTIONS: GivenPoseOptions = { gatePx: 4, minAngleDeg: 1, minObservations: 30, accept: 0.9, maxRotationDeg: 3, huberPx: 2, maxIterations: 30, refineIntrinsics: false, refineAspect: false, priorRotationDeg: 0.3, priorTranslation: 1, keepGivenRelief: true, reliefTolerance: 0.01 };

export interface GivenPoseStats {
  views: number;
  /** Cameras whose pose the adjustment moved (the rest are held: gauge or too few observations). */
  adjusted: number;
  matches: number;
  keptMatches: number;
  tracks: number;
  observations: number;
  rmsBefore: number;
  rmsAfter: number;
  rotationDeg: { median: number; max: number };
  /** Camera-centre moves relative to the median distance between neighbouring cameras. */
  centreShift: { median: number; max: number };
  /**
   * GIVEN_POSE_RELIEF_RULE: the rotation prior it chose (degrees), the adjusted / given depth ratio there, the
   * adjustments it ran and their Levenberg-Marquardt iterations in all.
   */
  relief?: { priorRotationDeg: number; depthRatio: number; runs: number; iterations: number };
  /** The refined [fx, fy, cx, cy] (refineIntrinsics or refineAspect, the first view's). */
  intrinsics?: number[];
  accepted: boolean;
  reason: string;
  ms: number;
}

/** The 3 x 3 rotation of camera i in a 12-per-camera pose array. */
const rotationOf = (poses: Float64Array, i: number) => [0, 1, 2, 4, 5, 6, 8, 9, 10].map((k) => poses[12 * i + k]);

interface PosedView {
  K: number[];
  camFromWorld: number[];
}

/**
 * The geometric part (no GPU): poses adjusted in place when accepted. `views[i]` goes with `features[i]`. `between`
 * runs before each bundle adjustment (the relief rule runs up to 10): the job yields to the event loop there and checks
 * for cancellation.
 */
export async function adjustGivenPoses(views: PosedView[], features: ImageFeatures[], matches: PairMatches[], options: Partial<GivenPoseOptions> = {}, between?: (adjustment: number) => Promise<void>): Promise<Omit<GivenPoseStats, 'ms'> & { points?: Float64Array }> {
  const o = { ...DEFAULT_GIVEN_POSE_OPTIONS, ...options };
  const n = views.length;
  const base = { views: n, adjusted: 0, matches: 0, keptMatches: 0, tracks: 0, observations: 0, rmsBefore: 0, rmsAfter: 0, rotationDeg: { median: 0, max: 0 }, centreShift: { median: 0, max: 0 } };
  for (const v of views) {
    if (!(v.K[0] > 0 && v.K[4] > 0 && Number.isFinite(v.K[0] / v.K[4]))) return { ...base, accepted: false, reason: 'a camera without positive focal lengths' };
    if (Math.abs(v.K[1]) > 1e-6 * v.K[0]) return { ...base, accepted: false, reason: 'a skewed camera (K[0][1] != 0): the adjustment has no skew term' };
  }
  const poses = new Float64Array(12 * n);
  const intr = new Float64Array(INTRINSICS_STRIDE * n);
  views.forEach((v, i) => {
    poses.set(v.camFromWorld.slice(0, 12), 12 * i);
    intr.set([v.K[0], v.K[2], v.K[5], 0, 0], INTRINSICS_STRIDE * i);
  });
  // Non-square pixels: everything below works in each view's square-pixel frame (rows scaled about cy by fx / fy, so
  // the focal is fx in both directions); the adjustment's aspect (refineAspect) is relative to the given fy / fx.
  const rowScale = views.map((v) => v.K[0] / v.K[4]);
  features = features.map((f, i) => {
    if (rowScale[i] === 1) return f;
    const keypoints = new Float32Array(f.keypoints);
    for (let k = 0; k < f.count; k++) keypoints[4 * k + 1] = views[i].K[5] + (keypoints[4 * k + 1] - views[i].K[5]) * rowScale[i];
    return { ...f, keypoints };
  });
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + features[i].count;
  const normalised = features.map((f, i) => {
    const out = new Float64Array(2 * f.count);
    for (let k = 0; k < f.count; k++) pixelToNormalised(intr, INTRINSICS_STRIDE * i, f.keypoints[4 * k], f.keypoints[4 * k + 1], out, k);
    return out;
  });
  // 1. Matches the given geometry explains (Sampson distance of x_j^T E x_i, E = [t]x R of the relative pose).
  const parent = new Int32Array(offsets[n]).map((_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k]];
    return k;
  };
  const touched = new Uint8Array(offsets[n]);
  const viewsOf = new Map<number, Set<number>>();
  let total = 0, kept = 0;
  // GIVEN_POSE_RELIEF_RULE's pairs: of every pairStride-th match, the kept ones as (i, j, u_i, v_i, u_j, v_j) in
  // (square-frame) pixels, at most 20,000; normalised in each run with that run's intrinsics.
  const matchCount = matches.reduce((sum, m) => sum + m.matches.length / 2, 0);
  const pairStride = Math.max(1, Math.ceil(matchCount / 20000));
  const keptPairs = new Float64Array(6 * Math.ceil(matchCount / pairStride));
  let pairCount = 0;
  for (const m of matches) {
    const { i, j } = m;
    const Ri = poses.subarray(12 * i, 12 * i + 12), Rj = poses.subarray(12 * j, 12 * j + 12);
    if (i === j) continue;
    // R = Rj Ri^T, t = tj - R ti
    const R = new Float64Array(9), t = new Float64Array(3);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) R[3 * r + c] = Rj[4 * r] * Ri[4 * c] + Rj[4 * r + 1] * Ri[4 * c + 1] + Rj[4 * r + 2] * Ri[4 * c + 2];
    for (let r = 0; r < 3; r++) t[r] = Rj[4 * r + 3] - (R[3 * r] * Ri[3] + R[3 * r + 1] * Ri[7] + R[3 * r + 2] * Ri[11]);
    const E = new Float64Array(9);
    const tx = [0, -t[2], t[1], t[2], 0, -t[0], -t[1], t[0], 0];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) E[3 * r + c] = tx[3 * r] * R[c] + tx[3 * r + 1] * R[3 + c] + tx[3 * r + 2] * R[6 + c];
    const f = Math.sqrt(intr[INTRINSICS_STRIDE * i] * intr[INTRINSICS_STRIDE * j]);
    const xi = normalised[i], xj = normalised[j];
    for (let k = 0; k < m.matches.length; k += 2) {
      total++;
      const a = m.matches[k], b = m.matches[k + 1];
      const u0 = xi[2 * a], v0 = xi[2 * a + 1], u1 = xj[2 * b], v1 = xj[2 * b + 1];
      const Ex0 = E[0] * u0 + E[1] * v0 + E[2], Ex1 = E[3] * u0 + E[4] * v0 + E[5], Ex2 = E[6] * u0 + E[7] * v0 + E[8];
      const Etx0 = E[0] * u1 + E[3] * v1 + E[6], Etx1 = E[1] * u1 + E[4] * v1 + E[7];
      const num = u1 * Ex0 + v1 * Ex1 + Ex2;
      const den = Ex0 * Ex0 + Ex1 * Ex1 + Etx0 * Etx0 + Etx1 * Etx1;
      if (!(den > 0) || (num * num) / den > (o.gatePx / f) ** 2) continue;
      kept++;
      if ((total - 1) % pairStride === 0) {
        const ka = features[i].keypoints, kb = features[j].keypoints;
        keptPairs.set([i, j, ka[4 * a], ka[4 * a + 1], kb[4 * b], kb[4 * b + 1]], 6 * pairCount++);
      }
      // Conflict-aware union: a merge that would put two keypoints of one view into a track is refused (a wrong match
      // on repeated texture would otherwise chain whole tracks together).
      const ra = find(offsets[i] + a), rb = find(offsets[j] + b);
      if (ra === rb) continue;
      const va = viewsOf.get(ra) ?? new Set([i]), vb = viewsOf.get(rb) ?? new Set([j]);
      const [small, large] = va.size < vb.size ? [va, vb] : [vb, va];
      let conflict = false;
      for (const v of small) if (large.has(v)) { conflict = true; break; }
      if (conflict) continue;
      for (const v of small) large.add(v);
      const [child, root] = va.size < vb.size ? [ra, rb] : [rb, ra];
      parent[child] = root;
      viewsOf.set(root, large);
      viewsOf.delete(child);
      touched[offsets[i] + a] = 1;
      touched[offsets[j] + b] = 1;
    }
  }
  // 2. Tracks: one keypoint per view (a track that reaches a view twice is dropped), triangulated with the given poses.
  const members = new Map<number, number[]>();
  for (let k = 0; k < offsets[n]; k++) {
    if (!touched[k]) continue;
    const r = find(k);
    const list = members.get(r);
    if (list) list.push(k);
    else members.set(r, [k]);
  }
  const viewOf = (node: number) => {
    let lo = 0, hi = n;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid] <= node) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const centres = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) cameraCentreOf(poses, i, centres, i);
  const points: number[] = [], obsCamera: number[] = [], obsPoint: number[] = [], obsUv: number[] = [];
  const X = new Float64Array(3);
  for (const full of members.values()) {
    // Observations that disagree with the given poses by more than the gate leave the track (re-triangulated once
    // without them); a track keeps at least two.
    let list = full;
    for (let pass = 0; pass < 2 && list.length >= 2; pass++) {
      const tv = list.map(viewOf);
      const xn = new Float64Array(2 * list.length);
      list.forEach((node, k) => {
        const v = tv[k], kp = node - offsets[v];
        xn[2 * k] = normalised[v][2 * kp];
        xn[2 * k + 1] = normalised[v][2 * kp + 1];
      });
      if (!triangulateDlt(poses, tv, xn, list.length, X)) { list = []; break; }
      const good = list.filter((node, k) => {
        const v = tv[k], kp = node - offsets[v];
        return reprojectionError2(poses, 12 * v, intr, INTRINSICS_STRIDE * v, X, 0, features[v].keypoints[4 * kp], features[v].keypoints[4 * kp + 1]) <= o.gatePx * o.gatePx;
      });
      if (good.length === list.length) break;
      list = good;
      if (pass === 1) list = [];
    }
    if (list.length < 2) continue;
    const tv = list.map(viewOf);
    const trackCentres = new Float64Array(3 * tv.length);
    tv.forEach((v, k) => trackCentres.set(centres.subarray(3 * v, 3 * v + 3), 3 * k));
    if (maxRayAngleDeg(trackCentres, tv.length, X) < o.minAngleDeg) continue;
    const p = points.length / 3;
    points.push(X[0], X[1], X[2]);
    list.forEach((node, k) => {
      const v = tv[k], kp = node - offsets[v];
      obsCamera.push(v);
      obsPoint.push(p);
      obsUv.push(features[v].keypoints[4 * kp], features[v].keypoints[4 * kp + 1]);
    });
  }
  const counted = { ...base, matches: total, keptMatches: kept, tracks: points.length / 3, observations: obsCamera.length };
  const perCamera = new Uint32Array(n);
  for (const c of obsCamera) perCamera[c]++;
  const anchor = perCamera.reduce((best, c, i) => (c > perCamera[best] ? i : best), 0);
  const free = [...perCamera].map((c, i) => i !== anchor && c >= o.minObservations);
  if (free.filter(Boolean).length === 0) return { ...counted, accepted: false, reason: `too few consistent tracks (${counted.tracks} tracks, no camera besides the anchor with ${o.minObservations} observations)` };
  // 3. Gauge: the anchor's pose; without the prior also the scale-carrying translation coordinate of the camera
  // farthest from it (with the prior, the given centres hold the scale softly).
  const withPrior = o.priorRotationDeg > 0 && o.priorTranslation > 0;
  let far = -1, farDist = -1;
  for (let i = 0; i < n; i++) {
    const d = Math.hypot(centres[3 * i] - centres[3 * anchor], centres[3 * i + 1] - centres[3 * anchor + 1], centres[3 * i + 2] - centres[3 * anchor + 2]);
    if (free[i] && d > farDist) { far = i; farDist = d; }
  }
  const dc = [0, 1, 2].map((k) => centres[3 * far + k] - centres[3 * anchor + k]);
  const scaled = [0, 1, 2].map((r) => Math.abs(poses[12 * far + 4 * r] * dc[0] + poses[12 * far + 4 * r + 1] * dc[1] + poses[12 * far + 4 * r + 2] * dc[2]));
  const coordinate = scaled.indexOf(Math.max(...scaled));
  const refineK = o.refineIntrinsics || o.refineAspect;
  const shared = refineK && views.every((v) => v.K.every((x, k) => x === views[0].K[k]));
  const blocks = shared ? 1 : n;
  const start = {
    poses: new Float64Array(poses),
    intrinsics: shared ? intr.slice(0, INTRINSICS_STRIDE) : new Float64Array(intr),
    cameraIntrinsics: Uint32Array.from({ length: n }, (_, i) => (shared ? 0 : i)),
    ...(o.refineAspect ? { aspect: new Float64Array(blocks).fill(1) } : {}),
    points: Float64Array.from(points),
    obsCamera: Uint32Array.from(obsCamera),
    obsPoint: Uint32Array.from(obsPoint),
    obsUv: Float64Array.from(obsUv),
  };
  const nearest: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < n; j++) if (j !== i) best = Math.min(best, Math.hypot(centres[3 * i] - centres[3 * j], centres[3 * i + 1] - centres[3 * j + 1], centres[3 * i + 2] - centres[3 * j + 2]));
    nearest.push(best);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
  const spacing = Math.max(1e-12, median(nearest));
  const before = reprojectionStats(start).rms;
  // GIVEN_POSE_RELIEF_RULE's measure: over the sampled kept matches, the median of (depth in view i of the match
  // triangulated with the adjusted poses and intrinsics) / (the same with the given ones). Pairs, as the depth stage
  // measures depth: a reference view against nearby sources. NaN without pairs (no search then).
  type Run = { poses: Float64Array; intrinsics: Float64Array; cameraIntrinsics: Uint32Array; aspect?: Float64Array };
  const pairDepths = (r: Run) => {
    const out = new Float64Array(pairCount), X = new Float64Array(3), two = [0, 0], xn = new Float64Array(4);
    for (let m = 0; m < pairCount; m++) {
      const q = 6 * m;
      two[0] = keptPairs[q]; two[1] = keptPairs[q + 1];
      for (let e = 0; e < 2; e++) {
        const b = r.cameraIntrinsics[two[e]], io = b * INTRINSICS_STRIDE, fx = r.intrinsics[io], fy = fx * (r.aspect ? r.aspect[b] : 1);
        xn[2 * e] = (keptPairs[q + 2 + 2 * e] - r.intrinsics[io + 1]) / fx;
        xn[2 * e + 1] = (keptPairs[q + 3 + 2 * e] - r.intrinsics[io + 2]) / fy;
      }
      if (!triangulateDlt(r.poses, two, xn, 2, X)) continue;
      const po = 12 * two[0];
      out[m] = r.poses[po + 8] * X[0] + r.poses[po + 9] * X[1] + r.poses[po + 10] * X[2] + r.poses[po + 11];
    }
    return out;
  };
  const givenDepths = o.keepGivenRelief ? pairDepths(start) : new Float64Array(0);
  const reliefRatio = (r: Run): number => {
    const z = pairDepths(r), ratios: number[] = [];
    for (let m = 0; m < z.length; m++) if (z[m] > 0 && givenDepths[m] > 0) ratios.push(z[m] / givenDepths[m]);
    ratios.sort((a, b) => a - b);
    return ratios.length ? ratios[Math.floor(ratios.length / 2)] : NaN;
  };
  let adjustments = 0, iterations = 0;
  /**
   * One adjustment from the given poses with a rotation prior of `priorDeg` (0 = none). (Starting each relief-search
   * run from the finished run with the nearest prior instead saved 5% of the iterations at the same landing on the
   * kitchen's CPU proxy, session 14: not done.)
   */
  const adjust = async (priorDeg: number) => {
    await between?.(adjustments++);
    const trial = { ...start, poses: new Float64Array(start.poses), intrinsics: new Float64Array(start.intrinsics), points: new Float64Array(start.points), ...(start.aspect ? { aspect: new Float64Array(start.aspect) } : {}) };
    const report = bundleAdjust(trial, {
      constantPoses: Uint8Array.from(free, (f) => (f ? 0 : 1)),
      ...(withPrior ? {} : { fixedTranslation: { camera: far, coordinate } }),
      ...(refineK ? { refineFocal: o.refineIntrinsics, refinePrincipalPoint: o.refineIntrinsics, refineAspect: o.refineAspect } : { constantIntrinsics: new Uint8Array(n).fill(1) }),
      ...(withPrior ? { posePrior: { poses: new Float64Array(poses), rotationSigma: (priorDeg * Math.PI) / 180, translationSigma: o.priorTranslation * spacing } } : {}),
      huberDelta: o.huberPx,
      maxIterations: o.maxIterations,
    });
    iterations += report.iterations;
    // Each camera's turn, and the acceptance tests (step 4) on this run: the RMS and the largest turn.
    const rotations = Array.from({ length: n }, (_, i) => rotationDistanceDeg(rotationOf(poses, i), rotationOf(trial.poses, i)));
    const maxTurn = Math.max(...rotations);
    const acceptable = report.finalRms <= o.accept * before && maxTurn <= o.maxRotationDeg;
    return { problem: trial, report, rotations, maxTurn, ratio: o.keepGivenRelief ? reliefRatio(trial) : 1, acceptable };
  };
  let chosen = await adjust(o.priorRotationDeg);
  let relief: GivenPoseStats['relief'];
  // (Not when the first adjustment already fails the RMS test, the given poses explaining the tracks, nor without pairs.)
  if (withPrior && o.keepGivenRelief && chosen.report.finalRms <= o.accept * before && Number.isFinite(chosen.ratio)) {
    // GIVEN_POSE_RELIEF_RULE: regula falsi (Illinois) on log ratio against log prior, within 1/64x-8x of the asked-for
    // prior, at most 10 adjustments; the loose end first where the ratio is above 1 (7-Scenes: looser, shallower).
    const tried = [{ prior: o.priorRotationDeg, run: chosen }];
    const f = (r: number) => Math.log(r);
    if (Math.abs(chosen.ratio - 1) > o.reliefTolerance) {
      let lo = { x: Math.log(o.priorRotationDeg), y: f(chosen.ratio) };
      // The ends 1/64x and 8x: the one a looser prior's shallower relief points to first (7-Scenes), then the other.
      let hi = lo;
      for (const factor of chosen.ratio > 1 ? [8, 1 / 64] : [1 / 64, 8]) {
        const edgePrior = o.priorRotationDeg * factor;
        const edge = await adjust(edgePrior);
        tried.push({ prior: edgePrior, run: edge });
        hi = { x: Math.log(edgePrior), y: f(edge.ratio) };
        if (!Number.isFinite(hi.y) || Math.abs(edge.ratio - 1) <= o.reliefTolerance || Math.sign(lo.y) !== Math.sign(hi.y)) break;
      }
      if (Number.isFinite(hi.y) && Math.abs(hi.y) > Math.log1p(o.reliefTolerance) && Math.sign(lo.y) !== Math.sign(hi.y)) {
        let side = 0;
        while (tried.length < 10) {
          const x = hi.x - (hi.y * (hi.x - lo.x)) / (hi.y - lo.y);
          const run = await adjust(Math.exp(x));
          tried.push({ prior: Math.exp(x), run });
          if (Math.abs(run.ratio - 1) <= o.reliefTolerance) break;
          const y = f(run.ratio);
          if (!Number.isFinite(y)) break;
          if (Math.sign(y) === Math.sign(hi.y)) {
            hi = { x, y };
            if (side === 1) lo.y /= 2;
            side = 1;
          } else {
            lo = { x, y };
            if (side === -1) hi.y /= 2;
            side = -1;
          }
        }
      }
    }
    // The run nearest a ratio of 1 among those that pass the acceptance tests, when the search bracketed 1 or came
    // within the tolerance; otherwise (the depth does not cross the given poses' within the window: no ambiguity the
    // prior decides, or given poses too noisy to measure their relief) the adjustment with the asked-for prior stays.
    const usable = tried.filter((t) => t.run.acceptable && Number.isFinite(t.run.ratio));
    const found = usable.some((t) => Math.abs(t.run.ratio - 1) <= o.reliefTolerance) || (usable.some((t) => t.run.ratio <= 1) && usable.some((t) => t.run.ratio >= 1));
    const best = found ? usable.reduce((a, b) => (Math.abs(b.run.ratio - 1) < Math.abs(a.run.ratio - 1) ? b : a)) : tried[0];
    chosen = best.run;
    relief = { priorRotationDeg: best.prior, depthRatio: best.run.ratio, runs: tried.length, iterations };
  }
  const { problem, report, rotations } = chosen;
  // The adjusted K of view i, back in its own pixels (rows: v' = cy0 + (v - cy0) s = aspect f y + cy).
  const refinedK = (i: number): number[] => {
    const b = problem.cameraIntrinsics[i], io = b * INTRINSICS_STRIDE;
    const f = problem.intrinsics[io], aspect = problem.aspect ? problem.aspect[b] : 1, s = rowScale[i], cy0 = views[i].K[5];
    return [f, 0, problem.intrinsics[io + 1], 0, (aspect * f) / s, cy0 + (problem.intrinsics[io + 2] - cy0) / s, 0, 0, 1];
  };
  // 4. How far the cameras moved, and whether to take it.
  const shifts: number[] = [];
  const after = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    cameraCentreOf(problem.poses, i, after, i);
    shifts.push(Math.hypot(after[3 * i] - centres[3 * i], after[3 * i + 1] - centres[3 * i + 1], after[3 * i + 2] - centres[3 * i + 2]));
  }
  const stats = {
    ...counted,
    adjusted: free.filter(Boolean).length,
    rmsBefore: before,
    rmsAfter: report.finalRms,
    rotationDeg: { median: median(rotations), max: chosen.maxTurn },
    centreShift: { median: median(shifts) / spacing, max: Math.max(...shifts) / spacing },
    ...(relief ? { relief } : {}),
    ...(refineK ? { intrinsics: [0, 4, 2, 5].map((k) => refinedK(0)[k]) } : {}),
  };
  if (!(report.finalRms <= o.accept * before)) return { ...stats, accepted: false, reason: `the given poses already explain the tracks (RMS ${before.toFixed(2)} -> ${report.finalRms.toFixed(2)} px)` };
  if (stats.rotationDeg.max > o.maxRotationDeg) return { ...stats, accepted: false, reason: `a camera would turn by ${stats.rotationDeg.max.toFixed(2)} deg (limit ${o.maxRotationDeg})` };
  views.forEach((v, i) => {
    v.camFromWorld = Array.from(problem.poses.subarray(12 * i, 12 * i + 12));
    if (refineK) v.K = refinedK(i);
  });
  // The adjusted tracks' points, in the frame of the poses just written (for the depth stage's sweep ranges).
  return { ...stats, points: problem.points, accepted: true, reason: `RMS ${before.toFixed(2)} -> ${report.finalRms.toFixed(2)} px over ${stats.observations} observations` };
}

/**
 * Held-out photos (evaluation only) keep their given poses out of the adjustment, but the adjustment moves the frame
 * the model is built in (on 7-Scenes the cameras turn ~1.2 deg together with the depth's relief): scored at its given
 * pose, a held-out view would see the model from the wrong place. Each held-out view takes the correction of the
 * adjusted view whose given centre is nearest: adjusted = given_h o (given_j^-1 o adjusted_j), exact for a correction
 * common to all cameras. Its photo is not used; its K follows when the adjustment refined that view's K.
 */
export function carryToHeldOut(capture: CaptureSet, adjusted: PosedView[], given: { pose: number[]; K: number[] }[]): void {
  const centres = given.map((g) => cameraCentre(g.pose));
  for (const h of capture.views) {
    if (!h.heldOut || !h.camFromWorld) continue;
    const c = cameraCentre(h.camFromWorld);
    const distances = centres.map((q) => Math.hypot(q[0] - c[0], q[1] - c[1], q[2] - c[2]));
    const j = distances.indexOf(Math.min(...distances));
    h.camFromWorld = composePoses(h.camFromWorld, composePoses(invertPose(given[j].pose), adjusted[j].camFromWorld));
    if (adjusted[j].K.some((x, k) => x !== given[j].K[k]) && h.K.every((x, k) => x === given[j].K[k])) h.K = adjusted[j].K.slice();
  }
}

const MAX_VIEWS = 300;
/** Pairs to match, from the given poses: per view its 10 nearest cameras whose axes are within 60 degrees. */
export function posePairs(views: PosedView[], perView = 10, maxAxisDeg = 60): [number, number][] {
  const c = views.map((v) => cameraCentre(v.camFromWorld)), a = views.map((v) => viewDirection(v.camFromWorld));
  const cosMax = Math.cos((maxAxisDeg * Math.PI) / 180);
  const seen = new Set<string>();
  const pairs: [number, number][] = [];
  views.forEach((_, i) => {
    const near = views
      .map((__, j) => ({ j, d: Math.hypot(c[i][0] - c[j][0], c[i][1] - c[j][1], c[i][2] - c[j][2]) }))
      .filter(({ j }) => j !== i && a[i][0] * a[j][0] + a[i][1] * a[j][1] + a[i][2] * a[j][2] >= cosMax)
      .sort((x, y) => x.d - y.d)
      .slice(0, perView);
    for (const { j } of near) {
      const key = i < j ? `${i},${j}` : `${j},${i}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push(i < j ? [i, j] : [j, i]);
    }
  });
  return pairs;
}

/** GIVEN_POSE_BA_RULE on a capture's posed views (features from the working images, on the GPU). */
export async function refineGivenCameras(capture: CaptureSet, ctx: StageContext, options: Partial<GivenPoseOptions> & { maxFeatures?: number } = {}): Promise<GivenPoseStats> {
  const t0 = performance.now();
  // Held-out photos stay unseen; their poses follow their neighbours' correction (carryToHeldOut).
  const views = capture.views.filter((v): v is typeof v & { camFromWorld: number[] } => Boolean(v.camFromWorld) && !v.heldOut);
  if (views.length < 2) throw new InputError('Refining the given cameras needs at least two photos with a camera pose.');
  // The reduced camera system is dense (6 unknowns a camera): a few hundred cameras at most.
  if (views.length > MAX_VIEWS) {
    return { views: views.length, adjusted: 0, matches: 0, keptMatches: 0, tracks: 0, observations: 0, rmsBefore: 0, rmsAfter: 0, rotationDeg: { median: 0, max: 0 }, centreShift: { median: 0, max: 0 }, accepted: false, reason: `more than ${MAX_VIEWS} photos with cameras (${views.length})`, ms: performance.now() - t0 };
  }
  const features = await extractFeatures({ ...ctx, progress: (done, _total, message) => ctx.progress(done, 2 * views.length, message) }, views.map((v) => v.image), { maxFeatures: options.maxFeatures ?? 8000 });
  throwIfAborted(ctx.signal);
  const given = views.map((v) => ({ pose: v.camFromWorld.slice(), K: v.K.slice() }));
  const pairs = posePairs(views);
  const matches = await matchPairs({ ...ctx, progress: (done, total, message) => ctx.progress(views.length + (views.length * done) / Math.max(1, total), 2 * views.length, `matching: ${message}`) }, features, pairs);
  throwIfAborted(ctx.signal);
  const { points, ...stats } = await adjustGivenPoses(views, features, matches, options, async (k) => {
    // A macrotask boundary, so that a cancel message reaches the worker between adjustments.
    await new Promise((resolve) => setTimeout(resolve, 0));
    throwIfAborted(ctx.signal);
    ctx.progress(2 * views.length, 2 * views.length, `adjusting the cameras${k ? ` (relief search, ${k + 1})` : ''}`);
  });
  throwIfAborted(ctx.signal);
  if (points) capture.scenePoints = Float32Array.from(points);
  if (stats.accepted) carryToHeldOut(capture, views, given);
  return { ...stats, ms: performance.now() - t0 };
}
