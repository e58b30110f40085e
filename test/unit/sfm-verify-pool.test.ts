import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/core/errors';
import { reconstructIncremental, type VerificationCache, type VerifiedPair } from '../../src/stages/sfm/incremental';
import type { SfmInput, SfmResult } from '../../src/stages/sfm/types';
import { verifyPair, verifySerial, type PairVerifier } from '../../src/stages/sfm/verifyPairs';
import { createVerifyPool, liveVerifyWorkers, verifyPoolSize, type VerifyRequest, type VerifyResponse, type VerifyWorkerLike } from '../../src/stages/sfm/verifyPool';
import { synthInput, withRandomPairs } from './sfmSynthetic';

/** FNV-1a over everything a VerifiedPair holds (hRatio and R as their float64 bits). */
function fingerprint(pairs: VerifiedPair[]): string {
  let h = 0x811c9dc5;
  const eat = (bytes: Uint8Array) => { for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0; };
  for (const v of pairs) {
    eat(new Uint8Array(Uint32Array.of(v.i, v.j, v.calibrated ? 1 : 0, v.R ? 1 : 0).buffer));
    eat(new Uint8Array(v.inliers.buffer, v.inliers.byteOffset, v.inliers.byteLength));
    eat(new Uint8Array(Float64Array.of(v.hRatio).buffer));
    if (v.R) eat(new Uint8Array(v.R.buffer, v.R.byteOffset, v.R.byteLength));
  }
  return `${pairs.length}:${h.toString(16)}`;
}

/**
 * 10 views, 7,000 points (neighbouring pairs above VERIFY_SUBSET's 1,500 matches, so the random subset is exercised),
 * 40% outliers, plus pairs across the orbit with 40 random matches (rejected) and one pair given as (j, i) (the
 * swapped-inlier path).
 */
function testInput(): SfmInput {
  const { input } = synthInput({ nCam: 10, nPts: 7000, sigma: 0.5, outliers: 0.4, missing: 0.1, focalPriorFactor: 1, neighbours: 3, seed: 5, surfaceVisibilityCos: 0.2 });
  const pairs = withRandomPairs(input, 5, 91);
  const last = pairs[0], swapped = new Uint32Array(last.matches.length);
  for (let k = 0; k < swapped.length; k += 2) { swapped[k] = last.matches[k + 1]; swapped[k + 1] = last.matches[k]; }
  pairs[0] = { i: last.j, j: last.i, matches: swapped };
  return { ...input, pairs, options: { maxImages: 2, noiseSigmas: 0 } };
}

/** The pairs a reconstruction's verification gives, through input.verify (the pruned trusted pass's too). */
async function verifiedOf(input: SfmInput, cache: VerificationCache = {}, verify: PairVerifier = verifySerial): Promise<{ pairs: VerifiedPair[]; cache: VerificationCache; result: SfmResult }> {
  let pairs: VerifiedPair[] = [];
  const result = await reconstructIncremental({ ...input, verify: async (jobs, signal, progress) => {
    const out = await verify(jobs, signal, progress);
    pairs = out.filter((v): v is VerifiedPair => v !== null);
    return out;
  } }, cache);
  return { pairs, cache, result };
}

/**
 * An in-process stand-in for verify.worker.ts: requests and answers go through structuredClone with their transfer
 * lists (as postMessage does: the sender's arrays are detached), answers arrive after a delay that differs per
 * worker and batch (out of order across workers). `failAfter`: the worker raises an error event instead of its n-th
 * answer.
 */
