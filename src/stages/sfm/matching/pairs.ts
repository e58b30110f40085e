/**
 * Which image pairs to match.
 *
 * Rule: a set of at most `exhaustiveUpTo` (60) images is matched exhaustively (every i < j). A larger set is matched
 * on the union, deduplicated, of
 *   - retrieval: each image with its `neighbours` (20) most similar images by a global descriptor, and
 *   - sequence: each image with the next `sequence` (3) images in file order (i +- 1..3),
 * returned as (i, j) with i < j, sorted. The global descriptor is a bag of visual words: a codebook of `words` (256)
 * byte words clustered (k-means, nearest-word assignment on the GPU with the matching kernel) from a sample of the
 * capture's own descriptors, then tf-idf weighted, L2-normalised word histograms compared by cosine.
 */
import { InputError, throwIfAborted } from '../../../core/errors';
import type { StageContext } from '../../context';
import type { ImageFeatures } from '../types';
import { nearestCpu, type Nearest } from './matchCpu';
import { DescriptorStore, nearestBatch } from './matchGpu';

export interface PairOptions {
  exhaustiveUpTo?: number;
  neighbours?: number;
  sequence?: number;
  /** One L2-normalised vector per image (computeGlobalDescriptors); required above exhaustiveUpTo. */
  globalDescriptors?: Float32Array[];
}

export function selectPairs(features: ImageFeatures[] | number, options: PairOptions = {}): [number, number][] {
  const n = typeof features === 'number' ? features : features.length;
  const exhaustiveUpTo = options.exhaustiveUpTo ?? 60;
  const pairs: [number, number][] = [];
  if (n <= exhaustiveUpTo) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
    return pairs;
  }
  const g = options.globalDescriptors;
  if (!g || g.length !== n) throw new InputError(`Choosing pairs among ${n} images needs one global descriptor per image (computeGlobalDescriptors).`);
  const keys = new Set<number>();
  const add = (a: number, b: number) => {
    if (a === b || a < 0 || b < 0 || a >= n || b >= n) return;
    keys.add(Math.min(a, b) * n + Math.max(a, b));
  };
  const k = options.neighbours ?? 20, seq = options.sequence ?? 3;
  for (let i = 0; i < n; i++) {
    for (let d = 1; d <= seq; d++) add(i, i + d);
    const sims: { j: number; s: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let w = 0; w < g[i].length; w++) s += g[i][w] * g[j][w];
      sims.push({ j, s });
    }
    sims.sort((a, b) => b.s - a.s || a.j - b.j);
    for (const { j } of sims.slice(0, k)) add(i, j);
  }
  return [...keys].sort((a, b) => a - b).map((key) => [Math.floor(key / n), key % n]);
}

export interface GlobalDescriptorOptions {
  words?: number;
  /** Descriptors sampled for the codebook (the strongest of each image, evenly). Default 16384. */
  sample?: number;
  iterations?: number;
}

type NearestFn = (queries: Uint8Array[], codebook: Uint8Array) => Promise<Nearest[]>;

async function bagOfWords(features: ImageFeatures[], options: GlobalDescriptorOptions, nearest: NearestFn, signal?: AbortSignal): Promise<Float32Array[]> {
  const words = options.words ?? 256;
  const sampleTotal = options.sample ?? 16384;
  const perImage = Math.max(1, Math.floor(sampleTotal / Math.max(1, features.length)));
  const sample: Uint8Array[] = [];
  for (const f of features) for (let i = 0; i < Math.min(perImage, f.count); i++) sample.push(f.descriptors.subarray(128 * i, 128 * i + 128));
  if (sample.length < words) throw new InputError(`Too few features (${sample.length}) to build a ${words}-word vocabulary for pair selection.`);
  // Deterministic initialisation: evenly spaced samples.
  const codebook = new Uint8Array(words * 128);
  for (let w = 0; w < words; w++) codebook.set(sample[Math.floor((w * sample.length) / words)], 128 * w);
  const flat = new Uint8Array(sample.length * 128);
  sample.forEach((d, i) => flat.set(d, 128 * i));
  for (let it = 0; it < (options.iterations ?? 8); it++) {
    throwIfAborted(signal);
    const [assign] = await nearest([flat], codebook);
    const sums = new Float64Array(words * 128), counts = new Uint32Array(words);
    for (let i = 0; i < sample.length; i++) {
      const w = assign.index[i];
      counts[w]++;
      for (let k = 0; k < 128; k++) sums[128 * w + k] += flat[128 * i + k];
    }
    for (let w = 0; w < words; w++) {
      if (counts[w] === 0) continue; // an empty word keeps its old centre
      for (let k = 0; k < 128; k++) codebook[128 * w + k] = Math.round(sums[128 * w + k] / counts[w]);
    }
  }
  throwIfAborted(signal);
  const assigned = await nearest(features.map((f) => f.descriptors.subarray(0, f.count * 128)), codebook);
  const df = new Uint32Array(words);
  const hists = assigned.map((a) => {
    const h = new Float32Array(words);
    for (const w of a.index) if (w < words) h[w]++;
    h.forEach((v, w) => { if (v > 0) df[w]++; });
    return h;
  });
  return hists.map((h) => {
    let n2 = 0;
    for (let w = 0; w < words; w++) {
      h[w] *= Math.log((features.length + 1) / (df[w] + 1));
      n2 += h[w] * h[w];
    }
    const inv = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
    return h.map((v) => v * inv);
  });
}

/** Global descriptors with the nearest-word search on the GPU. */
export async function computeGlobalDescriptors(ctx: StageContext, features: ImageFeatures[], options: GlobalDescriptorOptions = {}): Promise<Float32Array[]> {
  return bagOfWords(features, options, async (queries, codebook) => {
    const store = new DescriptorStore(ctx, [codebook, ...queries]);
    try {
      return await nearestBatch(ctx, store, queries.map((_, k) => ({ query: k + 1, ref: 0 })));
    } finally {
      store.dispose();
    }
  }, ctx.signal);
}

/** The same on the CPU (tests, small sets). */
export function computeGlobalDescriptorsCpu(features: ImageFeatures[], options: GlobalDescriptorOptions = {}): Promise<Float32Array[]> {
  return bagOfWords(features, options, async (queries, codebook) => queries.map((q) => nearestCpu(q, codebook)));
}
