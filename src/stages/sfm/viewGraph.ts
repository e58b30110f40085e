/**
 * View-graph checks on the verified pairs' two-view relative rotations, before tracks are built.
 *
 * SYMMETRY_RULE: an object with repeated structure (lego's identical left and right caterpillar tracks; a temple's
 * front and back) gives pairs of views from opposite sides whose matches all lie on the repeated part and verify
 * with a consistent two-view geometry: the relative pose of one view to the other's mirror image. Merged into tracks,
 * such a pair joins a 3D point with its symmetric twin, and PnP then registers views of one side at the mirrored pose
 * of the other (lego, 100 views: 29 views rotated 180 degrees about the vertical axis, reprojection error fine).
 * Relative rotations compose around a loop: for a triplet of pairwise verified views, R_jk R_ij = R_ik when all three
 * pairs are true; a triplet with exactly one symmetric pair is off by the symmetry's rotation (180 degrees on lego).
 * So a pair that most of its triplets contradict is removed; greedily, the most contradicted first, since each
 * removal takes its contradictions off the true pairs it shared triplets with.
 *
 * Measured limits (lego, every 2nd view, true focal): of 485 E-verified pairs, 252 have a two-view rotation > 30 deg
 * off the truth (mostly 15-25 inliers: the studs repeat everywhere); at 10 deg the check removes 191 of them and one
 * pair within 3 deg of the truth. It does NOT undo the mirrored sub-model: the 14 views that register rotated
 * 180 degrees share 86 symmetric pairs (2279 inliers) and only 13 true pairs (558 inliers) with the other 36, and
 * agree among themselves (29 true pairs, 3937 inliers): the view graph itself favours the mirror, so no vote over
 * it can separate the two; that needs more true pairs between the two sides (matching), not a better vote.
 */

/** A verified pair with its two-view relative rotation (camera j from camera i: X_j = R X_i + t), row-major. */
export interface RotationEdge { i: number; j: number; R: ArrayLike<number>; /** Evidence, e.g. the inlier count. */ weight: number }

/** Triplets whose loop rotation is within this many degrees of identity support each of their pairs. */
export const LOOP_AGREE_DEG = 10;

function loopAngleDeg(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): number {
  // trace(B A C^T) for the loop i -> j -> k against i -> k: A = R_ij, B = R_jk, C = R_ik.
  let tr = 0;
  for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) {
    let ba = 0;
    for (let s = 0; s < 3; s++) ba += b[3 * r + s] * a[3 * s + q];
    tr += ba * c[3 * r + q];
  }
  return (Math.acos(Math.max(-1, Math.min(1, (tr - 1) / 2))) * 180) / Math.PI;
}

const transpose = (R: ArrayLike<number>): number[] => [R[0], R[3], R[6], R[1], R[4], R[7], R[2], R[5], R[8]];

/**
 * Indices into `edges` of the pairs the loop check removes: a pair goes when its contradicting triplets outnumber its
 * supporting ones (and there are at least minContradictions of them), most contradicted first, the counts updated
 * after each removal.
 */
