/**
 * MIRROR_TRANSFER_RULE: places the views of a flagged group (MIRROR_REPAIR_RULE, mirrorCheck.ts) that the repaired
 * re-run could not register, by transferring the pose of the group members it did re-place.
 *
 * Why: a flagged group was placed as one rigid block at its mirror pose (lego: rotated ~180 degrees about the
 * caterpillar tracks' symmetry axis). Once its mirror pairs are excluded, some members lack the true 2D-3D matches
 * for PnP on their own (lego: 11-20 inliers among ~100 track matches). But a member that the re-run did re-place has
 * both its wrong pose (first run) and its right one (repaired run): the block's motion, applied to a left-out member's
 * wrong pose, predicts its right pose. The prediction is only a hypothesis; it is accepted after verification:
 *
 * 1. Frames: the first and the repaired run have different gauges, so a similarity (Umeyama on camera centres) maps
 *    the first run's frame onto the repaired one, fitted on the views registered in both outside flagged groups.
 * 2. Per group: the rigid motion M, e (object side: X -> M X + e) taking the mapped wrong poses of its re-placed
 *    members to their repaired poses (M: nearest rotation to the mean of R_right^T R_wrong; e: mean centre offset).
 *    A group without a re-placed member borrows the motion of every other flagged group's re-placed members (the
 *    object's symmetry is one motion); with none anywhere its views stay unregistered.
 * 3. Guided matching: the view's putative matches (input.pairs, before verification) with registered views whose
 *    partner feature observes a model point give candidate 2D-3D correspondences; those that the predicted pose
 *    projects within TRANSFER_GATE_PX are kept (the prediction replaces the verification that these matches lack).
 * 4. PnP (LO-RANSAC, the registration's threshold) on the gated candidates, then LM refinement on the inliers within
 *    maxReprojectionPx, one feature per point. Accepted with at least minPnpInliers inliers, a median reprojection
 *    error under TRANSFER_MAX_MEDIAN_PX and a pose within TRANSFER_MAX_ROT_DEG of the prediction (the data, not the
 *    prediction, must place it, and it must place it where the prediction said: with a 150 px gate PnP found r_4's
 *    mirror pose again, 22 inliers at 175 deg from the prediction, rejected).
 * 5. A placed view joins the model with its inlier observations and the points it triangulates with registered views
 *    (putative matches whose two-view triangulation reprojects within maxReprojectionPx in both views, at
 *    minTriangulationAngleDeg or more). Of the pending views the one with the most inliers goes in first; the rest
 *    are then retried, since a group's members see the same
 *    part and the new points are their correspondences (lego every 2nd view: r_4 has 10 inliers against the repaired
 *    model, 90 once r_22 and r_74 are in). The other cameras and points are not moved (no bundle adjustment).
 *
 * Measured (lego every 2nd view, true focal, the saved verification; solve.ts's minPnpInliers 12): the repair
 * leaves r_4, r_22, r_74 (one group, none re-placed; r_72, the other group, re-placed). From r_72's motion: r_22 and
 * r_74 placed first with 25 inliers each (1.5 and 1.0 deg from the prediction, median 1.2-1.3 px), then r_4, which
 * had 10 inliers against the repaired model, with 90 (1.3 deg, 0.94 px) on their new points. 50 of 50 registered,
 * none flipped, relative rotation median 0.170 deg (0.160 with the 47); the placed views' own relative medians are
 * at most 0.353 deg (the model's worst view, r_98, registered normally: 0.412). With MIRROR_PAIR_RULE off (13
 * flipped, groups of 9 and 4): the same three left, predicted from r_50 of their own group within 0.6-1.1 deg,
 * placed with 24, 24, 92 inliers: 50 of 50, none flipped, median 0.158 deg (0.152 with the 47), worst view 0.324
 * deg (not a placed one). Placing the best supported view first matters: in list order r_4 went in with 19
 * inliers and ended the worst view at 0.618 deg. The rule costs under 0.05 s. Temple, fountain, sceaux: nothing
 * flagged, the rule does not run (results identical).
 */
import { pixelToNormalised, reprojectionError2 } from './geometry/camera';
import { mul3, nearestRotation, rotationDistanceDeg, transpose3 } from './geometry/linalg';
import { estimateAbsolutePose, refineAbsolutePose } from './geometry/pnp';
import { cameraCentreOf, maxRayAngleDeg, triangulateDlt } from './geometry/triangulation';
import { intrOf, type Cam } from './mirrorCheck';
import type { SfmInput, SfmResult } from './types';

