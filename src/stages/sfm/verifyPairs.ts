/**
 * Geometric verification of one matched image pair (step 1 of incremental.ts), as a pure function of plain typed
 * arrays and numbers, so that the same code runs in-process (verifySerial, Node and the fallback) and in the pool's
 * workers (verifyPool.ts): results are bit-identical either way, since each pair's RANSAC seeds come from its index
 * in SfmInput.pairs (p + 1, p + 3, p + 7) and nothing else is shared between pairs.
 *
 * No imports beyond ./geometry (and types): this module is the verify worker's whole bundle.
 */
import { throwIfAborted } from '../../core/errors';
import { estimateEssential, estimateFundamental, sampson2, type EssentialResult } from './geometry/essential';
import { estimateHomography } from './geometry/homography';
import { makeRng, transpose3 } from './geometry/linalg';
import type { VerifiedPair } from './incremental';

/** One pair to verify. Every array is the job's own (built for it), so a pool can transfer them. */
export interface VerifyJob {
  /** The pair's index in SfmInput.pairs: its RANSAC seeds. */
  p: number;
  /** The pair's images as in SfmInput.pairs (either order). */
  i: number;
  j: number;
  /** Feature index pairs [a0, b0, ...], image i's first (a copy of the input's). */
  matches: Uint32Array;
  /** The matches' normalised, undistorted coordinates in image i and image j (2 per match). */
  x1: Float64Array;
  x2: Float64Array;
  /** Sampson / transfer threshold in normalised units (twoViewErrorPx / the pair's mean focal). */
  thr: number;
  /** Both focals trusted: E by 5-point LO-RANSAC (and the two-view rotation), else F by 8-point. */
  calibrated: boolean;
  minPairInliers: number;
}

/** The jobs of one verification, built on demand (the pool builds a batch when a worker is free, so the normalised
 * coordinates of all pairs never sit in memory at once). job(k) is pure: a fallback may build a job again. */
export interface VerifyJobs {
  count: number;
  job(k: number): VerifyJob;
}

/**
 * Verifies jobs 0..count-1; result k is job k's verified pair or null. Progress: (jobs done, count).
 * Implementations: verifySerial (here), the worker pool's (verifyPool.ts). Throws the signal's reason when aborted.
 */
export type PairVerifier = (jobs: VerifyJobs, signal?: AbortSignal, progress?: (done: number, total: number) => void) => Promise<(VerifiedPair | null)[]>;

/** RANSAC runs on a random subset of at most this many matches. */
export const VERIFY_SUBSET = 1500;

/** Pairs verified in-process between yields to the event loop (where a cancel message is delivered). */
const SERIAL_YIELD_EVERY = 8;

/** The pair's verified inliers, H/E (or H/F) inlier ratio and, calibrated, its two-view rotation; null when rejected. */
export function verifyPair(job: VerifyJob): VerifiedPair | null {
  const { p, x1, x2, thr, calibrated, minPairInliers, matches } = job;
  const m = x1.length / 2;
  // RANSAC runs on a random subset of at most VERIFY_SUBSET matches (its LO step re-fits on the subset's
  // inliers, plenty for a well-determined model); all matches are then classified with the final model.
  const [s1, s2] = m > VERIFY_SUBSET ? randomSubset(x1, x2, VERIFY_SUBSET, p + 3) : [x1, x2];
  // A pair needs minPairInliers inliers: RANSAC stops once a model with that share of the subset would have been
  // found (most pairs of a capture do not overlap, and ran to the iteration limit: 7 of temple's 8.5 s).
  const minInliers = Math.max(1, Math.floor((minPairInliers * s1.length) / x1.length));
  const model = calibrated ? estimateEssential(s1, s2, thr, { seed: p + 1, minInliers }) : estimateFundamental(s1, s2, thr, { seed: p + 1, minInliers });
  if (!model) return null;
  const thr2 = thr * thr;
  let count = 0;
  const inlierMask = new Uint8Array(m);
  for (let k = 0; k < m; k++) if (sampson2(model.model, x1, x2, k) < thr2) { inlierMask[k] = 1; count++; }
  if (count < minPairInliers) return null;
  const H = estimateHomography(s1, s2, thr, { seed: p + 7 });
  const inl = new Uint32Array(2 * count);
  let k2 = 0;
  for (let k = 0; k < m; k++) if (inlierMask[k]) { inl[k2++] = matches[2 * k]; inl[k2++] = matches[2 * k + 1]; }
  const { i, j } = job;
  const R = calibrated ? (i < j ? Float64Array.from((model as EssentialResult).pose.R) : transpose3((model as EssentialResult).pose.R)) : undefined;
  return { i: Math.min(i, j), j: Math.max(i, j), inliers: i < j ? inl : swapPairs(inl), hRatio: H ? H.inlierCount / model.inlierCount : 0, calibrated, R };
}

/** The in-process verifier: jobs in order, yielding every SERIAL_YIELD_EVERY pairs so that a cancel gets through. */
export const verifySerial: PairVerifier = async (jobs, signal, progress) => {
  const out: (VerifiedPair | null)[] = [];
  for (let k = 0; k < jobs.count; k++) {
    if (k % SERIAL_YIELD_EVERY === 0) {
      throwIfAborted(signal);
      progress?.(k, jobs.count);
      await yieldToEventLoop();
    }
    out.push(verifyPair(jobs.job(k)));
  }
  throwIfAborted(signal);
  progress?.(jobs.count, jobs.count);
  return out;
};

export function randomSubset(x1: Float64Array, x2: Float64Array, k: number, seed: number): [Float64Array, Float64Array] {
  const n = x1.length / 2;
  const rng = makeRng(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) { const j = i + Math.floor(rng() * (n - i)); const t = idx[i]; idx[i] = idx[j]; idx[j] = t; }
  const a = new Float64Array(2 * k), b = new Float64Array(2 * k);
  for (let i = 0; i < k; i++) { a[2 * i] = x1[2 * idx[i]]; a[2 * i + 1] = x1[2 * idx[i] + 1]; b[2 * i] = x2[2 * idx[i]]; b[2 * i + 1] = x2[2 * idx[i] + 1]; }
  return [a, b];
}

/** A macrotask yield, so that a cancel message (worker postMessage) is delivered between steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function swapPairs(a: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  for (let k = 0; k < a.length; k += 2) { out[k] = a[k + 1]; out[k + 1] = a[k]; }
  return out;
}
