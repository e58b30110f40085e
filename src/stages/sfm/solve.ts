/**
 * The geometric half of the SfM stage, free of GPU code so that Node can drive it (bench/sfmGeometry.ts, tests):
 * the back end's input from features and matches, and the reconstruction from the focal priors.
 */
import { scaleK } from '../../core/camera';
import type { CaptureView } from '../../core/capture';
import { throwIfAborted } from '../../core/errors';
import { base64ToBytes, bytesToBase64 } from '../../core/format';
import { DEFAULT_SFM_OPTIONS, reconstructIncremental, verificationKey, type VerificationCache } from './incremental';
import { agreeingCrossPairs, CONFLICT_AXIS_DEG, CONFLICT_RATIO, MAX_REPAIR_ROUNDS, MIN_EXPECTED, mirrorCheck } from './mirrorCheck';
import { placeByTransfer } from './mirrorPlace';
import type { ImageFeatures, PairMatches, SfmInput, SfmResult } from './types';

/** The geometric back end's input for the views: keypoint positions, focal priors and principal points in feature-image pixels. */
export function sfmInputOf(views: Pick<CaptureView, 'K' | 'intrinsicsSource' | 'fullWidth' | 'fullHeight' | 'exif'>[], features: ImageFeatures[], featureScale: number[], matches: PairMatches[]): SfmInput {
  return {
    images: views.map((v, i) => {
      const f = features[i], s = featureScale[i];
      const K = scaleK(v.K, s, s);
      const points = new Float32Array(2 * f.count);
      for (let k = 0; k < f.count; k++) {
        points[2 * k] = f.keypoints[4 * k];
        points[2 * k + 1] = f.keypoints[4 * k + 1];
      }
      return { width: f.width, height: f.height, points, focalPrior: K[0], focalFromExif: v.intrinsicsSource !== 'default', cx: K[2], cy: K[5] };
    }),
    pairs: matches,
    sharedIntrinsics: sameCamera(views),
    refineDistortion: 'auto',
    // Fewer 2D-3D matches suffice to try and to accept a registration than the defaults (30 / 20): Middlebury's temple
    // ring (22.5 degrees between neighbours, plaster) leaves only 5-25 matches to the model for most views.
    options: { minRegistrationMatches: 16, minPnpInliers: 12 },
  };
}

/** An SfmInput as JSON (report.sfm.input): typed arrays as little-endian base64; `guessed` as solveCameras takes it. */
export interface SerializedSfmInput {
  guessed: boolean;
  sharedIntrinsics: boolean;
  refineDistortion: SfmInput['refineDistortion'];
  options: SfmInput['options'];
  images: { width: number; height: number; points: string; focalPrior: number; focalFromExif: boolean; cx: number; cy: number }[];
  pairs: { i: number; j: number; matches: string }[];
}

export function serializeSfmInput(input: SfmInput, guessed: boolean): SerializedSfmInput {
  return {
    guessed,
    sharedIntrinsics: !!input.sharedIntrinsics,
    refineDistortion: input.refineDistortion,
    options: input.options,
    images: input.images.map((im) => ({ width: im.width, height: im.height, points: bytesToBase64(im.points), focalPrior: im.focalPrior, focalFromExif: im.focalFromExif, cx: im.cx, cy: im.cy })),
    pairs: input.pairs.map((p) => ({ i: p.i, j: p.j, matches: bytesToBase64(p.matches) })),
  };
}

export function parseSfmInput(s: SerializedSfmInput): { input: SfmInput; guessed: boolean } {
  return {
    guessed: s.guessed,
    input: {
      images: s.images.map((im) => ({ ...im, points: new Float32Array(base64ToBytes(im.points).buffer) })),
      pairs: s.pairs.map((p) => ({ i: p.i, j: p.j, matches: new Uint32Array(base64ToBytes(p.matches).buffer) })),
      sharedIntrinsics: s.sharedIntrinsics,
      refineDistortion: s.refineDistortion,
      options: s.options,
    },
  };
}

