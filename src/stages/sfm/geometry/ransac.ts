/**
 * LO-RANSAC (Chum et al. 2003, in the "inner RANSAC"-free simple form that COLMAP and PoseLib use): minimal
 * samples, MSAC scoring (truncated squared residuals), and each time a sample beats the best model a local
 * optimisation re-estimates the model from all its inliers with the non-minimal solver, repeated while it improves.
 * The iteration count adapts to the best inlier ratio so far.
 */
import { makeRng, ransacIterations, sampleDistinct } from './linalg';

export interface RansacEstimator<Model> {
  sampleSize: number;
  /** Models from a minimal sample (several for the 5-point solver, none when degenerate). */
  minimal(sample: Uint32Array): Model[];
  /** A model from many points (least squares); null when it fails. */
  nonMinimal(indices: Uint32Array, count: number): Model | null;
  /** Squared residual of point i under the model (in the units of the threshold, squared). */
  residual2(model: Model, i: number): number;
  /**
   * Given, minimal's models (and its list) and nonMinimal's model may be the estimator's scratch, overwritten by its
   * next call: loRansac keeps a model only through copy(src, dst), into its own dst (null: make a fresh one, which
   * loRansac reuses for later bests and returns). Lets the estimators run without allocating per hypothesis (issue #6). nonMinimal's scratch must not be
   * one of minimal's (LO runs while a sample's models are iterated).
   */
  copy?(src: Model, dst: Model | null): Model;
}

export interface RansacOptions {
  /** Inlier threshold (same units as sqrt(residual2)). */
  threshold: number;
  confidence?: number;
  minIterations?: number;
  maxIterations?: number;
  seed?: number;
  /** Local optimisation steps per improvement (0 disables LO). */
  loSteps?: number;
  /**
   * A model is of use only with at least this many inliers (the caller rejects fewer). Then sampling stops once a
   * model with that many would have been drawn with `confidence`: the iterations for the inlier ratio minInliers / n.
   * A hopeless set (a pair of images that do not overlap) stops there instead of at maxIterations; a set that has
   * such a model stops earlier anyway, on the same random sequence, so its result does not change. The count is
   * multiplied by MIN_INLIER_SAFETY: with noise, an all-inlier minimal sample does not always give a model that
   * collects the inliers (without it lego lost 5 of 486 verified pairs).
   */
  minInliers?: number;
}

/** Factor on the minInliers iteration bound (see RansacOptions.minInliers). */
const MIN_INLIER_SAFETY = 3;

export interface RansacResult<Model> {
  model: Model;
  inliers: Uint8Array;
  inlierCount: number;
  score: number;
  iterations: number;
}

export function loRansac<Model>(est: RansacEstimator<Model>, n: number, opts: RansacOptions): RansacResult<Model> | null {
  const s = est.sampleSize;
  if (n < s) return null;
  const thr2 = opts.threshold * opts.threshold;
  const confidence = opts.confidence ?? 0.9999;
  const minIt = opts.minIterations ?? 50;
  const maxIt = opts.maxIterations ?? 5000;
  const loSteps = opts.loSteps ?? 4;
  const rng = makeRng(opts.seed ?? 12345);
  const sample = new Uint32Array(s);
  const idx = new Uint32Array(n);

  // Scoring bails out as soon as the partial MSAC score exceeds the bound (the best so far): most hypotheses are
  // bad and are rejected after a fraction of the points.
  // The score is returned, its inlier count left in scoreCount (no result object per hypothesis).
  let scoreCount = 0;
  const score = (m: Model, bound = Infinity): number => {
    let sc = 0, count = 0;
    for (let i = 0; i < n; i++) {
      const r = est.residual2(m, i);
      if (r < thr2) { sc += r; count++; } else sc += thr2;
      if (sc >= bound) { scoreCount = 0; return Infinity; }
    }
    scoreCount = count;
    return sc;
  };
  const copy = est.copy;
  // This call's own model buffer (made by the first copy): it becomes the result, so callers may keep it.
  let keptBuf: Model | null = null;
  /** The model to keep as the best: m itself, or (with est.copy) m copied into loRansac's own buffer. */
  const keep = (m: Model): Model => (copy ? (keptBuf = copy(m, keptBuf)) : m);
  const inliersOf = (m: Model, t2: number): number => {
    let k = 0;
    for (let i = 0; i < n; i++) if (est.residual2(m, i) < t2) idx[k++] = i;
    return k;
  };

  let best: Model | null = null, bestScore = Infinity, bestCount = 0;
  const cap = opts.minInliers ? Math.min(maxIt, MIN_INLIER_SAFETY * ransacIterations(opts.minInliers / n, s, confidence, minIt, maxIt)) : maxIt;
  let needed = cap;
  let it = 0;
  for (; it < needed && it < cap; it++) {
    sampleDistinct(rng, n, s, sample);
    const models = est.minimal(sample);
    for (let q = 0; q < models.length; q++) {
      const m = models[q];
      const sc = score(m, bestScore);
      if (sc >= bestScore) continue;
      best = keep(m); bestScore = sc; bestCount = scoreCount;
      // Local optimisation: re-fit on the inliers (with a slightly wider threshold first, as LO-RANSAC does, so
      // that inliers the minimal model just missed are pulled in), keep while the score improves.
      for (let step = 0; step < loSteps; step++) {
        const widen = step === 0 ? 2.25 : 1; // (1.5 x threshold)^2
        const k = inliersOf(best, thr2 * widen);
        if (k < s) break;
        const refined = est.nonMinimal(idx, k);
        if (!refined) break;
        const rs = score(refined);
        if (rs < bestScore) { best = keep(refined); bestScore = rs; bestCount = scoreCount; }
        else break;
      }
      needed = ransacIterations(bestCount / n, s, confidence, minIt, maxIt);
    }
  }
  if (!best) return null;
  // Final polish on the inliers of the best model.
  const k = inliersOf(best, thr2);
  if (k >= s) {
    const refined = est.nonMinimal(idx, k);
    if (refined) {
      const rs = score(refined);
      if (rs <= bestScore) { best = keep(refined); bestScore = rs; bestCount = scoreCount; }
    }
  }
  const inliers = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) if (est.residual2(best, i) < thr2) { inliers[i] = 1; count++; }
  return { model: best, inliers, inlierCount: count, score: bestScore, iterations: it };
}