/** Candidate 2D-3D matches whose point the predicted pose projects within this many pixels of the feature. */
export const TRANSFER_GATE_PX = 24;
/** The verified pose's rotation must lie within this angle of the prediction. */
export const TRANSFER_MAX_ROT_DEG = 10;
/** Median reprojection error of the accepted inliers at most this (pixels). */
export const TRANSFER_MAX_MEDIAN_PX = 2;

const rotOf = (p: ArrayLike<number>) => Float64Array.of(p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]);
const centreOf = (p: ArrayLike<number>): number[] => [0, 1, 2].map((c) => -(p[c] * p[3] + p[4 + c] * p[7] + p[8 + c] * p[11]));
const apply = (R: ArrayLike<number>, x: number[]) => [0, 1, 2].map((i) => R[3 * i] * x[0] + R[3 * i + 1] * x[1] + R[3 * i + 2] * x[2]);
/** camFromWorld from a rotation and a centre. */
const poseOf = (R: ArrayLike<number>, C: number[]): number[] => {
  const t = apply(R, C).map((v) => -v);
  return [R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2]];
};

/** Similarity y = s Q x + d (Umeyama) from point lists x, y (3 per point); null with fewer than 3 points. */
export function similarityOf(x: number[][], y: number[][]): { s: number; Q: Float64Array; d: number[] } | null {
  const n = x.length;
  if (n < 3) return null;
  const mx = [0, 1, 2].map((k) => x.reduce((a, p) => a + p[k], 0) / n), my = [0, 1, 2].map((k) => y.reduce((a, p) => a + p[k], 0) / n);
  const S = new Float64Array(9);
  let vx = 0;
  for (let p = 0; p < n; p++) {
    const a = x[p].map((v, k) => v - mx[k]), b = y[p].map((v, k) => v - my[k]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) S[3 * i + j] += b[i] * a[j];
    vx += a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
  }
  if (!(vx > 0)) return null;
  const Q = nearestRotation(S);
  let tr = 0;
  for (let k = 0; k < 9; k++) tr += Q[k] * S[k];
  const s = tr / vx;
  const qm = apply(Q, mx);
  return { s, Q, d: my.map((v, k) => v - s * qm[k]) };
}

export interface TransferReport {
  /** Views placed by transfer. */
  placed: number[];
  /** Per tried view: why it was not placed (or the accepted figures), for reports and tests. */
  notes: { index: number; note: string }[];
  /** The predicted pose (camFromWorld, the repaired frame) of every view a motion was found for. */
  predicted: { index: number; pose: number[] }[];
}

/**
 * MIRROR_TRANSFER_RULE (see the file comment): `first` is the model with the flagged groups at their mirror poses,
 * `repaired` the re-run without the mirror pairs, `groups` the first check's flagged groups, `stillFlagged` the views
 * the repaired model's own check still flags (no motion is learnt from them: they may still be mirrored). Returns `repaired` with
 * the placed views added (a new object; `repaired` is not modified) and the report.
 */