/** Views a reconstruction registered. */
const registeredOf = (r: SfmResult): number => r.cameras.filter(Boolean).length;

/** factor: the prior tried (x the default guess); refined: the reconstruction's median focal (x the same guess). */
export type FocalTry = { factor: number; refined: number; registered: number; error: number; seed: boolean; seconds: number };

/**
 * FOCAL_TRY_RULE. Views in a focal try's seed reconstruction: a try on a capture of more views stops registering here
 * (the incremental order puts the best connected views first), so the search costs four small reconstructions and
 * one full one instead of five full ones. Six views already separate the basins: a wrong prior converges to a
 * residual 1.2-4x the right one's (fountain 0.23 px against 0.8; temple 0.17 against 0.22, where the wrong tries
 * also lose views); was 16, which on fountain (11 views) and temple (16) meant five full reconstructions.
 */
export const FOCAL_SEED_VIEWS = 6;

/**
 * FOCAL_TRY_RULE, continued: tracks a focal try uses at most (maxTracks, a random subset): the try only ranks a focal
 * prior, and its bundle adjustments cost in proportion to the observations (fountain: 9.2k tracks, so a quarter).
 */
export const FOCAL_TRY_TRACKS = 2500;

/**
 * FOCAL_AGREE_RULE: the focal search stops early once two tries from different priors refined to the same focal
 * (relative difference under FOCAL_AGREE_TOL) with every view of their seed registered: bundle adjustment pulled both
 * priors into one basin, and that basin is the focal. The remaining tries start further out (1.7, 2.6 x the guess)
 * and could only win by registering more views or fitting better, which a prior outside the basin two tries agreed on
 * does not do. Why 1%: tries in the right basin agree to ~0.2% (fountain: 0.7475 / 0.7461 x the guess; the trusted
 * pass then moves the focal by 0.1%), while tries in wrong basins land far apart (fountain 1.42 / 2.34; temple, a long
 * lens guessed 2.4x short, refines 1 / 0.6 / 1.7 / 2.6 to 1.39 / 0.98 / 2.04 / 2.17: no two within 7%, so all four run).
 * Fountain skips its last two tries (0.7 s in the browser).
 */
export const FOCAL_AGREE_TOL = 0.01;

/**
 * The reconstruction from the views' focal priors. Without EXIF the focal is a guess (1.2 x the long side), and a guess
 * far from the truth gives a wrong initial two-view geometry that bundle adjustment cannot pull back (Middlebury's
 * temple is shot at ~2.4 x). Self-calibration from fundamental matrices is degenerate exactly for object captures (the
 * optical axes meet), so instead the reconstruction is tried from a few focal priors and the best kept: most views
 * registered, then the lowest error; then a second pass with the focal found, trusted. On more than FOCAL_SEED_VIEWS
 * views the tries are seed reconstructions of that many views on at most FOCAL_TRY_TRACKS tracks, and only the second
 * pass registers them all.
 */
