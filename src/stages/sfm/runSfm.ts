/**
 * Structure from motion as a job stage: for photos without cameras, GPU SIFT on each photo (the original decoded again
 * at up to 1600 px where it is larger than the working image), pairs chosen by the rule in docs/sfm-frontend.md, GPU
 * matching, then the incremental reconstruction (geometric verification, tracks, registration, triangulation, bundle
 * adjustment) in TypeScript. The cameras found go into the same CaptureSet fields that given cameras fill; views that
 * cannot be registered keep no pose and are listed with the reason.
 *
 * Held-out views take part (their cameras are needed to render them for evaluation) but never reach depth, fusion or
 * texture. Lens distortion is not estimated: the rest of the pipeline assumes pinhole photos.
 */
import { scaleK } from '../../core/camera';
import type { CaptureSet, CaptureView } from '../../core/capture';
import { InputError, throwIfAborted } from '../../core/errors';
import type { RgbaImage } from '../../core/mesh';
import { decodeAhead, decodeAtMost, type PhotoDecoder, type ResizingDecoder } from '../../io/decode';
import type { StageContext } from '../context';
import { extractFeatures, type ExtractStats, type FeatureImageSource } from './features/siftGpu';
import { matchPairs } from './matching/matchGpu';
import { computeGlobalDescriptors, selectPairs } from './matching/pairs';
import type { ImageFeatures, SfmResult } from './types';
import { loadLearnedFeatures, type LearnedFeatureOptions, type LearnedFeatures } from './features/learned';
import { OVERLAP_ADVICE, serializeSfmInput, sfmInputOf, solveCameras, type FocalTry, type SerializedSfmInput } from './solve';
import { undistortView } from './undistort';
import { createVerifyPool, verifyPoolSize } from './verifyPool';
import { verifySerial, type PairVerifier } from './verifyPairs';

export const SFM_FEATURE_LONG_SIDE = 1600;
/**
 * DECODE_AHEAD_RULE: photos decoded for the feature kernels ahead of the one the GPU works on. Decoding the
 * original again at SFM_FEATURE_LONG_SIDE (JPEG decode + high-quality resize + getImageData) costs more than the
 * GPU's SIFT: fountain's 3072x2048 JPEGs take 180-260 ms each in Chromium on a 2-core machine (decode ~60%, resize
 * ~30%, readback ~10%; the H200 host's CPU is about as fast per core), so probably most of the stage's 2.6 s on the
 * H200, where they ran one after another, a batch of 8 before the GPU started. Now images i + 1 .. i +
 * FEATURE_DECODE_AHEAD decode while the GPU works on image i (Chromium decodes createImageBitmap blobs off the
 * calling thread, so several in flight can use several cores); the features are the same bits, only the timing
 * changes. It also bounds memory: at most FEATURE_DECODE_AHEAD + 2
 * decoded photos are alive (was a batch of 8).
 */
const FEATURE_DECODE_AHEAD = 3;

export interface SfmStageStats {
  views: number;
  registered: number;
  unregistered: { name: string; reason: string }[];
  featureLongSide: number;
  featuresPerImage: number;
  /** The features and matcher used: the built-in GPU SIFT, or the optional XFeat + LighterGlue. */
  featureMethod: 'sift' | 'xfeat-lighterglue';
  pairs: number;
  /** Image pairs that passed geometric verification. */
  verifiedPairs: number;
  points: number;
  meanReprojectionError: number;
  featuresMs: number;
  /**
   * DECODE_AHEAD_RULE's split of featuresMs: the photos' decode time summed over photos (decodes overlap, so it can
   * exceed featuresMs), and the time the GPU loop waited for a decoded photo (decoding the GPU did not hide).
   */
  featureDecodeMs: number;
  featureDecodeWaitMs: number;
  matchingMs: number;
  reconstructionMs: number;
  /**
   * Wall time of the pair verification (step 1 of the incremental reconstruction, building the pairs' coordinates
   * included) summed over the stage's reconstructions (focal tries, trusted pass); part of reconstructionMs.
   */
  verifyMs: number;
  /** Workers that verified the pairs (VERIFY_POOL_RULE in verifyPool.ts); 0: in-process on the job's thread. */
  verifyWorkers: number;
  /**
   * The workers' own verification time summed over workers (0 in-process): verifyWorkerMs / (verifyMs x
   * verifyWorkers) is how busy the pool kept them (per-worker start-up, the last batches' tail, a starved CPU).
   */
  verifyWorkerMs: number;
  /** The reconstruction's input, when the stage was asked for it (SfmStageOptions.dumpInput). */
  input?: SerializedSfmInput;
  /**
   * Reconstructions tried from focal priors (factor x the default guess) when no photo had EXIF (seed reconstructions
   * of FOCAL_SEED_VIEWS views on larger captures: seed true); then the full pass from the focal found, trusted as if
   * from EXIF, and, when that pass lost views a seed had, a last untrusted full pass from the best seed's focal.
   */
  focalTries: FocalTry[];
  /**
   * Radial distortion found by bundle adjustment (COLMAP RADIAL: u = f d x + cx, d = 1 + k1 r^2 + k2 r^4 with r the
   * normalised radius): median k1, k2 over the registered views (one value when they share a camera), the terms the
   * data supported (0 none, 1 k1, 2 k1 and k2: DISTORTION_RULE in incremental.ts) and how many working images were
   * resampled to pinhole.
   */
  distortion: { k1: number; k2: number; terms: number; undistortedViews: number };
  /** The zip entry holding the sparse points (set by the job). */
  pointsFile?: string;
  /** Putative matches per image pair [i, j, count] (captures of up to 40 photos). */
  pairMatches?: [number, number, number][];
  extra: Record<string, number>;
}

