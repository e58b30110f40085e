/**
 * Incremental structure from motion (the COLMAP recipe) on the geometric back end in ./geometry:
 *
 * 1. Geometric verification of every matched pair: E by 5-point LO-RANSAC when both focal lengths are trusted
 *    (EXIF), F by 8-point LO-RANSAC otherwise; a homography by LO-RANSAC for the degeneracy check (H inliers / E or
 *    F inliers). Sampson / transfer thresholds in pixels.
 * 2. Tracks: union-find over the verified matches, strongest pairs first; a match that would put two features of one
 *    image into one track is skipped (the track keeps its consistent part).
 * 3. Initial pair: among pairs with a low H/E ratio, the one with the most points triangulated at a useful angle
 *    (relative pose from E, cheirality, angle >= 2 deg), preferring trusted focal lengths. Two-view BA.
 * 4. Next image: the one seeing the most triangulated points; P3P LO-RANSAC + LM (with the 6-point DLT and focal
 *    refinement when its focal is an unshared guess). Then: triangulate its new tracks, continue existing ones,
 *    local BA over it and its most connected neighbours, filter observations over 4 px and points under 1.5 deg.
 * 5. Global BA whenever the model grew by 20% since the last one, followed by re-triangulation of the tracks that
 *    have no point yet and filtering; images that failed are retried after the model grows and once more at the end.
 * 6. The result is put in a normalised frame: camera centres' centroid at the origin, their median distance to it
 *    1 (stats: normScale s, normTx/Ty/Tz t, with result = s * (world + t); no rotation).
 */
import { throwIfAborted } from '../../core/errors';
import { INTRINSICS_STRIDE, pixelToNormalised } from './geometry/camera';
import { bundleAdjust, type BundleOptions, type BundleProblem } from './geometry/bundle';
import { essentialBetween, estimateEssential, sampson2, type RelativePose } from './geometry/essential';
import { makeRng } from './geometry/linalg';
import { estimateAbsolutePose } from './geometry/pnp';
import { cameraCentreOf, maxRayAngleDeg, triangulateDlt, twoViewAngleFree } from './geometry/triangulation';
import type { SfmCamera, SfmInput, SfmOptions, SfmResult } from './types';
import { randomSubset, verifySerial, yieldToEventLoop, type VerifyJob } from './verifyPairs';
import { MIRROR_PAIR_RATIO, weakClosePairs, type RotationEdge } from './viewGraph';

export const DEFAULT_SFM_OPTIONS: SfmOptions = {
  twoViewErrorPx: 4,
  minPairInliers: 15,
  maxHomographyRatio: 0.8,
  minRegistrationMatches: 30,
  minPnpInliers: 20,
  pnpErrorPx: 8,
  maxReprojectionPx: 4,
  minTriangulationAngleDeg: 1.5,
  minInitAngleDeg: 4,
  localBundleSize: 8,
  globalBundleGrowth: 1.2,
  maxRegistrationAttempts: 3,
  fixIntrinsics: false,
  // k1 only by default (COLMAP's SIMPLE_RADIAL): on sceaux (11 phone photos) k1 + k2 fit 0.38 px instead of 0.42 px
  // but trade against the focal (2.9% off K.txt against 2.2% with k1 alone; 5.7% pinhole).
  maxDistortionTerms: 1,
  // Temple-sparse's principal point is 17 px off the image centre: held at the centre the relative rotations are
  // 0.96 deg off, refined 0.47 deg (true: 0.33). Only for one shared camera (every view constrains it).
  refinePrincipalPoint: true,
  noiseSigmas: 3.72,
  maxImages: 0,
  maxTracks: 0,
  mirrorPairRatio: MIRROR_PAIR_RATIO,
  excludePairs: [],
};

export interface VerifiedPair {
  i: number;
  j: number;
  /** Inlier feature pairs [a0, b0, a1, b1, ...]. */
  inliers: Uint32Array;
  hRatio: number;
  calibrated: boolean;
  /** Calibrated pairs: the two-view relative rotation, camera j from camera i (X_j = R X_i + t), row-major. */
  R?: Float64Array;
}

/**
 * Verified pairs carried between runs on the same matches (runSfm's focal priors): verification with F does not depend
 * on the focal prior (inliers are feature indices; thresholds are the same in pixels), so only the first run pays for
 * it. Keyed by which images' focals are trusted, since trusted pairs are verified with E instead.
 */
export interface VerificationCache {
  key?: string;
  verified?: VerifiedPair[];
  /** How many of input.pairs (the first ones) `verified` covers; absent: all of them. */
  pairs?: number;
  /**
   * The latest run's verification (a pruned trusted pass's too), reused by a run with the same key. A run whose
   * input.pairs has pairs beyond the `pairs` it covers (matched later and appended: MIRROR_NEIGHBOUR_RULE) verifies
   * only those.
   */
  last?: { key: string; verified: VerifiedPair[]; pairs?: number };
}

/**
 * Which images' focals a run trusts, as VerificationCache keys it: per image '1' (its pairs are verified with E) or '0'
 * (F). A shared camera block is trusted when every image's focal came from EXIF.
 */
export function verificationKey(input: Pick<SfmInput, 'images' | 'sharedIntrinsics'>): string {
  const all = input.images.every((im) => im.focalFromExif);
  return input.images.map((im) => ((input.sharedIntrinsics ? all : im.focalFromExif) ? '1' : '0')).join('');
}