export async function solveCameras(input: SfmInput, guessed: boolean, signal?: AbortSignal, seedViews = FOCAL_SEED_VIEWS, tryTracks = FOCAL_TRY_TRACKS, verification: VerificationCache = {}): Promise<{ result: SfmResult; focalTries: FocalTry[] }> {
  const factors = guessed ? [1, 0.6, 1.7, 2.6] : [1];
  const seedCap = guessed && input.images.length > seedViews ? seedViews : 0;
  const refinedOf = (r: SfmResult) => {
    const f = r.cameras.filter((c): c is NonNullable<typeof c> => Boolean(c)).map((c) => c.K[0]).sort((a, b) => a - b);
    return f.length ? f[f.length >> 1] / input.images[0].focalPrior : 0;
  };
  const focalTries: FocalTry[] = [];
  let result: SfmResult | null = null, bestFactor = 1;
  // The input that produced `result` (MIRROR_REPAIR_RULE re-runs it).
  let resultInput: SfmInput = input;
  const seedSize = seedCap || input.images.length;
  for (const factor of factors) {
    // (all views registering at a low error is no sign of the right focal when baselines are short: only two tries
    // agreeing stop the search, FOCAL_AGREE_RULE)
    throwIfAborted(signal);
    const tryInput: SfmInput = {
      ...input,
      images: input.images.map((im) => ({ ...im, focalPrior: im.focalPrior * factor })),
      // A guessed focal's tries only choose the focal; the trusted pass below is the result, so the noise refinement
      // (two more global BAs, 2-3 s each on fountain's 8k points) runs there only. With EXIF the one try is the result.
      options: { ...input.options, maxImages: seedCap || input.options?.maxImages || 0, ...(guessed ? { noiseSigmas: 0, maxTracks: tryTracks } : {}) },
    };
    const r = await reconstructIncremental(tryInput, verification);
    focalTries.push({ factor, refined: refinedOf(r), registered: registeredOf(r), error: r.meanReprojectionError, seed: seedCap > 0, seconds: r.stats.totalSeconds });
    if (!result || registeredOf(r) > registeredOf(result) || (registeredOf(r) === registeredOf(result) && r.meanReprojectionError < result.meanReprojectionError)) {
      result = r;
      resultInput = tryInput;
      bestFactor = factor;
    }
    if (focalTriesAgree(focalTries, seedSize)) break;
  }
  if (!result) throw new Error('unreachable: no focal tried');
  // Second pass with the focal the first one found, now trusted: pair verification then uses the calibrated
  // essential matrix instead of F, which rejects matches a wrong focal let through (symmetric objects).
  if (guessed) {
    const focals = result.cameras.filter((c): c is NonNullable<typeof c> => Boolean(c)).map((c) => c.K[0]).sort((a, b) => a - b);
    if (focals.length >= 2) {
      throwIfAborted(signal);
      const f = focals[focals.length >> 1];
      // The result's K is in feature-image pixels, as the priors are.
      // The tries' F verification prunes this pass's E verification (F_SUBSET_RULE in incremental.ts).
      const trustedInput: SfmInput = { ...input, images: input.images.map((im) => ({ ...im, focalPrior: f, focalFromExif: true })) };
      const r = await reconstructIncremental(trustedInput, verification);
      focalTries.push({ factor: f / input.images[0].focalPrior, refined: refinedOf(r), registered: registeredOf(r), error: r.meanReprojectionError, seed: false, seconds: r.stats.totalSeconds });
      if (registeredOf(r) >= registeredOf(result)) { result = r; resultInput = trustedInput; }
      else if (seedCap) {
        // The trusted pass lost views the seed had: the full reconstruction from the best seed's focal prior, untrusted.
        throwIfAborted(signal);
        const fullInput: SfmInput = { ...input, images: input.images.map((im) => ({ ...im, focalPrior: im.focalPrior * bestFactor })) };
        const full = await reconstructIncremental(fullInput, verification);
        focalTries.push({ factor: bestFactor, refined: refinedOf(full), registered: registeredOf(full), error: full.meanReprojectionError, seed: false, seconds: full.stats.totalSeconds });
        [result, resultInput] = registeredOf(full) >= registeredOf(r) ? [full, fullInput] : [r, trustedInput];
      }
    }
  }
  // A capped seed (maxImages) is no model to check.
  if (!resultInput.options?.maxImages) result = await repairMirrored(resultInput, result, verification, signal);
  return { result, focalTries };
}