export interface SfmStageOptions {
  decodePhoto?: PhotoDecoder;
  /**
   * Decodes a photo straight to a given size (decodeResizedInBrowser in the browser): the features' photos then
   * decode and resize off the worker thread; the same pixels as decodePhoto's (see decodeResizedInBrowser).
   */
  decodeResized?: ResizingDecoder;
  maxFeatures?: number;
  /** Pair verification workers (default VERIFY_POOL_RULE's size; 0 = in-process): tests compare the two. */
  verifyWorkers?: number;
  /** Diagnostics: stats.input holds the reconstruction's input (serializeSfmInput), for replaying it in Node. */
  dumpInput?: boolean;
  /**
   * Learned features (XFeat + LighterGlue, features/learned.ts) instead of the GPU SIFT path; when they cannot be
   * loaded the stage warns and uses SIFT.
   */
  learnedFeatures?: LearnedFeatureOptions;
}

/** True when the capture needs SfM: no view has a pose. */
export function needsSfm(capture: CaptureSet): boolean {
  return !capture.views.some((v) => v.camFromWorld);
}

/** The stage's statistics (for report.json) and the sparse points (xyz, the capture's frame; RGB 0..255) for the viewer. */
export async function runSfm(capture: CaptureSet, ctx: StageContext, options: SfmStageOptions = {}): Promise<{ stats: SfmStageStats; points: Float32Array; colors: Uint8Array }> {
  const views = capture.views;
  if (views.length < 2) throw new InputError(`Structure from motion needs at least 2 photos of the object from different viewpoints; this capture has ${views.length}.`);
  // 1. Features, photos decoded ahead of the GPU (DECODE_AHEAD_RULE); keypoints in the pixels of the image they were
  // found in.
  const t0 = performance.now();
  const featureScale: number[] = new Array(views.length).fill(1);
  let featureLongSide = 0;
  let featureDecodeMs = 0;
  const take = decodeAhead(views.length, async (index) => {
    const td = performance.now();
    const image = await featureImage(views[index], options, ctx);
    featureDecodeMs += performance.now() - td;
    featureScale[index] = image.width / views[index].width;
    featureLongSide = Math.max(featureLongSide, image.width, image.height);
    return image;
  }, FEATURE_DECODE_AHEAD);
  const source: FeatureImageSource = { count: views.length, image: (index) => take(index)! };
  const featureCtx: StageContext = { ...ctx, progress: (done, _total, message) => ctx.progress(done, views.length * 3, message) };
  const extractStats: ExtractStats = { found: [], retries: 0, imageWaitMs: 0 };
  let learned: LearnedFeatures | null = null;
  if (options.learnedFeatures) {
    try {
      learned = await loadLearnedFeatures(ctx, options.learnedFeatures);
    } catch (error) {
      if (ctx.signal?.aborted) throw error;
      ctx.warn(`SfM: the learned features (XFeat + LighterGlue) could not be used (${(error as Error).message}); the built-in GPU SIFT features are used instead.`);
    }
  }
  try {
    const features: ImageFeatures[] = learned ? await learned.extract(featureCtx, source, views) : await extractFeatures(featureCtx, source, { maxFeatures: options.maxFeatures ?? 8000 }, extractStats);
    // 2. Pairs and matches.
    const t1 = performance.now();
    const global = views.length > 60 ? await computeGlobalDescriptors(ctx, features) : undefined;
    const pairs = selectPairs(features, global ? { globalDescriptors: global } : {});
    const matchCtx: StageContext = { ...ctx, progress: (done, total, message) => ctx.progress(views.length + (views.length * done) / Math.max(1, total), views.length * 3, `matching: ${message}`) };
    const matchWith = (list: [number, number][], c: StageContext) => (learned ? learned.match(list, c.signal, (done, total) => c.progress(done, total, `LighterGlue ${done} of ${total} pairs`)) : matchPairs(c, features, list));
    const matches = await matchWith(pairs, matchCtx);
    const t2 = performance.now();
    // 3. Geometry. Focal priors and principal points in feature-image pixels.
    const input = sfmInputOf(views, features, featureScale, matches);
    input.signal = ctx.signal;
    input.progress = (done, total, message) => ctx.progress(2 * views.length + (views.length * done) / Math.max(1, total), views.length * 3, message);
    // MIRROR_NEIGHBOUR_RULE (solve.ts) matches a few more pairs once poses are known.
    input.matchPairs = (more, signal) => matchWith(more, { ...ctx, signal: signal ?? ctx.signal, progress: (done, total) => input.progress?.(done, total, 'Matching views with their pose neighbours') });
    const guessed = views.every((v) => v.intrinsicsSource === 'default');
    const dumped = options.dumpInput ? serializeSfmInput(input, guessed) : undefined;
    // One pool of verification workers for all of the stage's reconstructions (VERIFY_POOL_RULE), ended with the stage.
    const workers = options.verifyWorkers ?? verifyPoolSize(typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency);
    const pool = workers > 0 ? createVerifyPool(workers, ctx.warn) : null;
    let verifyMs = 0, verifyWorkers = 0;
    const verifier: PairVerifier = pool?.verify ?? verifySerial;
    input.verify = async (jobs, signal, progress) => {
      const tv = performance.now();
      try {
        return await verifier(jobs, signal, progress);
      } finally {
        verifyMs += performance.now() - tv;
        // The pool's size after the call: 0 when it fell back to in-process verification.
        verifyWorkers = pool?.size ?? 0;
      }
    };
    let solved: Awaited<ReturnType<typeof solveCameras>>;
    try {
      solved = await solveCameras(input, guessed, ctx.signal);
    } finally {
      pool?.dispose();
    }
    const { result, focalTries } = solved;
    const t3 = performance.now();
    // Colours of the sparse points (for sfm/points.ply), from the photos as they were when the features were found
    // (before undistortion moves the pixels): the mean over each point's observations.
    const colors = pointColors(result, views, features, featureScale);
    // 4. Cameras back into the capture, K at the working resolution.
    let registered = 0, undistorted = 0;
    result.cameras.forEach((cam, i) => {
      const v = views[i];
      if (!cam) {
        v.camFromWorld = null;
        return;
      }
      registered++;
      const s = 1 / featureScale[i];
      v.K = scaleK(cam.K, s, s);
      v.camFromWorld = cam.camFromWorld.slice();
      if (v.intrinsicsSource !== 'file') v.intrinsicsSource = 'sfm';
      // Downstream is pinhole: a view with an estimated radial distortion gets its working image resampled (same K).
      if (undistortView(v, cam.k1, cam.k2)) undistorted++;
    });
    const unregistered = result.unregistered.map((u) => ({ name: views[u.index].name, reason: u.reason }));
    if (registered < 2) {
      const reasons = [...new Set(unregistered.map((u) => u.reason))];
      throw new InputError(
        `Structure from motion could not register the photos: ${reasons.slice(0, 3).join('; ')}. ` +
          `The photos need to overlap (${OVERLAP_ADVICE}) and show texture.`,
      );
    }
    capture.cameraFormat = 'sfm';
    capture.hasPoses = true;
    capture.scenePoints = result.points;
    const verifiedPairs = result.stats.verifiedPairs ?? 0;
    const stats: SfmStageStats = {
      views: views.length,
      registered,
      unregistered,
      featureLongSide,
      featuresPerImage: features.reduce((s, f) => s + f.count, 0) / features.length,
      featureMethod: learned ? 'xfeat-lighterglue' : 'sift',
      pairs: pairs.length,
      verifiedPairs,
      points: result.points.length / 3,
      meanReprojectionError: result.meanReprojectionError,
      featuresMs: t1 - t0,
      featureDecodeMs,
      featureDecodeWaitMs: extractStats.imageWaitMs ?? 0,
      matchingMs: t2 - t1,
      reconstructionMs: t3 - t2,
      verifyMs,
      verifyWorkers,
      verifyWorkerMs: pool?.busyMs ?? 0,
      focalTries,
      distortion: distortionSummary(result.cameras, undistorted, result.stats.distortionTerms ?? 0),
      ...(views.length <= 40 ? { pairMatches: matches.map((m): [number, number, number] => [m.i, m.j, m.matches.length / 2]) } : {}),
      extra: result.stats,
      ...(dumped ? { input: dumped } : {}),
    };
    return { stats, points: result.points, colors };
  } finally {
    await learned?.release();
  }
}

