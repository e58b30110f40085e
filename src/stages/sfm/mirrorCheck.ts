/**
 * MIRROR_REPAIR_RULE: a model-level check for views registered at the mirror image of their true pose, and its repair
 * (after Heinly et al. 2014, "Correcting for duplicate scene structure in SfM": missing correspondences).
 *
 * Why a model-level check: on an object with repeated structure (lego's identical left and right caterpillar tracks)
 * a whole patch of views can be glued onto the opposite side through "mirror pairs" whose inliers all lie on the
 * repeated part. The patch is internally consistent and outnumbers, in pairs, the few true pairs between it and the
 * rest (lego every 2nd view: 86 mirror pairs against 13 true ones), so no vote over pairs separates them
 * (viewGraph.ts). The finished model does: a flipped view sits among true views of the other side, looking at the
 * same place from nearly the same viewpoint, yet it shares only the repeated part's points with them; the rest of
 * what it observes is a mirrored copy of its own side, duplicated structure that its neighbours never observe.
 *
 * The check: for two registered views a, b whose optical axes are within CLOSE_AXIS_DEG and whose median point depths
 * are within CLOSE_DEPTH_RATIO of each other, the points observed by one that project in front of and inside the
 * other ("expected") should mostly be observed by the other too ("shared"); "mostly" falls fast with the angle (lego:
 * median 0.35 at 10-15 degrees, 0.05-0.09 at 25-35), so the thresholds are low. The pair's co-observation ratio is
 * shared / expected over both directions, counted when at least MIN_EXPECTED points are expected. Pairs at or above
 * CONSISTENT_RATIO join views into groups (union-find); pairs within CONFLICT_AXIS_DEG below CONFLICT_RATIO are
 * conflicts. A group other than the largest is flagged when at least MIN_CONFLICTS of its pairs within
 * CONFLICT_AXIS_DEG with the largest group are conflicts and conflicts are the majority of them (no consistent pair
 * joins the two, by construction).
 *
 * The repair: of the verified pairs between a flagged group and the rest, those that AGREE with the current model
 * (most inliers within the epipolar threshold of the two registered poses) are the ones that placed the group where it
 * is, i.e. the mirror pairs; those that disagree are the true pairs the model overruled. The agreeing ones are
 * excluded and the reconstruction re-run from the same verified pairs (no re-verification). Views that the re-run
 * cannot place stay unregistered, with the reason, which is better than mirrored. At most MAX_REPAIR_ROUNDS rounds;
 * a round is kept only when it leaves fewer views in flagged groups.
 *
 * Measured (bench/sfmGeometry.ts nerf-synthetic-lego --subset 2 --true-focal; scratch runs from the same verified
 * pairs, with MIRROR_PAIR_RULE at 0.3 / off: 4 / 13 views flipped). Co-observation ratio by optical-axis angle, pairs
 * of two correctly placed views vs pairs of a flipped and a correctly placed view, both runs pooled:
 *   axes  0-5 deg: correct 0.72-0.98 (3 pairs)          flipped 0.005-0.015 (3)
 *        10-15 deg: correct min 0.16, median 0.35 (44)    flipped max 0.019 (23)
 *        15-20 deg: correct min 0.072, median 0.18 (64)   flipped max 0.013 (36)
 *        20-25 deg: correct min 0.023, median 0.10 (85)   flipped max 0.021 (32)
 *        25-35 deg: correct min 0.000, median 0.05-0.09   flipped max 0.017
 * (flipped pairs share only the caterpillar tracks: 0-2% of what is expected). So a conflict is only called within
 * CONFLICT_AXIS_DEG = 20 (correct pairs >= 0.072 there, flipped <= 0.019: CONFLICT_RATIO 0.025 between), and any pair
 * within 35 degrees at >= 0.05 joins (no flipped pair reaches 0.022). The groups then came out exactly: 35 correct
 * views in one group and the 13 flipped in two flagged groups (9 and 4); 45 and the 4 flipped (3 and 1).
 * The repair's agreement threshold is the verification's (twoViewErrorPx, 4 px): of the 192 verified pairs between
 * the 13 flipped views and the rest, 27 agree with the model, 25 of them mirror pairs (two-view rotation ~180 deg
 * off the truth), none true. At 16 px 81 agree (53 mirror, 28 otherwise wrong, none true), but their exclusion
 * changed the re-run enough to lose 5 views that were not flagged; hence also the rule that keeps a round only when it
 * loses no unflagged view.
 * End to end (bench/sfmGeometry.ts, Node, lego every 2nd view, true focal), flipped / registered / relative rotation
 * median, max / centre error: default (MIRROR_PAIR_RULE 0.3) 4 / 49 of 50 / 0.189 deg, 180 / 6.0% -> 0 / 47 /
 * 0.159, 0.604 deg / 0.055%; with mirrorPairRatio 0: 13 / 48 / 0.309 deg, 180 / 19% -> 0 / 47 / 0.152, 0.531 deg /
 * 0.052%. One round each (17 and 27 pairs excluded); the re-run cost 5.9 and 6.7 s, one reconstruction without its
 * verification (the first run took ~8 s of reconstruction after ~200 s of verification). The 3 views the re-run
 * cannot place (PnP finds 11-20 inliers among ~100 matches) are placed by MIRROR_TRANSFER_RULE (mirrorPlace.ts):
 * 50 of 50 in both runs; where it cannot verify a view, the view stays unregistered, with the reason. Temple, fountain,
 * sceaux: one group, no conflicting pair (pose-close pairs 3 / 12 / 25, lowest ratio 0.53 / 0.47 / 0.24), results
 * identical; the check costs under 0.1 s (0.5 s once on a loaded machine).
 */