/**
 * MIRROR_REPAIR_RULE (mirrorCheck.ts): while the model holds a group of views that conflicts with the main one (views
 * placed at the mirror image of their pose), the verified pairs that glued the group there are excluded and the
 * reconstruction re-run from the same verified pairs (`verification` holds the run's pairs: no re-verification; the
 * re-run costs one reconstruction without its verification). A round is kept when fewer views are left in flagged
 * groups; a flagged view the kept re-run cannot place is placed by its group's motion where the data verify it
 * (MIRROR_TRANSFER_RULE, mirrorPlace.ts; stats.mirrorTransferPlaced), else reported unregistered with why. stats.mirrorRepairRounds:
 * rounds kept; stats.mirrorFlaggedViews: views in flagged groups of the first check; stats.mirrorPairsExcluded;
 * the first check's margins (mirrorClosePairs, mirrorConflictPairs, mirrorMinCloseRatio, mirrorGroups).
 */
export async function repairMirrored(input: SfmInput, first: SfmResult, verification: VerificationCache, signal?: AbortSignal, agreePx = input.options?.twoViewErrorPx ?? DEFAULT_SFM_OPTIONS.twoViewErrorPx): Promise<SfmResult> {
  const t0 = performance.now();
  let result = first;
  let check = mirrorCheck(result, input.images);
  const flaggedCount = (c: ReturnType<typeof mirrorCheck>) => c.flagged.reduce((s, g) => s + g.length, 0);
  const firstFlagged = flaggedCount(check);
  const firstGroups = check.flagged;
  // The first check's margins, for reports: pose-close pairs within CONFLICT_AXIS_DEG, how many conflict, the lowest
  // ratio among them, and the groups.
  const close = check.edges.filter((e) => e.axisDeg <= CONFLICT_AXIS_DEG && e.expected >= MIN_EXPECTED);
  const margins = {
    mirrorClosePairs: close.length,
    mirrorConflictPairs: close.filter((e) => e.ratio < CONFLICT_RATIO).length,
    mirrorMinCloseRatio: close.length ? Math.min(...close.map((e) => e.ratio)) : -1,
    mirrorGroups: new Set(Array.from(check.group).filter((g) => g >= 0)).size,
  };
  const excluded: [number, number][] = [...(input.options?.excludePairs ?? [])];
  const placedMirrored = new Set<number>();
  let rounds = 0;
  for (let round = 0; round < MAX_REPAIR_ROUNDS && check.flagged.length; round++) {
    throwIfAborted(signal);
    // The pairs of the run that produced the result (VerificationCache.last), so the re-run verifies nothing again.
    const pairs = verification.last?.key === verificationKey(input) ? verification.last.verified : null;
    if (!pairs) break;
    const points = input.images.map((im) => im.points);
    const drop: [number, number][] = [];
    for (const g of check.flagged) drop.push(...agreeingCrossPairs(result, points, pairs, g, agreePx));
    if (!drop.length) break;
    const tryExcluded = [...excluded, ...drop];
    const r = await reconstructIncremental({ ...input, options: { ...input.options, excludePairs: tryExcluded } }, verification);
    const c = mirrorCheck(r, input.images);
    // Kept when it leaves fewer views flagged and loses no view but flagged ones: excluding pairs changes the tracks
    // and the registration order, and a re-run that loses other views is no repair (lego every 2nd view, with the
    // agreement threshold at 16 px instead of 4: 4 flipped views fixed, but 5 unflagged ones lost).
    if (flaggedCount(c) >= flaggedCount(check) || registeredOf(r) < registeredOf(result) - flaggedCount(check)) break;
    for (const g of check.flagged) for (const v of g) placedMirrored.add(v);
    excluded.splice(0, excluded.length, ...tryExcluded);
    result = r;
    check = c;
    rounds++;
  }
  // MIRROR_TRANSFER_RULE (mirrorPlace.ts): the flagged views the kept re-run left out, placed by their group's motion.
  let transferPlaced = 0;
  const neighbours = { pairs: 0, matched: 0, placed: 0 };
  if (rounds) {
    const opt = { ...DEFAULT_SFM_OPTIONS, ...(input.options ?? {}) };
    const t = placeByTransfer(input, first, result, firstGroups, opt, check.flagged.flat());
    result = t.result;
    transferPlaced = t.report.placed.length;
    const notes = new Map(t.report.notes.map((n) => [n.index, n.note]));
    result.unregistered = result.unregistered.map((u) => (notes.has(u.index) ? { ...u, reason: `${u.reason}; pose transfer: ${notes.get(u.index)}` } : u));
    // MIRROR_NEIGHBOUR_RULE: the views still left out, matched with the registered views nearest their predicted pose.
    const left = t.report.predicted.filter((p) => !result.cameras[p.index]);
    if (left.length && input.matchPairs) {
      throwIfAborted(signal);
      const newPairs = neighbourPairs(input, result, left);
      neighbours.pairs = newPairs.length;
      if (newPairs.length) {
        const matched = await input.matchPairs(newPairs, signal);
        neighbours.matched = matched.filter((m) => m.matches.length / 2 >= opt.minPairInliers).length;
        // The new pairs go after input.pairs, so the cached verification covers the old ones and only they are verified.
        const more: SfmInput = { ...input, pairs: [...input.pairs, ...matched], options: { ...input.options, excludePairs: excluded } };
        const r = await reconstructIncremental(more, verification);
        const c = mirrorCheck(r, input.images);
        // Kept when it registers more views and flags none more; every view the result had must stay registered.
        if (registeredOf(r) > registeredOf(result) && flaggedCount(c) <= flaggedCount(check) && result.cameras.every((cam, v) => !cam || r.cameras[v])) {
          neighbours.placed = registeredOf(r) - registeredOf(result);
          const before = new Map(result.unregistered.map((u) => [u.index, u.reason]));
          result = { ...r, unregistered: r.unregistered.map((u) => ({ ...u, reason: before.get(u.index) ?? u.reason })) };
          check = c;
        }
      }
    }
  }
  if (rounds) {
    result.unregistered = result.unregistered.map((u) => (placedMirrored.has(u.index) ? { ...u, reason: `placed at the mirror image of its pose by pairs on repeated structure; without them: ${u.reason}` } : u));
    // A re-run reused the first run's verification: its verification figures are the first run's.
    result.stats = { ...result.stats, verifySeconds: first.stats.verifySeconds, pairsSkippedByF: first.stats.pairsSkippedByF };
  }
  result.stats = { ...result.stats, ...margins, mirrorRepairRounds: rounds, mirrorFlaggedViews: firstFlagged, mirrorPairsExcluded: excluded.length, mirrorTransferPlaced: transferPlaced, mirrorNeighbourPairs: neighbours.pairs, mirrorNeighbourMatched: neighbours.matched, mirrorNeighbourPlaced: neighbours.placed, mirrorRepairSeconds: (performance.now() - t0) / 1000 };
  return result;
}