export function inconsistentPairs(edges: RotationEdge[], nImages: number, agreeDeg = LOOP_AGREE_DEG, minContradictions = 2): number[] {
  // Directed lookup: rot(a, b) = camera b from camera a.
  const id = new Map<number, number>();
  edges.forEach((e, k) => id.set(e.i * nImages + e.j, k));
  const nb: Set<number>[] = Array.from({ length: nImages }, () => new Set());
  for (const e of edges) { nb[e.i].add(e.j); nb[e.j].add(e.i); }
  const rot = (a: number, b: number): ArrayLike<number> => {
    const k = id.get(a * nImages + b);
    return k !== undefined ? edges[k].R : transpose(edges[id.get(b * nImages + a)!].R);
  };
  const edgeOf = (a: number, b: number) => id.get(Math.min(a, b) * nImages + Math.max(a, b)) ?? id.get(Math.max(a, b) * nImages + Math.min(a, b))!;
  // Triplets as (edge, edge, edge, consistent); each edge's live triplets.
  // A triplet speaks about one of its pairs with the weight of the weaker of its two other pairs: a wrong pair of 15
  // inliers (lego's studs verify between unrelated views) must not outvote a true pair of 800 through the triplets
  // it spoils, while two strong pairs that agree with each other outvote it.
  const support = new Float64Array(edges.length), contra = new Float64Array(edges.length), contraCount = new Int32Array(edges.length);
  const triplets: { e: [number, number, number]; ok: boolean }[] = [];
  const tw = (e: [number, number, number], x: number) => { const o = e.filter((y) => y !== x); return Math.min(edges[o[0]].weight, edges[o[1]].weight); };
  const tripletsOf: number[][] = edges.map(() => []);
  for (let a = 0; a < nImages; a++) for (const b of nb[a]) {
    if (b <= a) continue;
    for (const c of nb[b]) {
      if (c <= b || !nb[a].has(c)) continue;
      const ok = loopAngleDeg(rot(a, b), rot(b, c), rot(a, c)) < agreeDeg;
      const e: [number, number, number] = [edgeOf(a, b), edgeOf(b, c), edgeOf(a, c)];
      const t = triplets.length;
      triplets.push({ e, ok });
      for (const x of e) { tripletsOf[x].push(t); if (ok) support[x] += tw(e, x); else { contra[x] += tw(e, x); contraCount[x]++; } }
    }
  }
  const removed = new Uint8Array(edges.length), deadTriplet = new Uint8Array(triplets.length);
  const out: number[] = [];
  for (;;) {
    let worst = -1, worstScore = 0;
    for (let k = 0; k < edges.length; k++) {
      if (removed[k] || contraCount[k] < minContradictions || contra[k] <= support[k]) continue;
      const score = (contra[k] - support[k]) / edges[k].weight;
      if (score > worstScore || (score === worstScore && worst >= 0 && contra[k] > contra[worst])) { worst = k; worstScore = score; }
    }
    if (worst < 0) break;
    removed[worst] = 1;
    out.push(worst);
    for (const t of tripletsOf[worst]) {
      if (deadTriplet[t]) continue;
      deadTriplet[t] = 1;
      for (const x of triplets[t].e) {
        if (triplets[t].ok) support[x] -= tw(triplets[t].e, x);
        else { contra[x] -= tw(triplets[t].e, x); contraCount[x]--; }
      }
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * MIRROR_PAIR_RULE: the symmetric pairs that SYMMETRY_RULE cannot vote out still betray themselves by their inlier
 * count. A mirror pair matches only the repeated part (lego's caterpillar tracks), so it has few inliers for the small
 * relative rotation it claims, while each of its two views has true partners at that rotation or a larger one that
 * share most of the visible surface. A pair is dropped when, at BOTH of its views, another verified pair whose
 * two-view rotation is at least the pair's own minus `marginDeg` has more than 1 / `ratio` times its inliers: an
 * "as close or closer" claim that both views' own neighbourhoods contradict. Computed once on the input edges (not
 * greedily), so each view's strongest pair always stays and no view loses all its pairs.
 *
 * Measured on the pairs (lego, every 2nd view, true focal; 485 E-verified pairs, rotations from the two-view E),
 * 5 degree margin: of the 103 pairs whose rotation is ~180 degrees off the truth, 197 within 10 degrees of it and 185
 * otherwise wrong, a ratio of 0.2 flags 28 / 0 / 15, 0.25: 35 / 1 / 18, 0.3: 42 / 1 / 21 (the true one: 18 inliers at
 * 32 degrees), 0.4: 46 / 10 / 33. Without the rotation condition 0.2 flags 83 / 69 / 152: wide-baseline true pairs
 * against their views' close neighbours. Most of the mirror pairs that stay claim 30-170 degrees with 15-25 inliers,
 * like the few true pairs between the two sides (15 pairs, 17-113 inliers): no inlier ratio separates those.
 * End to end (bench/sfmGeometry.ts nerf-synthetic-lego --subset 2 --true-focal): views registered mirrored /
 * registered / relative rotation median / centre error: off 13 / 48 of 50 / 0.309 deg / 19.0%; 0.2: 11 / 49 / 0.303 /
 * 17.5%; 0.3: 4 / 49 / 0.188 / 6.0%; 0.35 (78 pairs dropped): 4 / 49 / 0.198 / 6.0%. Fountain and sceaux: no pair
 * flagged at 0.3, results identical. Temple (16 views, its front and back alike): 0.2 drops 1 pair, 0.3 drops 4:
 * 16/16 either way, relative rotation median / max 0.253 / 0.458 deg off, 0.259 / 0.485 at 0.3 (centre error
 * 0.057% -> 0.053%).
 */
export const MIRROR_PAIR_RATIO = 0.3;
export const MIRROR_PAIR_MARGIN_DEG = 5;

const rotationAngle = (R: ArrayLike<number>) => (Math.acos(Math.max(-1, Math.min(1, (R[0] + R[4] + R[8] - 1) / 2))) * 180) / Math.PI;

/** Indices into `edges` of the pairs MIRROR_PAIR_RULE removes (ascending). */
export function weakClosePairs(edges: RotationEdge[], nImages: number, ratio = MIRROR_PAIR_RATIO, marginDeg = MIRROR_PAIR_MARGIN_DEG): number[] {
  const angle = edges.map((e) => rotationAngle(e.R));
  const at: number[][] = Array.from({ length: nImages }, () => []);
  edges.forEach((e, k) => { at[e.i].push(k); at[e.j].push(k); });
  const out: number[] = [];
  edges.forEach((e, k) => {
    const contradicted = (v: number) => at[v].some((q) => q !== k && angle[q] >= angle[k] - marginDeg && e.weight < ratio * edges[q].weight);
    if (contradicted(e.i) && contradicted(e.j)) out.push(k);
  });
  return out;
}