export function placeByTransfer(input: SfmInput, first: SfmResult, repaired: SfmResult, groups: number[][], opts: { minPnpInliers: number; pnpErrorPx: number; maxReprojectionPx: number; minTriangulationAngleDeg: number }, stillFlagged: number[] = []): { result: SfmResult; report: TransferReport } {
  const report: TransferReport = { placed: [], notes: [], predicted: [] };
  const flagged = new Set(groups.flat());
  const rePlaced = (v: number) => !!first.cameras[v] && !!repaired.cameras[v] && !stillFlagged.includes(v);
  const left = groups.flat().filter((v) => first.cameras[v] && !repaired.cameras[v]);
  if (!left.length) return { result: repaired, report };
  // 1. The first run's frame onto the repaired one, from the views both placed outside flagged groups.
  const xs: number[][] = [], ys: number[][] = [];
  first.cameras.forEach((c, v) => {
    const r = repaired.cameras[v];
    if (c && r && !flagged.has(v)) { xs.push(centreOf(c.camFromWorld)); ys.push(centreOf(r.camFromWorld)); }
  });
  const sim = similarityOf(xs, ys);
  if (!sim) {
    for (const v of left) report.notes.push({ index: v, note: 'fewer than 3 views common to both runs' });
    return { result: repaired, report };
  }
  /** A first-run pose in the repaired frame: R' = R Q^T, C' = s Q C + d. */
  const mapped = (c: Cam) => ({ R: mul3(rotOf(c.camFromWorld), transpose3(sim.Q)), C: apply(sim.Q, centreOf(c.camFromWorld)).map((v, k) => sim.s * v + sim.d[k]) });

  // The model as it grows: points (xyz), their observations, and which point each (view, feature) observes.
  const nImg = repaired.cameras.length;
  const featBase = new Float64Array(nImg + 1);
  for (let i = 0; i < nImg; i++) featBase[i + 1] = featBase[i] + input.images[i].points.length / 2;
  const model: Model = { cameras: repaired.cameras.slice(), points: Array.from(repaired.points), obs: [], obsPoint: new Map(), featBase };
  const nPts0 = repaired.points.length / 3;
  for (let p = 0; p < nPts0; p++) {
    const list: [number, number][] = [];
    for (let o = repaired.pointObservationStart[p]; o < repaired.pointObservationStart[p + 1]; o++) {
      const v = repaired.pointObservations[2 * o], f = repaired.pointObservations[2 * o + 1];
      list.push([v, f]);
      model.obsPoint.set(featBase[v] + f, p);
    }
    model.obs.push(list);
  }

  // Predictions per left-out view, from its group's motion.
  const predictions: { view: number; pose: number[]; cam: Cam; why: string }[] = [];
  for (const g of groups) {
    const own = g.filter(rePlaced);
    const todo = g.filter((v) => left.includes(v));
    if (!todo.length) continue;
    // A group none of whose members was re-placed borrows the motion of the other groups' re-placed members: the
    // mirror motion is the object's symmetry, common to every group glued through the same repeated part (lego every
    // 2nd view: the group r_4, r_22, r_74 has no re-placed member; r_72's motion predicts their poses within 1.5 deg).
    // A group with another motion gets a wrong prediction, which the verification rejects.
    const placedIn = own.length ? own : groups.flat().filter(rePlaced);
    if (!placedIn.length) {
      for (const v of todo) report.notes.push({ index: v, note: 'no view of any flagged group re-placed' });
      continue;
    }
    // 2. The group's motion from its re-placed members.
    const sumM = new Float64Array(9);
    const moves = placedIn.map((v) => {
      const w = mapped(first.cameras[v]!), r = repaired.cameras[v]!;
      const M = mul3(transpose3(rotOf(r.camFromWorld)), w.R); // R_right = R_wrong M^T  ->  M = R_right^T R_wrong
      for (let k = 0; k < 9; k++) sumM[k] += M[k];
      return { M, w, C: centreOf(r.camFromWorld) };
    });
    const M = nearestRotation(sumM);
    const spread = Math.max(...moves.map((m) => rotationDistanceDeg(m.M, M)));
    const e = [0, 1, 2].map((k) => moves.reduce((a, m) => a + m.C[k] - apply(M, m.w.C)[k], 0) / moves.length);
    for (const v of todo) {
      const w = mapped(first.cameras[v]!);
      const C = apply(M, w.C).map((x, k) => x + e[k]);
      const R = mul3(w.R, transpose3(M));
      const cam = input.sharedIntrinsics ? repaired.cameras.find((c): c is Cam => !!c)! : first.cameras[v]!;
      predictions.push({ view: v, pose: poseOf(R, C), cam, why: `${own.length ? 'its group' : 'the other groups'}: motion from ${placedIn.length} views, spread ${spread.toFixed(2)} deg` });
    }
  }
  // 3./4. Verified one by one; a placed view's new points (triangulated with registered views) can give the next one
  // its correspondences (a group's members see the same part), so the pending ones are retried after each placement.
  const pending = predictions.slice();
  const last = new Map<number, string>();
  for (let progress = true; progress && pending.length;) {
    progress = false;
    // The best supported view first (most inliers), as the registration takes the view seeing most of the model.
    let best = -1, bestR: ReturnType<typeof verifyPlacement> | null = null;
    for (let k = 0; k < pending.length; k++) {
      const r = verifyPlacement(input, model, pending[k].view, pending[k].pose, pending[k].cam, opts);
      last.set(pending[k].view, `${r.note} (${pending[k].why})`);
      if (r.pose && (!bestR || r.obs.length > bestR.obs.length)) { best = k; bestR = r; }
    }
    if (bestR) {
      const pr = pending[best], r = bestR;
      const cam: Cam = { K: pr.cam.K.slice() as Cam['K'], camFromWorld: r.pose! as Cam['camFromWorld'], k1: pr.cam.k1, k2: pr.cam.k2 };
      model.cameras[pr.view] = cam;
      for (const [p, f] of r.obs) { model.obs[p].push([pr.view, f]); model.obsPoint.set(featBase[pr.view] + f, p); }
      const added = triangulateNew(input, model, pr.view, opts);
      last.set(pr.view, `${last.get(pr.view)}; ${added} new points`);
      report.placed.push(pr.view);
      pending.splice(best, 1);
      progress = true;
    }
  }
  for (const pr of predictions) {
    report.notes.push({ index: pr.view, note: last.get(pr.view)! });
    report.predicted.push({ index: pr.view, pose: pr.pose });
  }
  if (!report.placed.length) return { result: repaired, report };
  // The placed views join the model with their inlier observations and new points.
  const nPts = model.obs.length;
  const obsList: number[] = [];
  const start = new Uint32Array(nPts + 1), lens = new Uint32Array(nPts);
  for (let p = 0; p < nPts; p++) {
    for (const [v, f] of model.obs[p]) obsList.push(v, f);
    start[p + 1] = obsList.length / 2;
    lens[p] = start[p + 1] - start[p];
  }
  const placed = new Set(report.placed);
  return {
    result: {
      ...repaired,
      cameras: model.cameras,
      unregistered: repaired.unregistered.filter((u) => !placed.has(u.index)),
      points: Float32Array.from(model.points),
      pointObservations: Uint32Array.from(obsList),
      pointObservationStart: start,
      trackLengths: lens,
      stats: { ...repaired.stats, registered: model.cameras.filter(Boolean).length, points: nPts, observations: obsList.length / 2 },
    },
    report,
  };
}