import { pixelToNormalised } from './geometry/camera';
import { essentialBetween, sampson2 } from './geometry/essential';
import type { SfmResult } from './types';

/** Optical axes within this angle: the pair is labelled (consistent when its ratio is at least CONSISTENT_RATIO). */
export const CLOSE_AXIS_DEG = 35;
/** Optical axes within this angle: a ratio below CONFLICT_RATIO is a conflict. */
export const CONFLICT_AXIS_DEG = 20;
/** Median point depths of the two views within this factor of each other. */
export const CLOSE_DEPTH_RATIO = 1.5;
/** Fewer expected co-observations than this leave a pair unlabelled. */
export const MIN_EXPECTED = 40;
/** Co-observation ratios at or above this join two views into one group. */
export const CONSISTENT_RATIO = 0.05;
/** Co-observation ratios below this are conflicts (pose-close within CONFLICT_AXIS_DEG). */
export const CONFLICT_RATIO = 0.025;
/** Conflicting pose-close pairs a group needs with the largest group to be flagged. */
export const MIN_CONFLICTS = 2;
/** Repair rounds at most (each a full reconstruction from the cached verification). */
export const MAX_REPAIR_ROUNDS = 2;
/** A cross pair agrees with the model when this share of its inliers is within the epipolar threshold. */
export const AGREE_SHARE = 0.5;

/** One pose-close pair of registered views. */
export interface CoObservation { a: number; b: number; axisDeg: number; expected: number; shared: number; ratio: number }

export interface MirrorCheck {
  edges: CoObservation[];
  /** Group id per image (-1: unregistered), groups from consistent pairs. */
  group: Int32Array;
  /** The largest group's id. */
  main: number;
  /** Flagged groups' views, each list ascending. */
  flagged: number[][];
}

export type Cam = NonNullable<SfmResult['cameras'][number]>;

/** A result camera's intrinsics in the SfM camera model's layout [f, cx, cy, k1, k2] (geometry/camera.ts; square pixels). */
export const intrOf = (c: Cam): number[] => [c.K[0], c.K[2], c.K[5], c.k1, c.k2];

/** Pose-close pairs of registered views with their co-observation counts. */
export function coObservations(result: SfmResult, sizes: { width: number; height: number }[]): CoObservation[] {
  const n = result.cameras.length, nPts = result.points.length / 3;
  const obsStart = result.pointObservationStart, obs = result.pointObservations;
  // Per view: the points it observes (a sorted list) and a mask.
  const ptsOf: number[][] = Array.from({ length: n }, () => []);
  for (let p = 0; p < nPts; p++) for (let o = obsStart[p]; o < obsStart[p + 1]; o++) ptsOf[obs[2 * o]].push(p);
  const masks = new Map<number, Uint8Array>();
  const maskOf = (v: number) => {
    let m = masks.get(v);
    if (!m) { m = new Uint8Array(nPts); for (const p of ptsOf[v]) m[p] = 1; masks.set(v, m); }
    return m;
  };
  const P = result.points;
  const depth = (c: Cam, p: number) => c.camFromWorld[8] * P[3 * p] + c.camFromWorld[9] * P[3 * p + 1] + c.camFromWorld[10] * P[3 * p + 2] + c.camFromWorld[11];
  const medDepth = result.cameras.map((c, v) => {
    if (!c || !ptsOf[v].length) return 0;
    const d = ptsOf[v].map((p) => depth(c, p)).sort((x, y) => x - y);
    return d[d.length >> 1];
  });
  /** Points of a in front of and inside b (a 2% border left out), and how many of those b observes. */
  const project = (a: number, b: number): [number, number] => {
    const c = result.cameras[b]!, q = c.camFromWorld, K = c.K, mb = maskOf(b);
    const w = sizes[b].width, h = sizes[b].height, mx = 0.02 * w, my = 0.02 * h;
    let expected = 0, shared = 0;
    for (const p of ptsOf[a]) {
      const X = P[3 * p], Y = P[3 * p + 1], Z = P[3 * p + 2];
      const z = q[8] * X + q[9] * Y + q[10] * Z + q[11];
      if (z <= 0) continue;
      const x = (q[0] * X + q[1] * Y + q[2] * Z + q[3]) / z, y = (q[4] * X + q[5] * Y + q[6] * Z + q[7]) / z;
      const r2 = x * x + y * y, d = 1 + c.k1 * r2 + c.k2 * r2 * r2;
      const u = K[0] * d * x + K[2], v = K[4] * d * y + K[5];
      if (u < mx || u > w - mx || v < my || v > h - my) continue;
      expected++;
      shared += mb[p];
    }
    return [expected, shared];
  };
  const out: CoObservation[] = [];
  for (let a = 0; a < n; a++) {
    const ca = result.cameras[a];
    if (!ca || !medDepth[a]) continue;
    for (let b = a + 1; b < n; b++) {
      const cb = result.cameras[b];
      if (!cb || !medDepth[b]) continue;
      // Optical axis = third row of R.
      const cos = ca.camFromWorld[8] * cb.camFromWorld[8] + ca.camFromWorld[9] * cb.camFromWorld[9] + ca.camFromWorld[10] * cb.camFromWorld[10];
      const axisDeg = (Math.acos(Math.max(-1, Math.min(1, cos))) * 180) / Math.PI;
      if (axisDeg > CLOSE_AXIS_DEG) continue;
      if (Math.max(medDepth[a], medDepth[b]) > CLOSE_DEPTH_RATIO * Math.min(medDepth[a], medDepth[b])) continue;
      const [e1, s1] = project(a, b), [e2, s2] = project(b, a);
      const expected = e1 + e2, shared = s1 + s2;
      out.push({ a, b, axisDeg, expected, shared, ratio: expected ? shared / expected : 0 });
    }
  }
  return out;
}

