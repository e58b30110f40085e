/**
 * View-graph checks on the verified pairs' two-view relative rotations, before tracks are built.
 *
 * Repeated structure (lego's identical left and right caterpillar tracks; a temple's front and back) gives pairs of
 * views from opposite sides whose matches all lie on the repeated part and verify with a consistent two-view
 * geometry: the relative pose of one view to the other's mirror image. Merged into tracks, such a pair joins a 3D
 * point with its symmetric twin, and PnP then registers views of one side at the mirrored pose of the other (lego,
 * 100 views: 29 views rotated 180 degrees about the vertical axis, reprojection error fine). A loop check (relative
 * rotations composed around triplets of views) was built and measured in session 6 and removed: on lego (every 2nd
 * view, true focal) it dropped 226 of 485 pairs and still left 14 views mirrored, since the 14 flipped views share 86
 * mirror pairs (2279 inliers) and only 13 true pairs (558 inliers) with the other 36 and agree among themselves: the
 * view graph itself favours the mirror. MIRROR_PAIR_RULE below drops the weakest mirror pairs; MIRROR_REPAIR_RULE
 * (mirrorCheck.ts) checks the finished model.
 */

/** A verified pair with its two-view relative rotation (camera j from camera i: X_j = R X_i + t), row-major. */
export interface RotationEdge { i: number; j: number; R: ArrayLike<number>; /** Evidence, e.g. the inlier count. */ weight: number }

/**
 * MIRROR_PAIR_RULE: the mirror pairs that no vote over the view graph removes still betray themselves by their inlier
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