interface Model {
  cameras: (Cam | null)[];
  points: number[];
  obs: [number, number][][];
  /** featBase[view] + feature -> point. */
  obsPoint: Map<number, number>;
  featBase: Float64Array;
}

/**
 * New points from a just placed view: its putative matches with registered views where neither feature observes a
 * point yet, triangulated from the two poses and kept when both reprojection errors are within maxReprojectionPx
 * and the rays meet at minTriangulationAngleDeg or more (the known poses verify the match). Returns how many.
 */
function triangulateNew(input: SfmInput, model: Model, v: number, opts: { maxReprojectionPx: number; minTriangulationAngleDeg: number }): number {
  const poses = new Float64Array(24), xn = new Float64Array(4), X = new Float64Array(3), centres = new Float64Array(6);
  const cv = model.cameras[v]!;
  const thr2 = opts.maxReprojectionPx * opts.maxReprojectionPx;
  let added = 0;
  for (const pr of input.pairs) {
    if (pr.i !== v && pr.j !== v) continue;
    const o = pr.i === v ? pr.j : pr.i, co = model.cameras[o];
    if (!co) continue;
    poses.set(cv.camFromWorld, 0); poses.set(co.camFromWorld, 12);
    cameraCentreOf(poses, 0, centres, 0); cameraCentreOf(poses, 1, centres, 1);
    const A = input.images[v].points, B = input.images[o].points;
    for (let k = 0; k < pr.matches.length; k += 2) {
      const [fv, fo] = pr.i === v ? [pr.matches[k], pr.matches[k + 1]] : [pr.matches[k + 1], pr.matches[k]];
      if (model.obsPoint.has(model.featBase[v] + fv) || model.obsPoint.has(model.featBase[o] + fo)) continue;
      pixelToNormalised(intrOf(cv), 0, A[2 * fv], A[2 * fv + 1], xn, 0);
      pixelToNormalised(intrOf(co), 0, B[2 * fo], B[2 * fo + 1], xn, 1);
      if (!triangulateDlt(poses, [0, 1], xn, 2, X)) continue;
      if (reprojectionError2(cv.camFromWorld, 0, intrOf(cv), 0, X, 0, A[2 * fv], A[2 * fv + 1]) > thr2 || reprojectionError2(co.camFromWorld, 0, intrOf(co), 0, X, 0, B[2 * fo], B[2 * fo + 1]) > thr2) continue;
      if (maxRayAngleDeg(centres, 2, X) < opts.minTriangulationAngleDeg) continue;
      const p = model.obs.length;
      model.points.push(X[0], X[1], X[2]);
      model.obs.push([[v, fv], [o, fo]]);
      model.obsPoint.set(model.featBase[v] + fv, p);
      model.obsPoint.set(model.featBase[o] + fo, p);
      added++;
    }
  }
  return added;
}