/**
 * MIRROR_NEIGHBOUR_RULE. A flagged view that neither the repaired re-run nor pose transfer placed is matched with the
 * NEIGHBOUR_PAIRS registered views whose optical axes lie nearest its predicted pose's (within NEIGHBOUR_AXIS_DEG),
 * the pairs it was not matched with; then the reconstruction runs again with them. Why: pair selection by retrieval
 * (pairs.ts) pairs a view with the views that look most like it, and on a symmetric object those are its mirror views,
 * the very pairs the repair excluded; its true neighbours may never have been matched. Lego, 100 views (the H200's
 * job, replayed in Node with `bench/sfmGeometry.ts --input`): the 6 views left out (r_4, r_15, r_22, r_25, r_59, r_74)
 * had their nearest registered views 24-32 deg away, but their nearest matched registered view 39-66 deg away (the
 * other matched views within 30 deg were their own group). Predicted by transfer (0.6-6 deg off), they got 48 new
 * pairs, 47 with enough matches; the re-run registered 100 of 100, none mirrored, relative rotation median 0.118 deg
 * (94 views: 0.116), worst view 0.240 deg. The views only need their neighbours predicted to within a few tens of
 * degrees: the re-run, not the prediction, places them.
 */
export const NEIGHBOUR_AXIS_DEG = 50;
export const NEIGHBOUR_PAIRS = 8;