/** Mean RGB of each sparse point over its observations (bilinear at the keypoint, in the working image). */
export function pointColors(result: Pick<SfmResult, 'pointObservations' | 'pointObservationStart'>, views: Pick<CaptureView, 'image'>[], features: ImageFeatures[], featureScale: number[]): Uint8Array {
  const n = result.pointObservationStart.length - 1;
  const out = new Uint8Array(3 * Math.max(0, n));
  const obs = result.pointObservations;
  for (let k = 0; k < n; k++) {
    let r = 0, g = 0, b = 0, m = 0;
    for (let q = result.pointObservationStart[k]; q < result.pointObservationStart[k + 1]; q++) {
      const im = obs[2 * q], f = obs[2 * q + 1], { width: w, height: h, data } = views[im].image, s = 1 / featureScale[im];
      // Feature-image pixel -> working-image pixel (centres at integers in both).
      const x = Math.min(w - 1, Math.max(0, (features[im].keypoints[4 * f] + 0.5) * s - 0.5)), y = Math.min(h - 1, Math.max(0, (features[im].keypoints[4 * f + 1] + 0.5) * s - 0.5));
      const x0 = Math.min(w - 2, Math.floor(x)), y0 = Math.min(h - 2, Math.floor(y)), ax = x - x0, ay = y - y0;
      const i00 = 4 * (y0 * w + x0), i01 = i00 + 4 * w;
      const at = (c: number) => (data[i00 + c] * (1 - ax) + data[i00 + 4 + c] * ax) * (1 - ay) + (data[i01 + c] * (1 - ax) + data[i01 + 4 + c] * ax) * ay;
      r += at(0); g += at(1); b += at(2); m++;
    }
    if (m) { out[3 * k] = Math.round(r / m); out[3 * k + 1] = Math.round(g / m); out[3 * k + 2] = Math.round(b / m); }
  }
  return out;
}