export async function reconstructIncremental(input: SfmInput, cache?: VerificationCache): Promise<SfmResult> {
  const opt: SfmOptions = { ...DEFAULT_SFM_OPTIONS, ...(input.options ?? {}) };
  const t0 = performance.now();
  const { images, signal } = input;
  const nImg = images.length;
  const progress = (done: number, total: number, message: string) => input.progress?.(done, total, message);
  const shared = !!input.sharedIntrinsics;

  // ---- intrinsics ----
  const nBlocks = shared ? 1 : nImg;
  const intr = new Float64Array(nBlocks * INTRINSICS_STRIDE);
  const camBlock = new Uint32Array(nImg);
  const blockTrusted = new Uint8Array(nBlocks);
  for (let b = 0; b < nBlocks; b++) {
    // A shared block starts from the median prior of the images (and is trusted when all come from EXIF).
    const members = shared ? images : [images[b]];
    const focals = members.map((m) => m.focalPrior).sort((x, y) => x - y);
    const ref = members[0];
    intr.set([focals[Math.floor(focals.length / 2)], ref.cx, ref.cy, 0, 0], b * INTRINSICS_STRIDE);
    blockTrusted[b] = members.every((m) => m.focalFromExif) ? 1 : 0;
  }
  for (let i = 0; i < nImg; i++) camBlock[i] = shared ? 0 : i;
  // A shared block also holds one principal point, the first image's: shared intrinsics mean one sensor and one
  // image size.
  const focalOf = (img: number) => intr[camBlock[img] * INTRINSICS_STRIDE];
  const normalise = (img: number, u: number, v: number, out: Float64Array, k = 0) => pixelToNormalised(intr, camBlock[img] * INTRINSICS_STRIDE, u, v, out, k);

  // ---- 1. geometric verification ----
  const cacheKey = verificationKey(input);
  const from = cache?.verified && cache.key === cacheKey ? { verified: cache.verified, pairs: cache.pairs } : cache?.last?.key === cacheKey ? cache.last : null;
  const reuse = !!from;
  let verified: VerifiedPair[] = from ? from.verified : [];
  // The pairs a reused verification covers; the ones appended after it are verified below.
  const covered = from ? Math.min(input.pairs.length, from.pairs ?? input.pairs.length) : 0;
  // F_SUBSET_RULE: a cache from a run with other trusted focals (solveCameras' focal tries, F for the untrusted pairs)
  // prunes this run's E verification: E's models are a subset of F's (E = K2^T F K1 with the rank-2 F restricted to
  // equal singular values), so a pair that no F fitted with minPairInliers inliers at the same pixel threshold has no
  // E with that many either, up to RANSAC's randomness. Such pairs are skipped instead of re-verified (on lego's
  // 1468 pairs the 643 that F rejected ran E's RANSAC to its iteration limit). Pairs F verified are re-verified with
  // E, which rejects matches F let through (symmetric objects). Measured on lego every 2nd view (1225 pairs, true
  // focal): F verifies 547, E 485; E alone verifies 28 pairs F rejected, all at 15-19 inliers (F's early-stopping
  // RANSAC missing a borderline set) and 26 of them with a two-view rotation 10-179 degrees off the truth (the other
  // two 5 and 9): the pruned pass verifies 457 pairs in 341 s instead of 901 s (CPU shared). Temple, fountain and
  // sceaux: no pair E verifies that F rejects, so their results are identical.
  const prior = !reuse && cache?.verified && cache.key?.length === nImg ? cache : null;
  const priorKey = prior?.key ?? '';
  const priorVerified = new Set<number>();
  if (prior) for (const v of prior.verified!) priorVerified.add(v.i * nImg + v.j);
  const pairStats = { pairs: input.pairs.length, verified: 0, skippedByF: 0 };
  if (covered < input.pairs.length) {
    // The pairs to verify; each is verified on its own (verifyPairs.ts), in-process or by input.verify's worker pool,
    // with the same result either way.
    const todo: number[] = [];
    for (let p = covered; p < input.pairs.length; p++) {
      const pair = input.pairs[p];
      if (pair.matches.length / 2 < opt.minPairInliers) continue;
      const calibrated = !!(blockTrusted[camBlock[pair.i]] && blockTrusted[camBlock[pair.j]]);
      if (prior && calibrated && (priorKey[pair.i] === '0' || priorKey[pair.j] === '0') && !priorVerified.has(Math.min(pair.i, pair.j) * nImg + Math.max(pair.i, pair.j))) {
        pairStats.skippedByF++;
        continue;
      }
      todo.push(p);
    }
    const jobOf = (k: number): VerifyJob => {
      const p = todo[k], pair = input.pairs[p];
      const m = pair.matches.length / 2;
      const A = images[pair.i].points, B = images[pair.j].points;
      const x1 = new Float64Array(2 * m), x2 = new Float64Array(2 * m);
      for (let q = 0; q < m; q++) {
        const a = pair.matches[2 * q], b = pair.matches[2 * q + 1];
        normalise(pair.i, A[2 * a], A[2 * a + 1], x1, q);
        normalise(pair.j, B[2 * b], B[2 * b + 1], x2, q);
      }
      const fAvg = (focalOf(pair.i) + focalOf(pair.j)) / 2;
      const calibrated = !!(blockTrusted[camBlock[pair.i]] && blockTrusted[camBlock[pair.j]]);
      return { p, i: pair.i, j: pair.j, matches: pair.matches.slice(), x1, x2, thr: opt.twoViewErrorPx / fAvg, calibrated, minPairInliers: opt.minPairInliers };
    };
    const results = await (input.verify ?? verifySerial)({ count: todo.length, job: jobOf }, signal, (done, total) => progress(done, total, 'Verifying image pairs'));
    // A new list: a reused one stays as the cache holds it.
    verified = verified.concat(results.filter((v): v is VerifiedPair => !!v));
  }
  pairStats.verified = verified.length;
  // A cache that already holds another run's verification keeps it (solveCameras' fallback reuses the F pairs).
  if (cache && !reuse && !prior) {
    cache.key = cacheKey;
    cache.verified = verified;
    cache.pairs = input.pairs.length;
  }
  const tVerify = performance.now();
  // The latest run's verified pairs, before the checks below: MIRROR_REPAIR_RULE (mirrorCheck.ts) re-runs the
  // reconstruction from them with some pairs excluded, without verifying again.
  if (cache) cache.last = { key: cacheKey, verified, pairs: input.pairs.length };
  // View-graph checks leave pairs out of everything that follows (the cache keeps them: the checks are cheap and
  // depend on the options). Each view-graph check sees the calibrated pairs (those with a two-view rotation) left by
  // the one before it and returns indices into them; the pairs it names leave `verified`. Returns how many it dropped.
  const dropPairs = (check: (edges: RotationEdge[]) => number[]): number => {
    const withR = verified.filter((v) => v.R);
    const drop = new Set(check(withR.map((v) => ({ i: v.i, j: v.j, R: v.R!, weight: v.inliers.length / 2 }))).map((k) => withR[k]));
    if (drop.size) verified = verified.filter((v) => !drop.has(v));
    return drop.size;
  };
  // MIRROR_PAIR_RULE (viewGraph.ts): calibrated pairs too weak for the small rotation they claim.
  const mirrorRejected = opt.mirrorPairRatio > 0 ? dropPairs((edges) => weakClosePairs(edges, nImg, opt.mirrorPairRatio)) : 0;
  // MIRROR_REPAIR_RULE (mirrorCheck.ts): pairs that placed a group of views at its mirrored pose in an earlier run.
  if (opt.excludePairs.length) {
    const ex = new Set(opt.excludePairs.map(([a, b]) => Math.min(a, b) * nImg + Math.max(a, b)));
    verified = verified.filter((v) => !ex.has(v.i * nImg + v.j));
  }

  // ---- 2. tracks ----
  const featOffset = new Uint32Array(nImg + 1);
  for (let i = 0; i < nImg; i++) featOffset[i + 1] = featOffset[i] + images[i].points.length / 2;
  const nNodes = featOffset[nImg];
  const nodeImage = new Uint32Array(nNodes);
  for (let i = 0; i < nImg; i++) nodeImage.fill(i, featOffset[i], featOffset[i + 1]);
  const parent = new Int32Array(nNodes).map((_, k) => k);
  const find = (x: number): number => {
    while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x]; }
    return x;
  };
  // Conflict-free merging: a match that would join two components holding features of a common image (two
  // features of one image in one track: a wrong match merged by transitivity) is skipped, instead of dropping the
  // whole track afterwards. Pairs with the most inliers merge first, so the weakest evidence is what gets skipped.
  // Each root keeps the sorted list of its images (merged small into large).
  let conflictsSkipped = 0;
  const rootImages = new Map<number, number[]>();
  const imagesOf = (root: number): number[] => rootImages.get(root) ?? [nodeImage[root]];
  const disjoint = (x: number[], y: number[]): boolean => {
    let i = 0, j = 0;
    while (i < x.length && j < y.length) { if (x[i] === y[j]) return false; if (x[i] < y[j]) i++; else j++; }
    return true;
  };
  const mergeOrder = verified.map((_, k) => k).sort((a, b) => verified[b].inliers.length - verified[a].inliers.length || a - b);
  for (const vi of mergeOrder) {
    const vp = verified[vi];
    for (let k = 0; k < vp.inliers.length; k += 2) {
      const a = find(featOffset[vp.i] + vp.inliers[k]), b = find(featOffset[vp.j] + vp.inliers[k + 1]);
      if (a === b) continue;
      const ia = imagesOf(a), ib = imagesOf(b);
      if (!disjoint(ia, ib)) { conflictsSkipped++; continue; }
      const lo = Math.min(a, b), hi = Math.max(a, b);
      parent[hi] = lo;
      const merged: number[] = [];
      for (let i = 0, j = 0; i < ia.length || j < ib.length;) merged.push(j >= ib.length || (i < ia.length && ia[i] < ib[j]) ? ia[i++] : ib[j++]);
      rootImages.delete(hi);
      rootImages.set(lo, merged);
    }
  }
  const rootSize = new Uint32Array(nNodes);
  for (let k = 0; k < nNodes; k++) rootSize[find(k)]++;
  const rootTrack = new Int32Array(nNodes).fill(-1);
  let nTracks = 0;
  for (let k = 0; k < nNodes; k++) if (parent[k] === k && rootSize[k] >= 2) rootTrack[k] = nTracks++;
  const trackStart = new Uint32Array(nTracks + 1);
  for (let k = 0; k < nNodes; k++) { const t = rootTrack[find(k)]; if (t >= 0) trackStart[t + 1]++; }
  for (let t = 0; t < nTracks; t++) trackStart[t + 1] += trackStart[t];
  const trackNodes = new Uint32Array(trackStart[nTracks]);
  {
    const fill = trackStart.slice(0, nTracks);
    for (let k = 0; k < nNodes; k++) { const t = rootTrack[find(k)]; if (t >= 0) trackNodes[fill[t]++] = k; }
  }
  // Tracks with two features of one image cannot occur after the conflict-free merge; the check stays as a guard.
  const trackValid = new Uint8Array(nTracks);
  const seenStamp = new Int32Array(nImg).fill(-1);
  let dropped = 0;
  for (let t = 0; t < nTracks; t++) {
    let ok = 1;
    for (let q = trackStart[t]; q < trackStart[t + 1]; q++) {
      const im = nodeImage[trackNodes[q]];
      if (seenStamp[im] === t) { ok = 0; break; }
      seenStamp[im] = t;
    }
    trackValid[t] = ok;
    if (!ok) dropped++;
  }
  // A focal try needs the cameras, not every point: a deterministic random subset of maxTracks tracks (every track
  // equally likely, so the subset covers the images as the full set does).
  let tracksSubsampled = 0;
  if (opt.maxTracks) {
    let valid = 0;
    for (let t = 0; t < nTracks; t++) valid += trackValid[t];
    if (valid > opt.maxTracks) {
      const rng = makeRng(4242), keepP = opt.maxTracks / valid;
      for (let t = 0; t < nTracks; t++) if (trackValid[t] && rng() >= keepP) { trackValid[t] = 0; tracksSubsampled++; }
    }
  }
  const nodeTrack = new Int32Array(nNodes).fill(-1);
  for (let t = 0; t < nTracks; t++) if (trackValid[t]) for (let q = trackStart[t]; q < trackStart[t + 1]; q++) nodeTrack[trackNodes[q]] = t;

  // ---- reconstruction state ----
  const poses = new Float64Array(12 * nImg);
  const registered = new Uint8Array(nImg);
  const attempts = new Uint8Array(nImg);
  const failReason: (string | null)[] = new Array(nImg).fill(null);
  const points = new Float64Array(3 * nTracks);
  const hasPoint = new Uint8Array(nTracks);
  const obsOk = new Uint8Array(nNodes);
  const uvOf = (node: number, out: Float64Array, k = 0) => {
    const im = nodeImage[node], f = node - featOffset[im];
    out[2 * k] = images[im].points[2 * f];
    out[2 * k + 1] = images[im].points[2 * f + 1];
  };
  const tmpUv = new Float64Array(2);
  const reprojErr2 = (node: number, X: ArrayLike<number>, xo = 0): number => {
    const im = nodeImage[node], po = 12 * im, io = camBlock[im] * INTRINSICS_STRIDE;
    uvOf(node, tmpUv);
    const x = poses[po] * X[xo] + poses[po + 1] * X[xo + 1] + poses[po + 2] * X[xo + 2] + poses[po + 3];
    const y = poses[po + 4] * X[xo] + poses[po + 5] * X[xo + 1] + poses[po + 6] * X[xo + 2] + poses[po + 7];
    const z = poses[po + 8] * X[xo] + poses[po + 9] * X[xo + 1] + poses[po + 10] * X[xo + 2] + poses[po + 11];
    if (z <= 0) return Infinity;
    const xn = x / z, yn = y / z, r2 = xn * xn + yn * yn, d = 1 + intr[io + 3] * r2 + intr[io + 4] * r2 * r2;
    const du = intr[io] * d * xn + intr[io + 1] - tmpUv[0], dv = intr[io] * d * yn + intr[io + 2] - tmpUv[1];
    return du * du + dv * dv;
  };
  // Not const: the final refinement tightens it to the model's own noise level (refineToNoise).
  let maxErr2 = opt.maxReprojectionPx * opt.maxReprojectionPx;

  // Scratch for triangulation.
  let scratchViews = new Uint32Array(64), scratchXn = new Float64Array(128), scratchNodes = new Uint32Array(64), scratchCentres = new Float64Array(192);
  const Xtmp = new Float64Array(3);
  /** (Re)triangulates track t from its registered observations; drops the worst observations over the threshold. */
  const triangulateTrack = (t: number): boolean => {
    let n = 0;
    const len = trackStart[t + 1] - trackStart[t];
    if (scratchViews.length < len) { scratchViews = new Uint32Array(len * 2); scratchXn = new Float64Array(len * 4); scratchNodes = new Uint32Array(len * 2); scratchCentres = new Float64Array(len * 6); }
    for (let q = trackStart[t]; q < trackStart[t + 1]; q++) {
      const node = trackNodes[q], im = nodeImage[node];
      if (!registered[im]) continue;
      scratchNodes[n++] = node;
    }
    while (n >= 2) {
      for (let k = 0; k < n; k++) {
        const node = scratchNodes[k], im = nodeImage[node];
        scratchViews[k] = im;
        uvOf(node, tmpUv);
        normalise(im, tmpUv[0], tmpUv[1], scratchXn, k);
      }
      if (!triangulateDlt(poses, scratchViews, scratchXn, n, Xtmp)) return false;
      let worst = -1, worstErr = maxErr2;
      for (let k = 0; k < n; k++) {
        const e = reprojErr2(scratchNodes[k], Xtmp);
        if (e > worstErr) { worstErr = e; worst = k; }
      }
      if (worst < 0) break;
      scratchNodes[worst] = scratchNodes[n - 1];
      n--;
    }
    if (n < 2) return false;
    for (let k = 0; k < n; k++) cameraCentreOf(poses, nodeImage[scratchNodes[k]], scratchCentres, k);
    if (maxRayAngleDeg(scratchCentres, n, Xtmp) < opt.minTriangulationAngleDeg) return false;
    for (let q = trackStart[t]; q < trackStart[t + 1]; q++) obsOk[trackNodes[q]] = 0;
    for (let k = 0; k < n; k++) obsOk[scratchNodes[k]] = 1;
    points.set(Xtmp, 3 * t);
    hasPoint[t] = 1;
    return true;
  };

  /** Observations over the threshold are dropped; points left with < 2 or a small angle are removed. */
  const filterTracks = (tracks: Iterable<number>): { obsRemoved: number; pointsRemoved: number } => {
    let obsRemoved = 0, pointsRemoved = 0;
    for (const t of tracks) {
      if (!hasPoint[t]) continue;
      let n = 0;
      for (let q = trackStart[t]; q < trackStart[t + 1]; q++) {
        const node = trackNodes[q];
        if (!obsOk[node]) continue;
        if (!registered[nodeImage[node]] || reprojErr2(node, points, 3 * t) > maxErr2) { obsOk[node] = 0; obsRemoved++; continue; }
        if (scratchCentres.length < 3 * (n + 1)) { const c = new Float64Array(6 * (n + 1)); c.set(scratchCentres); scratchCentres = c; }
        cameraCentreOf(poses, nodeImage[node], scratchCentres, n);
        n++;
      }
      if (n < 2 || maxRayAngleDeg(scratchCentres, n, points.subarray(3 * t, 3 * t + 3)) < opt.minTriangulationAngleDeg) {
        hasPoint[t] = 0;
        for (let q = trackStart[t]; q < trackStart[t + 1]; q++) obsOk[trackNodes[q]] = 0;
        pointsRemoved++;
      }
    }
    return { obsRemoved, pointsRemoved };
  };

  let gaugeCam = -1, scaleCam = -1, scaleCoord = 0;
  /** Bundle adjustment over the given free images and points (all registered observers included, others fixed). */
  const runBundle = (free: Set<number>, tracks: number[], global: boolean, structureOnly = false, final = false): void => {
    // Two passes (count, fill) into typed arrays: no per-observation allocation.
    let nObs = 0;
    for (const t of tracks) for (let q = trackStart[t]; q < trackStart[t + 1]; q++) nObs += obsOk[trackNodes[q]];
    const obsCam = new Uint32Array(nObs), obsPt = new Uint32Array(nObs), obsUv = new Float64Array(2 * nObs);
    const pts = new Float64Array(3 * tracks.length);
    const observers = new Set<number>();
    let o = 0;
    for (let k = 0; k < tracks.length; k++) {
      const t = tracks[k];
      pts[3 * k] = points[3 * t]; pts[3 * k + 1] = points[3 * t + 1]; pts[3 * k + 2] = points[3 * t + 2];
      for (let q = trackStart[t]; q < trackStart[t + 1]; q++) {
        const node = trackNodes[q];
        if (!obsOk[node]) continue;
        const im = nodeImage[node];
        obsCam[o] = im; obsPt[o] = k;
        uvOf(node, obsUv, o);
        if (!observers.has(im)) observers.add(im);
        o++;
      }
    }
    if (!nObs) return;
    const constantPoses = new Uint8Array(nImg);
    let nConst = 0;
    for (const im of observers) if (!free.has(im)) { constantPoses[im] = 1; nConst++; }
    // Intermediate global adjustments only correct drift between local ones: a few iterations; the final one converges.
    const bopts: BundleOptions = { constantPoses, huberDelta: 2, maxIterations: final ? 50 : global ? 10 : 8, functionTolerance: final ? 1e-7 : global ? 1e-5 : 1e-4 };
    // Gauge: a local window is anchored by the fixed cameras around it when there are at least two; otherwise
    // (and always in global BA) the first image is held, and one translation coordinate of the second initial
    // image (or, when that one is not free, of another free camera) fixes the scale.
    if (!structureOnly && (global || nConst < 2)) {
      if (observers.has(gaugeCam)) { constantPoses[gaugeCam] = 1; nConst++; }
      let sc = free.has(scaleCam) && observers.has(scaleCam) && !constantPoses[scaleCam] ? scaleCam : -1;
      if (sc < 0 && nConst < 2) for (const im of free) if (observers.has(im) && !constantPoses[im]) { sc = im; break; }
      if (sc >= 0) {
        let coord = sc === scaleCam ? scaleCoord : 0;
        if (sc !== scaleCam) for (let k = 1; k < 3; k++) if (Math.abs(poses[12 * sc + 4 * k + 3]) > Math.abs(poses[12 * sc + 4 * coord + 3])) coord = k;
        bopts.fixedTranslation = { camera: sc, coordinate: coord };
      }
    }
    // Focal: refined where it is a guess; in global BA also the EXIF focal (COLMAP's default), and k1, k2 on request.
    const constIntr = new Uint8Array(nBlocks);
    let anyFree = false;
    // An EXIF focal is only refined once five views constrain it (two views of a converging pair are a critical
    // configuration for the focal length).
    let nReg = 0;
    for (let i = 0; i < nImg; i++) nReg += registered[i];
    const refineTrusted = global && nReg >= 5;
    for (let b = 0; b < nBlocks; b++) {
      constIntr[b] = structureOnly || opt.fixIntrinsics || (blockTrusted[b] && !refineTrusted) ? 1 : 0;
      if (!constIntr[b]) anyFree = true;
    }
    // A per-view focal is only refined when its camera is free.
    if (!shared) for (let b = 0; b < nBlocks; b++) if (!free.has(b)) constIntr[b] = 1;
    bopts.refineFocal = anyFree;
    bopts.refinePrincipalPoint = !!opt.refinePrincipalPoint && shared && refineTrusted && !structureOnly;
    bopts.constantIntrinsics = constIntr;
    if (global && !structureOnly && input.refineDistortion) {
      bopts.distortionTerms = input.refineDistortion === true ? new Uint8Array(nBlocks).fill(2) : distortionTermsOf(obsCam, obsUv, nReg);
      for (let b = 0; b < nBlocks; b++) if (!constIntr[b]) distortionUsed = Math.max(distortionUsed, bopts.distortionTerms[b]);
    }
    const problem: BundleProblem = {
      poses, intrinsics: intr, cameraIntrinsics: camBlock, points: pts,
      obsCamera: obsCam, obsPoint: obsPt, obsUv,
    };
    const rep = bundleAdjust(problem, bopts);
    baStats.runs++;
    baStats.seconds += rep.seconds;
    baStats.assembly += rep.assemblySeconds;
    baStats.factor += rep.factorSeconds;
    baStats.iterations += rep.iterations;
    if (global) baStats.globalRuns++;
    for (let k = 0; k < tracks.length; k++) { const t = tracks[k]; points[3 * t] = pts[3 * k]; points[3 * t + 1] = pts[3 * k + 1]; points[3 * t + 2] = pts[3 * k + 2]; }
  };
  const baStats = { runs: 0, globalRuns: 0, iterations: 0, seconds: 0, assembly: 0, factor: 0 };
  /** Most radial terms refined in any global adjustment (0, 1 = k1, 2 = k1 and k2), for the report. */
  let distortionUsed = 0;
  /**
   * DISTORTION_RULE: which radial terms each intrinsic block may refine in a global adjustment. Distortion is only
   * observable from points far from the principal point, and a handful of views lets it trade against the focal and
   * the poses; so a block refines k1 when its field of view is wide (image half-diagonal over the focal, i.e. the
   * normalised corner radius, at least DIST_MIN_HALF_DIAGONAL = 0.4: a diagonal field of view over ~44 degrees; phones
   * are ~0.7), the model has at least DIST_MIN_VIEWS registered views and the block at least
   * DIST_K1_OBS observations of which DIST_K1_OUTER lie beyond half of the half-diagonal (r > 0.5 R); k2 as well with
   * DIST_K2_OBS observations and DIST_K2_OUTER beyond 0.7 R (k2 is an r^4 term: only the image corners separate it
   * from k1).
   */
  const distortionTermsOf = (obsCam: Uint32Array, obsUv: Float64Array, nReg: number): Uint8Array => {
    const terms = new Uint8Array(nBlocks);
    if (nReg < DIST_MIN_VIEWS) return terms;
    const count = new Uint32Array(nBlocks), outer5 = new Uint32Array(nBlocks), outer7 = new Uint32Array(nBlocks);
    for (let o = 0; o < obsCam.length; o++) {
      const im = obsCam[o], b = camBlock[im], io = b * INTRINSICS_STRIDE;
      const R = 0.5 * Math.hypot(images[im].width, images[im].height);
      const r = Math.hypot(obsUv[2 * o] - intr[io + 1], obsUv[2 * o + 1] - intr[io + 2]) / R;
      count[b]++;
      if (r > 0.5) outer5[b]++;
      if (r > 0.7) outer7[b]++;
    }
    for (let b = 0; b < nBlocks; b++) {
      // A narrow field of view cannot tell k1 from the focal (k1 moves a pixel by f k1 r^3, nearly a scale change
      // when r stays small): temple-sparse (r <= 0.26) fits k1 = -0.44 with the focal 5% off.
      const io = b * INTRINSICS_STRIDE, member = camBlock.indexOf(b);
      if (member < 0 || (0.5 * Math.hypot(images[member].width, images[member].height)) / intr[io] < DIST_MIN_HALF_DIAGONAL) continue;
      if (count[b] >= DIST_K1_OBS && outer5[b] >= DIST_K1_OUTER) terms[b] = 1;
      if (count[b] >= DIST_K2_OBS && outer7[b] >= DIST_K2_OUTER) terms[b] = 2;
      terms[b] = Math.min(terms[b], opt.maxDistortionTerms);
    }
    return terms;
  };
  let lateRegistered = 0;
  let initDespiteHomography = 0;
  let noiseThresholdPx = 0, noiseObsRemoved = 0;

  const allPointTracks = (): number[] => {
    const out: number[] = [];
    for (let t = 0; t < nTracks; t++) if (hasPoint[t]) out.push(t);
    return out;
  };
  const registeredSet = (): Set<number> => {
    const s = new Set<number>();
    for (let i = 0; i < nImg; i++) if (registered[i]) s.add(i);
    return s;
  };
  const globalBundle = (final = false) => {
    const tracks = allPointTracks();
    runBundle(registeredSet(), tracks, true, false, final);
    filterTracks(tracks);
    // Re-triangulate tracks that have no point yet (poses have improved), then adjust and filter once more.
    // The new points are refined with the cameras held (a structure-only adjustment: no camera system to solve).
    const added: number[] = [];
    for (let t = 0; t < nTracks; t++) if (trackValid[t] && !hasPoint[t] && triangulateTrack(t)) added.push(t);
    if (added.length) {
      runBundle(new Set(), added, false, true);
      filterTracks(added);
    }
    return added.length;
  };

  // ---- 3. initial pair ----
  const result = (reasonAll?: string): SfmResult => finish(reasonAll);
  const candidates = verified
    .filter((v) => v.hRatio <= opt.maxHomographyRatio)
    .sort((a, b) => trustScore(b) - trustScore(a) || b.inliers.length - a.inliers.length)
    .slice(0, 30);
  function trustScore(v: VerifiedPair): number {
    return blockTrusted[camBlock[v.i]] + blockTrusted[camBlock[v.j]];
  }
  type Init = { pair: VerifiedPair; pose: RelativePose; good: number };
  const searchInit = (list: VerifiedPair[]): Init | null => {
    let init: Init | null = null;
    for (const cand of list) {
      throwIfAborted(signal);
      const m = cand.inliers.length / 2;
      const x1 = new Float64Array(2 * m), x2 = new Float64Array(2 * m);
      const A = images[cand.i].points, B = images[cand.j].points;
      for (let k = 0; k < m; k++) {
        normalise(cand.i, A[2 * cand.inliers[2 * k]], A[2 * cand.inliers[2 * k] + 1], x1, k);
        normalise(cand.j, B[2 * cand.inliers[2 * k + 1]], B[2 * cand.inliers[2 * k + 1] + 1], x2, k);
      }
      const fAvg = (focalOf(cand.i) + focalOf(cand.j)) / 2;
      // With a guessed focal the calibrated model fits less well: a wider threshold, BA refines the focal next.
      const thrPx = cand.calibrated ? opt.twoViewErrorPx : 3 * opt.twoViewErrorPx;
      // E from at most INIT_SUBSET of the pair's verified matches (they are inlier-rich: the model is well
      // determined, and the two-view BA refines it), then every match is classified with it.
      const [s1, s2] = m > INIT_SUBSET ? randomSubset(x1, x2, INIT_SUBSET, 99) : [x1, x2];
      const E = estimateEssential(s1, s2, thrPx / fAvg, { seed: 99 });
      if (!E) continue;
      const thr2 = (thrPx / fAvg) ** 2;
      const angles: number[] = [];
      for (let k = 0; k < m; k++) {
        if (m > INIT_SUBSET ? !(sampson2(E.model, x1, x2, k) < thr2) : !E.inliers[k]) continue;
        const a = twoViewAngleFree(E.pose.R, E.pose.t, x1[2 * k], x1[2 * k + 1], x2[2 * k], x2[2 * k + 1]);
        if (a > 0) angles.push(a);
      }
      angles.sort((a, b) => a - b);
      const median = angles.length ? angles[Math.floor(angles.length / 2)] : 0;
      const good = angles.filter((a) => a >= 2).length;
      if (median < opt.minInitAngleDeg || good < Math.max(opt.minRegistrationMatches, 0.3 * m)) continue;
      if (!init || good > init.good) init = { pair: cand, pose: E.pose, good };
      // Candidates are ordered by inliers: stop at the first few valid ones.
      if (init && list.indexOf(cand) >= 5) break;
    }
    return init;
  };
  // A scene dominated by one plane (a facade, a table top) has no pair passing the homography check: then the
  // pairs with the lowest H/E ratio are tried anyway (BA and more views resolve the plane's ambiguity).
  let init = searchInit(candidates);
  if (!init) {
    init = searchInit([...verified].sort((a, b) => a.hRatio - b.hRatio).slice(0, 30));
    if (init) initDespiteHomography = 1;
  }
  if (!init) {
    return result(verified.length ? 'no image pair suitable for initialisation (too little parallax or too few inliers)' : 'no verified matches between any two images');
  }
  {
    const { i, j } = init.pair;
    poses.set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], 12 * i);
    const R = init.pose.R, t = init.pose.t;
    poses.set([R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2]], 12 * j);
    registered[i] = 1; registered[j] = 1;
    gaugeCam = i; scaleCam = j;
    scaleCoord = Math.abs(t[0]) >= Math.abs(t[1]) && Math.abs(t[0]) >= Math.abs(t[2]) ? 0 : Math.abs(t[1]) >= Math.abs(t[2]) ? 1 : 2;
    for (let t2 = 0; t2 < nTracks; t2++) if (trackValid[t2]) triangulateTrack(t2);
    const tracks = allPointTracks();
    runBundle(new Set([i, j]), tracks, true);
    filterTracks(tracks);
    for (let t2 = 0; t2 < nTracks; t2++) if (trackValid[t2] && !hasPoint[t2]) triangulateTrack(t2);
  }
  const initPair = [init.pair.i, init.pair.j];

  // ---- 4./5. registration loop ----
  let lastGlobal = 2;
  const visibleCount = new Uint32Array(nImg);
  const countVisible = () => {
    visibleCount.fill(0);
    for (let node = 0; node < nNodes; node++) {
      const t = nodeTrack[node];
      if (t >= 0 && hasPoint[t] && !registered[nodeImage[node]]) visibleCount[nodeImage[node]]++;
    }
  };
  const verifiedOf = new Map<number, VerifiedPair>();
  for (const v of verified) verifiedOf.set(v.i * nImg + v.j, v);
  const xa = new Float64Array(2), xb = new Float64Array(2);
  /** Verified matches of `im` with registered images that fit pose `pose` (Sampson error within the PnP threshold). */
  const epipolarAgreement = (im: number, pose: ArrayLike<number>): { consistent: number; total: number } => {
    let consistent = 0, total = 0;
    for (let other = 0; other < nImg; other++) {
      if (!registered[other] || other === im) continue;
      const pair = verifiedOf.get(Math.min(im, other) * nImg + Math.max(im, other));
      if (!pair) continue;
      const [first, second] = pair.i === im ? [im, other] : [other, im];
      const P1 = first === im ? pose : poses.subarray(12 * first, 12 * first + 12);
      const P2 = second === im ? pose : poses.subarray(12 * second, 12 * second + 12);
      const E = essentialBetween(P1, P2);
      const A = images[pair.i].points, B = images[pair.j].points;
      const thr = (2 * opt.pnpErrorPx) / Math.min(focalOf(pair.i), focalOf(pair.j));
      const m = pair.inliers.length / 2;
      for (let k = 0; k < m; k++) {
        normalise(pair.i, A[2 * pair.inliers[2 * k]], A[2 * pair.inliers[2 * k] + 1], xa, 0);
        normalise(pair.j, B[2 * pair.inliers[2 * k + 1]], B[2 * pair.inliers[2 * k + 1] + 1], xb, 0);
        total++;
        if (sampson2(E, xa, xb, 0) <= thr * thr) consistent++;
      }
    }
    return { consistent, total };
  };
  /** localBundle false: a global adjustment follows the registration at once (it frees a superset of the local one). */
  const tryRegister = (im: number, localBundle = true): boolean => {
    const nodes: number[] = [];
    for (let node = featOffset[im]; node < featOffset[im + 1]; node++) {
      const t = nodeTrack[node];
      if (t >= 0 && hasPoint[t]) nodes.push(node);
    }
    if (nodes.length < opt.minRegistrationMatches) {
      failReason[im] = `too few matches with registered views (${nodes.length} < ${opt.minRegistrationMatches})`;
      return false;
    }
    attempts[im]++; // only real PnP attempts count; a view the model does not reach yet is not penalised
    const uv = new Float64Array(2 * nodes.length), X = new Float64Array(3 * nodes.length);
    for (let k = 0; k < nodes.length; k++) {
      uvOf(nodes[k], uv, k);
      X.set(points.subarray(3 * nodeTrack[nodes[k]], 3 * nodeTrack[nodes[k]] + 3), 3 * k);
    }
    const b = camBlock[im];
    // Estimate the focal with the pose when it is this image's own guess and not yet refined by any BA.
    const estimateFocal = !shared && !blockTrusted[b];
    const io = b * INTRINSICS_STRIDE;
    const res = estimateAbsolutePose(uv, X, { intrinsics: intr.subarray(io, io + INTRINSICS_STRIDE), threshold: opt.pnpErrorPx, estimateFocal, seed: im + 1 });
    if (!res || res.inlierCount < opt.minPnpInliers || res.inlierCount < 0.2 * nodes.length) {
      failReason[im] = `PnP failed: ${res ? res.inlierCount : 0} inliers of ${nodes.length} matches`;
      return false;
    }
    // A pose that PnP accepts can still be wrong where a symmetric object (a temple's front and back) gives matches
    // that agree with a mirrored viewpoint. The view's two-view geometry does not lie: its verified matches with
    // registered partners must mostly satisfy the epipolar constraint of the new pose.
    const savedFocal = intr[io];
    if (estimateFocal) intr[io] = res.focal;
    const agreement = epipolarAgreement(im, res.pose);
    if (agreement.total >= 20 && agreement.consistent < 0.5 * agreement.total) {
      intr[io] = savedFocal;
      failReason[im] = `pose disagrees with its two-view geometry (${agreement.consistent} of ${agreement.total} verified matches consistent)`;
      return false;
    }
    poses.set(res.pose, 12 * im);
    registered[im] = 1;
    failReason[im] = null;
    // Continue tracks with a point, triangulate the new ones.
    const touched: number[] = [];
    for (let node = featOffset[im]; node < featOffset[im + 1]; node++) {
      const t = nodeTrack[node];
      if (t < 0) continue;
      if (hasPoint[t]) { obsOk[node] = reprojErr2(node, points, 3 * t) <= maxErr2 ? 1 : 0; touched.push(t); }
      else if (triangulateTrack(t)) touched.push(t);
    }
    if (!localBundle) return true;
    // Local BA: the new image and its most connected registered neighbours.
    const shared2 = new Map<number, number>();
    for (const t of touched) for (let q = trackStart[t]; q < trackStart[t + 1]; q++) {
      const node = trackNodes[q], other = nodeImage[node];
      if (other !== im && obsOk[node] && registered[other]) shared2.set(other, (shared2.get(other) ?? 0) + 1);
    }
    const neighbours = [...shared2.entries()].sort((a, b2) => b2[1] - a[1]).slice(0, opt.localBundleSize).map((e) => e[0]);
    const free = new Set([im, ...neighbours]);
    const localTracks = new Set<number>();
    for (const f of free) for (let node = featOffset[f]; node < featOffset[f + 1]; node++) {
      const t = nodeTrack[node];
      if (t >= 0 && hasPoint[t] && obsOk[node]) localTracks.add(t);
    }
    const lt = [...localTracks];
    runBundle(free, lt, false);
    filterTracks(lt);
    return true;
  };

  let nRegistered = 2;
  progress(nRegistered, nImg, 'Registering images');
  for (;;) {
    throwIfAborted(signal);
    await yieldToEventLoop();
    countVisible();
    // Best candidate that still has attempts left.
    const order: number[] = [];
    for (let i = 0; i < nImg; i++) if (!registered[i] && attempts[i] < opt.maxRegistrationAttempts) order.push(i);
    order.sort((a, b) => visibleCount[b] - visibleCount[a]);
    let success = false;
    // A global adjustment is due after this registration (the model grows enough, or the last view or a seed's last
    // is in and the final one runs): the local adjustment is skipped, the global one adjusts every camera and point it would.
    const globalFollows = nRegistered + 1 >= lastGlobal * opt.globalBundleGrowth || nRegistered + 1 >= nImg || (!!opt.maxImages && nRegistered + 1 >= opt.maxImages);
    for (const im of order) {
      if (visibleCount[im] < opt.minRegistrationMatches) {
        failReason[im] = `too few matches with registered views (${visibleCount[im]} < ${opt.minRegistrationMatches})`;
        break; // sorted: no later candidate has more
      }
      if (tryRegister(im, !globalFollows)) { success = true; break; }
    }
    if (!success) break;
    nRegistered++;
    if (opt.maxImages && nRegistered >= opt.maxImages) break;
    // Failed images get another chance now that the model grew.
    progress(nRegistered, nImg, 'Registering images');
    if (nRegistered >= lastGlobal * opt.globalBundleGrowth) {
      globalBundle();
      lastGlobal = nRegistered;
    }
  }
  // Final: global BA, one more attempt at every unregistered image, and a last global BA when any got in.
  throwIfAborted(signal);
  const capped = !!opt.maxImages && nRegistered >= opt.maxImages;
  // When the noise refinement follows, these adjustments only measure the residuals it thresholds, and run to the
  // intermediate global tolerance (fountain: the residual RMS is settled to 3 digits there, and the tight tolerance
  // took 26 more iterations of the largest system); the refinement's adjustments then converge fully. Without it
  // (disabled, or nothing to remove) the last adjustment converges fully. A capped seed only ranks a focal prior
  // for solveCameras, by its residual: its last adjustment stops at the intermediate tolerance as well (a try with a
  // wrong focal otherwise ran its 50 iterations).
  const refine = !capped && opt.noiseSigmas > 0;
  globalBundle(!refine && !capped);
  for (let i = 0; i < nImg && !capped; i++) {
    if (registered[i]) continue;
    if (tryRegister(i)) { lateRegistered++; nRegistered++; }
  }
  if (lateRegistered) globalBundle(!refine);
  // (a capped seed reconstruction only tells solveCameras which focal works: no noise refinement)
  if (refine && !refineToNoise()) {
    runBundle(registeredSet(), allPointTracks(), true, false, true);
    filterTracks(allPointTracks());
  }
  return result();

  /**
   * NOISE_RULE: the fixed threshold (maxReprojectionPx, 4 px like COLMAP) must tolerate the errors of a model still
   * growing (guessed focal, no distortion yet), so the final model keeps every mismatch within 4 px, and at a
   * residual noise of ~0.2 px those pull the poses and the self-calibrated focal (temple: median relative rotation
   * 0.47 deg; fountain 0.084 deg). Once the final BA has converged its residuals measure the feature noise: the
   * per-axis sigma from the median residual norm (a 2-D Gaussian's norm is Rayleigh, median 1.1774 sigma, robust to
   * the outliers being sought). Observations beyond NOISE_SIGMAS sigma (3.72 = the 99.9% quantile of the 2-dof
   * chi distribution, floored at NOISE_MIN_PX) are dropped, and the final BA runs again; twice, since the first pass
   * moves the poses the outliers held.
   */
  /** True when it ran a (fully converged) final adjustment. */
  function refineToNoise(): boolean {
    if (!opt.noiseSigmas) return false;
    let adjusted = false;
    for (let pass = 0; pass < 2; pass++) {
      throwIfAborted(signal);
      const res: number[] = [];
      for (let node = 0; node < nNodes; node++) {
        const t = nodeTrack[node];
        if (t >= 0 && hasPoint[t] && obsOk[node]) res.push(Math.sqrt(reprojErr2(node, points, 3 * t)));
      }
      if (res.length < 100) return adjusted;
      res.sort((a, b) => a - b);
      const sigma = res[res.length >> 1] / 1.1774;
      const thr = Math.min(opt.maxReprojectionPx, Math.max(NOISE_MIN_PX, opt.noiseSigmas * sigma));
      noiseThresholdPx = thr;
      maxErr2 = thr * thr;
      const tracks = allPointTracks();
      const { obsRemoved } = filterTracks(tracks);
      noiseObsRemoved += obsRemoved;
      if (!obsRemoved) return adjusted;
      runBundle(registeredSet(), allPointTracks(), true, false, true);
      filterTracks(allPointTracks());
      adjusted = true;
    }
    return adjusted;
  }

  function finish(reasonAll?: string): SfmResult {
    // ---- 6. normalisation ----
    const reg: number[] = [];
    for (let i = 0; i < nImg; i++) if (registered[i]) reg.push(i);
    const centres = new Float64Array(3 * nImg);
    const c = [0, 0, 0];
    for (const i of reg) { cameraCentreOf(poses, i, centres, i); for (let k = 0; k < 3; k++) c[k] += centres[3 * i + k] / reg.length; }
    const dists = reg.map((i) => Math.hypot(centres[3 * i] - c[0], centres[3 * i + 1] - c[1], centres[3 * i + 2] - c[2])).sort((a, b) => a - b);
    const med = dists.length ? dists[Math.floor(dists.length / 2)] : 0;
    const s = med > 0 ? 1 / med : 1;
    const cameras: (SfmCamera | null)[] = new Array(nImg).fill(null);
    for (const i of reg) {
      const p = poses.subarray(12 * i, 12 * i + 12);
      // x_cam' = s (R X + t) with X = X'/s + c  ->  t' = s (t + R c)
      const t = [0, 1, 2].map((r) => s * (p[4 * r + 3] + p[4 * r] * c[0] + p[4 * r + 1] * c[1] + p[4 * r + 2] * c[2]));
      const io = camBlock[i] * INTRINSICS_STRIDE;
      const f = intr[io];
      cameras[i] = {
        K: [f, 0, intr[io + 1], 0, f, intr[io + 2], 0, 0, 1],
        camFromWorld: [p[0], p[1], p[2], t[0], p[4], p[5], p[6], t[1], p[8], p[9], p[10], t[2]],
        k1: intr[io + 3],
        k2: intr[io + 4],
      };
    }
    const finalTracks = allPointTracks();
    const outPts = new Float32Array(3 * finalTracks.length);
    const lens = new Uint32Array(finalTracks.length);
    let errSum = 0, errN = 0;
    const obsStart = new Uint32Array(finalTracks.length + 1);
    const obsList: number[] = [];
    finalTracks.forEach((t, k) => {
      for (let d = 0; d < 3; d++) outPts[3 * k + d] = s * (points[3 * t + d] - c[d]);
      for (let q = trackStart[t]; q < trackStart[t + 1]; q++) {
        const node = trackNodes[q];
        if (!obsOk[node]) continue;
        obsList.push(nodeImage[node], node - featOffset[nodeImage[node]]);
        lens[k]++;
        errSum += Math.sqrt(reprojErr2(node, points, 3 * t));
        errN++;
      }
      obsStart[k + 1] = obsList.length / 2;
    });
    const unregistered: { index: number; reason: string }[] = [];
    const inPair = new Uint8Array(nImg);
    for (const v of verified) { inPair[v.i] = 1; inPair[v.j] = 1; }
    if (!reasonAll) countVisible();
    for (let i = 0; i < nImg; i++) {
      if (registered[i]) continue;
      let reason = reasonAll ?? (!inPair[i] ? 'no verified matches with any other image' : failReason[i]);
      // A view never tried (or tried before the model reached it) is described by what it sees of the final model.
      if (!reason || reason.startsWith('too few')) reason = `too few matches with registered views (${visibleCount[i]} < ${opt.minRegistrationMatches})`;
      unregistered.push({ index: i, reason });
    }
    return {
      cameras,
      unregistered,
      points: outPts,
      trackLengths: lens,
      pointObservations: Uint32Array.from(obsList),
      pointObservationStart: obsStart,
      meanReprojectionError: errN ? errSum / errN : 0,
      stats: {
        normScale: s, normTx: -c[0], normTy: -c[1], normTz: -c[2],
        registered: reg.length, images: nImg,
        pairs: pairStats.pairs, verifiedPairs: pairStats.verified, pairsSkippedByF: pairStats.skippedByF, pairsMirrorRejected: mirrorRejected,
        tracks: nTracks, tracksDropped: dropped, tracksSubsampled, trackConflictsSkipped: conflictsSkipped, points: finalTracks.length, observations: errN,
        initialPairI: reasonAll ? -1 : initPair[0], initialPairJ: reasonAll ? -1 : initPair[1], initDespiteHomography,
        bundleRuns: baStats.runs, bundleGlobalRuns: baStats.globalRuns, bundleIterations: baStats.iterations, lateRegistered,
        bundleSeconds: baStats.seconds, bundleAssemblySeconds: baStats.assembly, bundleFactorSeconds: baStats.factor,
        distortionTerms: distortionUsed,
        noiseThresholdPx, noiseObsRemoved,
        verifySeconds: (tVerify - t0) / 1000, totalSeconds: (performance.now() - t0) / 1000,
      },
    };
  }
}

/** Matches the initial pair search fits E to (see searchInit). */
const INIT_SUBSET = 500;
/** NOISE_RULE's floor (see refineToNoise). */
const NOISE_MIN_PX = 0.5;
/** DISTORTION_RULE's thresholds (see distortionTermsOf). */
const DIST_MIN_HALF_DIAGONAL = 0.4, DIST_MIN_VIEWS = 5, DIST_K1_OBS = 500, DIST_K1_OUTER = 100, DIST_K2_OBS = 3000, DIST_K2_OUTER = 300;