/** The conflict graph's groups and the ones flagged against the largest. */
export function mirrorCheck(result: SfmResult, sizes: { width: number; height: number }[]): MirrorCheck {
  const n = result.cameras.length;
  const edges = coObservations(result, sizes);
  const parent = Int32Array.from({ length: n }, (_, k) => k);
  const find = (x: number): number => { while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x]; } return x; };
  for (const e of edges) if (e.expected >= MIN_EXPECTED && e.ratio >= CONSISTENT_RATIO) parent[Math.max(find(e.a), find(e.b))] = Math.min(find(e.a), find(e.b));
  const group = new Int32Array(n).fill(-1);
  const size = new Map<number, number>();
  for (let v = 0; v < n; v++) if (result.cameras[v]) { group[v] = find(v); size.set(group[v], (size.get(group[v]) ?? 0) + 1); }
  let main = -1;
  for (const [g, s] of size) if (main < 0 || s > size.get(main)!) main = g;
  const conflicts = new Map<number, number>(), labelled = new Map<number, number>();
  for (const e of edges) {
    if (e.expected < MIN_EXPECTED) continue;
    const ga = group[e.a], gb = group[e.b];
    if (ga === gb || (ga !== main && gb !== main) || e.axisDeg > CONFLICT_AXIS_DEG) continue;
    const other = ga === main ? gb : ga;
    labelled.set(other, (labelled.get(other) ?? 0) + 1);
    if (e.ratio < CONFLICT_RATIO) conflicts.set(other, (conflicts.get(other) ?? 0) + 1);
  }
  const flagged: number[][] = [];
  for (const [g, c] of conflicts) {
    if (c < MIN_CONFLICTS || 2 * c <= labelled.get(g)!) continue;
    const views: number[] = [];
    for (let v = 0; v < n; v++) if (group[v] === g) views.push(v);
    flagged.push(views);
  }
  return { edges, group, main, flagged };
}

/** A verified pair's inliers: feature indices [a0, b0, a1, b1, ...] of images i < j. */
export interface PairInliers { i: number; j: number; inliers: Uint32Array }

/**
 * The verified pairs between a flagged group and the other registered views that agree with the current model: at
 * least AGREE_SHARE of their inliers within `thresholdPx` (Sampson distance, in pixels of the smaller focal) of the
 * epipolar geometry of the two registered poses. Returned as [i, j] with i < j.
 */
export function agreeingCrossPairs(result: SfmResult, points: Float32Array[], pairs: PairInliers[], flagged: number[], thresholdPx: number): [number, number][] {
  const inGroup = new Set(flagged);
  const out: [number, number][] = [];
  const x1 = new Float64Array(2), x2 = new Float64Array(2);
  for (const pr of pairs) {
    if (inGroup.has(pr.i) === inGroup.has(pr.j)) continue;
    const c1 = result.cameras[pr.i], c2 = result.cameras[pr.j];
    if (!c1 || !c2) continue;
    const E = essentialBetween(c1.camFromWorld, c2.camFromWorld), in1 = intrOf(c1), in2 = intrOf(c2);
    const thr = thresholdPx / Math.min(c1.K[0], c2.K[0]);
    const m = pr.inliers.length / 2;
    let agree = 0;
    for (let k = 0; k < m; k++) {
      const a = pr.inliers[2 * k], b = pr.inliers[2 * k + 1];
      pixelToNormalised(in1, 0, points[pr.i][2 * a], points[pr.i][2 * a + 1], x1);
      pixelToNormalised(in2, 0, points[pr.j][2 * b], points[pr.j][2 * b + 1], x2);
      if (sampson2(E, x1, x2, 0) <= thr * thr) agree++;
    }
    if (agree >= AGREE_SHARE * m) out.push([pr.i, pr.j]);
  }
  return out;
}