/** Steps 3 and 4: guided 2D-3D matching from the predicted pose, PnP, refinement, acceptance. */
function verifyPlacement(input: SfmInput, model: Model, v: number, predicted: number[], cam: Cam, opts: { minPnpInliers: number; pnpErrorPx: number; maxReprojectionPx: number }): { pose: number[] | null; obs: [number, number][]; note: string } {
  const intr = intrOf(cam);
  const P = model.points, pts = input.images[v].points;
  const err2 = (pose: ArrayLike<number>, p: number, f: number) => reprojectionError2(pose, 0, intr, 0, P, 3 * p, pts[2 * f], pts[2 * f + 1]);
  // 3. Candidates: (feature of v, point) through putative matches with registered views, unique, gated.
  const seen = new Set<number>();
  const cand: [number, number][] = [];
  let putative = 0;
  const gate2 = TRANSFER_GATE_PX * TRANSFER_GATE_PX;
  for (const pr of input.pairs) {
    if (pr.i !== v && pr.j !== v) continue;
    const other = pr.i === v ? pr.j : pr.i;
    if (!model.cameras[other]) continue;
    for (let k = 0; k < pr.matches.length; k += 2) {
      const [fv, fo] = pr.i === v ? [pr.matches[k], pr.matches[k + 1]] : [pr.matches[k + 1], pr.matches[k]];
      const p = model.obsPoint.get(model.featBase[other] + fo);
      if (p === undefined) continue;
      const key = p * (model.featBase[v + 1] - model.featBase[v]) + fv;
      if (seen.has(key)) continue;
      seen.add(key);
      putative++;
      if (err2(predicted, p, fv) <= gate2) cand.push([p, fv]);
    }
  }
  if (cand.length < opts.minPnpInliers) return { pose: null, obs: [], note: `${cand.length} of ${putative} putative 2D-3D matches within ${TRANSFER_GATE_PX} px of the predicted pose` };
  // 4. PnP on the gated candidates (the intrinsics held: the view's own, or the shared camera's).
  const uv = new Float64Array(2 * cand.length), X = new Float64Array(3 * cand.length);
  cand.forEach(([p, f], k) => { uv[2 * k] = pts[2 * f]; uv[2 * k + 1] = pts[2 * f + 1]; X[3 * k] = P[3 * p]; X[3 * k + 1] = P[3 * p + 1]; X[3 * k + 2] = P[3 * p + 2]; });
  const res = estimateAbsolutePose(uv, X, { intrinsics: intr, threshold: opts.pnpErrorPx, seed: v + 1 });
  if (!res) return { pose: null, obs: [], note: `PnP failed on ${cand.length} gated matches` };
  let pose: number[] = Array.from(res.pose);
  // Inliers at the model's threshold, one feature per point and one point per feature (the closest), then LM.
  const select = (ps: ArrayLike<number>) => {
    const best = new Map<number, [number, number, number]>(), byFeat = new Map<number, number>();
    cand.forEach(([p, f], k) => {
      const e = err2(ps, p, f);
      if (e > opts.maxReprojectionPx * opts.maxReprojectionPx) return;
      const b = best.get(p);
      if (!b || e < b[2]) best.set(p, [f, k, e]);
    });
    const mask = new Uint8Array(cand.length);
    for (const [, [f, k, e]] of best) { const o = byFeat.get(f); if (o === undefined || e < err2(ps, cand[o][0], f)) byFeat.set(f, k); }
    for (const k of byFeat.values()) mask[k] = 1;
    return mask;
  };
  let mask = select(pose);
  for (let it = 0; it < 2; it++) {
    pose = Array.from(refineAbsolutePose(uv, X, mask, pose, intr[0], intr, false).pose);
    mask = select(pose);
  }
  const inl: [number, number][] = [], errs: number[] = [];
  mask.forEach((m, k) => { if (m) { inl.push([cand[k][0], cand[k][1]]); errs.push(Math.sqrt(err2(pose, cand[k][0], cand[k][1]))); } });
  errs.sort((a, b) => a - b);
  const med = errs.length ? errs[errs.length >> 1] : Infinity;
  const rotDeg = rotationDistanceDeg(rotOf(pose), rotOf(predicted));
  const figures = `${inl.length} inliers of ${cand.length} gated (${putative} putative), median ${med.toFixed(2)} px, ${rotDeg.toFixed(2)} deg from the prediction`;
  if (inl.length < opts.minPnpInliers || med > TRANSFER_MAX_MEDIAN_PX || rotDeg > TRANSFER_MAX_ROT_DEG) return { pose: null, obs: [], note: `rejected: ${figures}` };
  return { pose, obs: inl, note: `placed: ${figures}` };
}