export function neighbourPairs(input: Pick<SfmInput, 'pairs'>, result: Pick<SfmResult, 'cameras'>, left: { index: number; pose: ArrayLike<number> }[]): [number, number][] {
  const n = result.cameras.length;
  const have = new Set(input.pairs.map((p) => Math.min(p.i, p.j) * n + Math.max(p.i, p.j)));
  const out = new Set<number>();
  const axisCos = Math.cos((NEIGHBOUR_AXIS_DEG * Math.PI) / 180);
  for (const { index: v, pose } of left) {
    // The optical axis in world coordinates: the third row of R (camFromWorld is row-major 3x4).
    const a = [pose[8], pose[9], pose[10]];
    const near: { o: number; c: number }[] = [];
    result.cameras.forEach((cam, o) => {
      if (!cam || o === v) return;
      const p = cam.camFromWorld;
      const c = a[0] * p[8] + a[1] * p[9] + a[2] * p[10];
      if (c >= axisCos) near.push({ o, c });
    });
    near.sort((x, y) => y.c - x.c || x.o - y.o);
    let taken = 0;
    for (const { o } of near) {
      if (taken >= NEIGHBOUR_PAIRS) break;
      const key = Math.min(v, o) * n + Math.max(v, o);
      if (have.has(key)) continue;
      out.add(key);
      taken++;
    }
  }
  return [...out].sort((x, y) => x - y).map((k) => [Math.floor(k / n), k % n]);
}

/** FOCAL_AGREE_RULE: the last try and an earlier one, both with every seed view registered, refined to the same focal. */
export function focalTriesAgree(tries: FocalTry[], seedSize: number): boolean {
  const last = tries[tries.length - 1];
  if (!last || last.registered < seedSize || !(last.refined > 0)) return false;
  return tries.slice(0, -1).some((t) => t.factor !== last.factor && t.registered >= seedSize && Math.abs(t.refined - last.refined) <= FOCAL_AGREE_TOL * Math.max(t.refined, last.refined));
}

/** One physical camera: every photo has the same full size and, when EXIF says, the same make, model and focal. */
export function sameCamera(views: Pick<CaptureView, 'fullWidth' | 'fullHeight' | 'exif'>[]): boolean {
  const a = views[0];
  return views.every(
    (v) => v.fullWidth === a.fullWidth && v.fullHeight === a.fullHeight && (v.exif?.model ?? null) === (a.exif?.model ?? null) && (v.exif?.focalLengthMm ?? null) === (a.exif?.focalLengthMm ?? null),
  );
}

/** What photos need for structure from motion to place them (the job's messages when it cannot). */
export const OVERLAP_ADVICE = 'each part of the object seen from several nearby viewpoints, ~60-80% overlap between neighbours';

/**
 * The job's one-line account of a partial registration, shown before the per-photo reasons: how many photos structure
 * from motion placed, that the model covers only what those see, and (when fewer than half were placed, e.g. 2 of
 * 24 photos of a smooth object) what the photos need. null when every photo was placed.
 */
export function registrationSummary(registered: number, total: number): string | null {
  if (registered >= total) return null;
  const base = `Structure from motion placed ${registered} of ${total} photos; the model shows only what those ${registered} see (the others are listed below with the reason).`;
  return 2 * registered < total
    ? `${base} Most photos could not be placed: they need to overlap (${OVERLAP_ADVICE}) and to show texture; smooth or plain surfaces give too few features. Cameras given with the photos (COLMAP, transforms.json) avoid this.`
    : base;
}