function distortionSummary(cameras: SfmResult['cameras'], undistortedViews: number, terms: number): SfmStageStats['distortion'] {
  const reg = cameras.filter((c): c is NonNullable<typeof c> => Boolean(c));
  const median = (xs: number[]) => (xs.length ? xs.sort((a, b) => a - b)[xs.length >> 1] : 0);
  return { k1: median(reg.map((c) => c.k1)), k2: median(reg.map((c) => c.k2)), terms, undistortedViews };
}

/** The photo for feature detection: the original at up to SFM_FEATURE_LONG_SIDE when larger than the working image. */
async function featureImage(v: CaptureView, options: Pick<SfmStageOptions, 'decodePhoto' | 'decodeResized'>, ctx: StageContext): Promise<RgbaImage> {
  const { decodePhoto, decodeResized } = options;
  const target = Math.min(SFM_FEATURE_LONG_SIDE, Math.max(v.fullWidth, v.fullHeight));
  if (!decodePhoto || target <= Math.max(v.width, v.height)) return v.image;
  try {
    const image = await decodeAtMost(v.source, v.fullWidth, v.fullHeight, target, decodePhoto, decodeResized);
    // Keep the working image's aspect exactly, so one scale factor maps between the two.
    return Math.abs(image.width / v.width - image.height / v.height) > 0.01 ? v.image : image;
  } catch (error) {
    ctx.warn(`SfM: ${v.name} could not be decoded again at ${target} px (${(error as Error).message}); features come from the working image.`);
    return v.image;
  }
}