class FakeWorker implements VerifyWorkerLike {
  onmessage: ((event: MessageEvent<VerifyResponse>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onmessageerror: ((event: MessageEvent) => void) | null = null;
  terminated = false;
  batches: number[] = [];
  constructor(private readonly id: number, private readonly failAfter = Infinity) {}
  postMessage(message: VerifyRequest, transfer: Transferable[]): void {
    const { jobs } = structuredClone(message, { transfer });
    this.batches.push(jobs.length);
    const n = this.batches.length;
    setTimeout(() => {
      if (this.terminated) return;
      if (n >= this.failAfter) return this.onerror?.({ message: 'simulated crash' } as unknown as Event);
      const t0 = performance.now();
      const results = jobs.map(verifyPair);
      const back = results.flatMap((r) => (r ? [r.inliers.buffer, ...(r.R ? [r.R.buffer] : [])] : [])) as ArrayBuffer[];
      this.onmessage?.({ data: structuredClone({ results, ms: performance.now() - t0 }, { transfer: back }) } as MessageEvent<VerifyResponse>);
    }, ((this.id * 7 + n * 3) % 5) + 1);
  }
  terminate(): void {
    this.terminated = true;
  }
}

describe('pair verification, extracted and pooled', () => {
  // Fingerprints of the verified pairs recorded with the in-line loop of incremental.ts before the extraction
  // (commit 2f0d0c1): F (untrusted focals) and E (trusted).
  const BEFORE = { untrusted: '30:9bf74ade', trusted: '30:c6b9750d' };

  it('verifyPair gives the pairs the in-line loop gave, bit for bit', async () => {
    const input = testInput();
    expect(Math.max(...input.pairs.map((p) => p.matches.length / 2))).toBeGreaterThan(1500);
    const f = await verifiedOf(input);
    const trusted = { ...input, images: input.images.map((im) => ({ ...im, focalFromExif: true })) };
    const e = await verifiedOf(trusted);
    console.log(`untrusted ${fingerprint(f.pairs)} trusted ${fingerprint(e.pairs)} of ${input.pairs.length} pairs`);
    expect(fingerprint(f.pairs)).toBe(BEFORE.untrusted);
    expect(fingerprint(e.pairs)).toBe(BEFORE.trusted);
  });

  it('a pool of workers gives the serial path\'s pairs and reconstruction (focal try, then the F-pruned trusted pass)', async () => {
    const input = testInput();
    const trusted = { ...input, images: input.images.map((im) => ({ ...im, focalFromExif: true })) };
    const warnings: string[] = [];
    const workers: FakeWorker[] = [];
    const pool = createVerifyPool(3, (m) => warnings.push(m), () => { const w = new FakeWorker(workers.length); workers.push(w); return w; })!;
    const progress: number[] = [];
    const viaPool: PairVerifier = (jobs, signal, report) => pool.verify(jobs, signal, (d, t) => { progress.push(d / t); report?.(d, t); });
    const serialF = await verifiedOf(input);
    const serialE = await verifiedOf(trusted, serialF.cache);
    const pooledF = await verifiedOf(input, {}, viaPool);
    const pooledE = await verifiedOf(trusted, pooledF.cache, viaPool);
    expect(liveVerifyWorkers()).toBe(3);
    pool.dispose();
    expect(liveVerifyWorkers()).toBe(0);
    expect(workers.length).toBe(3);
    expect(workers.every((w) => w.terminated)).toBe(true);
    // Batches: several pairs per message while many are left, and every worker took part.
    expect(workers.every((w) => w.batches.length > 0)).toBe(true);
    expect(Math.max(...workers.flatMap((w) => w.batches))).toBeGreaterThan(1);
    expect(progress[progress.length - 1]).toBe(1);
    expect(warnings).toEqual([]);
    expect(pool.busyMs).toBeGreaterThan(0);
    expect(fingerprint(pooledF.pairs)).toBe(fingerprint(serialF.pairs));
    expect(fingerprint(pooledE.pairs)).toBe(fingerprint(serialE.pairs));
    expect(pooledE.result.stats.pairsSkippedByF).toBe(serialE.result.stats.pairsSkippedByF);
    expect(pooledE.result.stats.pairsSkippedByF).toBeGreaterThanOrEqual(5);
    expect(pooledF.result.cameras).toEqual(serialF.result.cameras);
    expect(pooledE.result.cameras).toEqual(serialE.result.cameras);
  });

  it('a worker that dies: the rest of the pairs in-process, with a warning, same pairs', async () => {
    const input = testInput();
    const warnings: string[] = [];
    const workers: FakeWorker[] = [];
    const pool = createVerifyPool(2, (m) => warnings.push(m), () => { const w = new FakeWorker(workers.length, workers.length === 1 ? 2 : Infinity); workers.push(w); return w; })!;
    const serial = await verifiedOf(input);
    const pooled = await verifiedOf(input, {}, pool.verify);
    expect(fingerprint(pooled.pairs)).toBe(fingerprint(serial.pairs));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/simulated crash/);
    expect(pool.size).toBe(0);
    expect(liveVerifyWorkers()).toBe(0);
    expect(workers.every((w) => w.terminated)).toBe(true);
    pool.dispose();
  });

  it('cancel terminates the workers at once and throws the cancellation', async () => {
    const input = testInput();
    const workers: FakeWorker[] = [];
    const pool = createVerifyPool(2, () => undefined, () => { const w = new FakeWorker(workers.length); workers.push(w); return w; })!;
    const controller = new AbortController();
    let reports = 0;
    const run = reconstructIncremental({ ...input, signal: controller.signal, verify: (jobs, signal) => pool.verify(jobs, signal, () => { if (++reports === 2) controller.abort(); }) });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(workers.length).toBe(2);
    expect(workers.every((w) => w.terminated)).toBe(true);
    expect(liveVerifyWorkers()).toBe(0);
    pool.dispose();
    expect(liveVerifyWorkers()).toBe(0);
  });

  it('no Worker (Node): no pool, and no warning', () => {
    const warnings: string[] = [];
    expect(typeof Worker).toBe('undefined');
    expect(createVerifyPool(4, (m) => warnings.push(m))).toBeNull();
    expect(warnings).toEqual([]);
  });

  it('VERIFY_POOL_RULE: min(cores - 1, 8), at least 1', () => {
    expect([1, 2, 3, 9, 16, 128].map(verifyPoolSize)).toEqual([1, 1, 2, 8, 8, 8]);
  });
});
