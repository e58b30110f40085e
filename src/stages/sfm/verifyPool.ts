/**
 * SfM pair verification on a pool of Web Workers (issue 6: ~107 of lego's 163 s of reconstruction were this loop, on
 * the job worker's one thread). Module workers (verify.worker.ts) created from the job worker; each verifies batches
 * of pairs with verifyPair (verifyPairs.ts), the function the in-process path runs, so the pairs are the same bits
 * pooled or not (seeds are per pair index; results are put back in pair order).
 *
 * VERIFY_POOL_RULE: min(hardwareConcurrency - 1, VERIFY_POOL_MAX_WORKERS) workers, at least 1. One core is left to the
 * page and the job worker's own thread (which builds the batches' normalised coordinates and collects results); the
 * cap bounds the memory of the pool (each worker has its own heap and a batch's arrays) and the time spent starting
 * workers on machines with many cores, where the per-pair work of one capture (~1-3k pairs) no longer divides well.
 *
 * Scheduling: guided batches. A free worker gets ceil(remaining / (2 x workers)) pairs (at most MAX_BATCH, at least 1):
 * few messages while much is left, small batches at the end so that no worker is left with a long tail; pairs differ
 * 100x in cost (rejected pairs run RANSAC to its iteration limit). One batch per worker in flight: building a batch is
 * well under a millisecond against tens of milliseconds per pair.
 *
 * Failure: a worker that fails to start or dies (script blocked, out of memory) turns the pool off with a warning and
 * the rest of the pairs are verified in-process. Cancel: the signal terminates every worker at once and the verify
 * call throws the signal's reason. dispose() (the stage's end, success or not) terminates them too.
 */
import { throwIfAborted } from '../../core/errors';
import type { VerifiedPair } from './incremental';
import { verifySerial, type PairVerifier, type VerifyJob, type VerifyJobs } from './verifyPairs';

export const VERIFY_POOL_MAX_WORKERS = 8;
/** Most pairs in one message (see the scheduling note above). */
const MAX_BATCH = 16;

/** VERIFY_POOL_RULE's size. */
export function verifyPoolSize(hardwareConcurrency: number): number {
  return Math.max(1, Math.min((hardwareConcurrency || 1) - 1, VERIFY_POOL_MAX_WORKERS));
}

/** What the pool needs of a Worker (tests pass an in-process stand-in). */
export interface VerifyWorkerLike {
  postMessage(message: VerifyRequest, transfer: Transferable[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent<VerifyResponse>) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessageerror: ((event: MessageEvent) => void) | null;
}
export interface VerifyRequest { jobs: VerifyJob[] }
/** ms: the worker's time verifying the batch (VerifyPool.busyMs). */
export type VerifyResponse = { results: (VerifiedPair | null)[]; ms: number } | { error: string };

/** Verify workers alive in this thread (created and not yet terminated), for tests of cancel and cleanup. */
let liveWorkers = 0;
export function liveVerifyWorkers(): number {
  return liveWorkers;
}

export interface VerifyPool {
  /** Workers the pool runs (0 once it fell back to in-process verification). */
  readonly size: number;
  /** Time the workers spent verifying, summed over workers and calls (against wall time: how well the pool is used). */
  readonly busyMs: number;
  verify: PairVerifier;
  /** Terminates the workers; later verify calls run in-process. Idempotent. */
  dispose(): void;
}

function spawnBrowserWorker(): VerifyWorkerLike {
  return new Worker(new URL('./verify.worker.ts', import.meta.url), { type: 'module', name: 'webrecon-sfm-verify' }) as unknown as VerifyWorkerLike;
}

const inBrowser = () => typeof window !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

/**
 * A pool of `size` verify workers, started on the first verify call. null where Worker does not exist (Node, vitest:
 * verification stays in-process; in a browser without nested workers, with a warning).
 */
export function createVerifyPool(size: number, warn: (message: string) => void, spawn?: () => VerifyWorkerLike): VerifyPool | null {
  if (!spawn && typeof Worker === 'undefined') {
    if (inBrowser()) warn('SfM: this browser cannot start workers from a worker; image pairs are verified on one thread (slower).');
    return null;
  }
  const create = spawn ?? spawnBrowserWorker;
  let workers: VerifyWorkerLike[] = [];
  let off = false;
  let warned = false;
  let busyMs = 0;

  const terminateAll = () => {
    for (const w of workers) {
      w.onmessage = w.onerror = w.onmessageerror = null;
      w.terminate();
      liveWorkers--;
    }
    workers = [];
  };
  const turnOff = (why: string) => {
    terminateAll();
    off = true;
    if (!warned) warn(`SfM: the pair verification workers failed (${why}); the remaining pairs are verified on one thread (slower).`);
    warned = true;
  };
  const start = (): boolean => {
    if (workers.length) return true;
    try {
      for (let k = 0; k < size; k++) {
        workers.push(create());
        liveWorkers++;
      }
      return true;
    } catch (error) {
      turnOff(`could not start: ${(error as Error).message}`);
      return false;
    }
  };

  const verify: PairVerifier = async (jobs, signal, progress) => {
    throwIfAborted(signal);
    if (off || jobs.count === 0 || !start()) return verifySerial(jobs, signal, progress);
    const results: (VerifiedPair | null)[] = new Array(jobs.count).fill(null);
    const finishedJob = new Uint8Array(jobs.count);
    const failure = await new Promise<string | null>((resolve, reject) => {
      let next = 0, done = 0, settled = false;
      const pool = workers.slice();
      const settle = (outcome: { failure: string | null } | { error: unknown }) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        for (const w of pool) w.onmessage = w.onerror = w.onmessageerror = null;
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.failure);
      };
      const onAbort = () => {
        off = true;
        terminateAll();
        try {
          throwIfAborted(signal);
        } catch (error) {
          settle({ error });
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: VerifyWorkerLike, inFlight: number[]) => {
        inFlight.length = 0;
        if (next >= jobs.count) {
          if (done === jobs.count) settle({ failure: null });
          return;
        }
        const n = Math.max(1, Math.min(MAX_BATCH, Math.ceil((jobs.count - next) / (2 * pool.length))));
        const batch: VerifyJob[] = [];
        const transfer: Transferable[] = [];
        for (let k = next; k < next + n; k++) {
          const job = jobs.job(k);
          batch.push(job);
          inFlight.push(k);
          transfer.push(job.x1.buffer, job.x2.buffer, job.matches.buffer);
        }
        next += n;
        w.postMessage({ jobs: batch }, transfer);
      };
      const inFlightOf = pool.map((): number[] => []);
      pool.forEach((w, slot) => {
        const inFlight = inFlightOf[slot];
        w.onmessage = (event) => {
          if (settled) return;
          const data = event.data;
          if ('error' in data) return settle({ failure: data.error });
          if (data.results.length !== inFlight.length) return settle({ failure: `a batch of ${inFlight.length} pairs came back with ${data.results.length} results` });
          inFlight.forEach((k, q) => { results[k] = data.results[q]; finishedJob[k] = 1; });
          busyMs += data.ms;
          done += inFlight.length;
          progress?.(done, jobs.count);
          try {
            feed(w, inFlight);
          } catch (error) {
            settle({ error });
          }
        };
        w.onerror = (event) => settle({ failure: (event as ErrorEvent).message || 'worker error' });
        w.onmessageerror = () => settle({ failure: 'a message could not be read' });
      });
      progress?.(0, jobs.count);
      try {
        pool.forEach((w, slot) => feed(w, inFlightOf[slot]));
      } catch (error) {
        settle({ error });
      }
    });
    if (failure !== null) {
      // The rest in-process; the pairs already verified by the workers are the same bits, kept.
      turnOff(failure);
      const missing: number[] = [];
      for (let k = 0; k < jobs.count; k++) if (!finishedJob[k]) missing.push(k);
      const rest = await verifySerial({ count: missing.length, job: (q) => jobs.job(missing[q]) }, signal, (d) => progress?.(jobs.count - missing.length + d, jobs.count));
      missing.forEach((k, q) => { results[k] = rest[q]; });
    }
    return results;
  };

  return {
    get size() { return off ? 0 : size; },
    get busyMs() { return busyMs; },
    verify,
    dispose: () => {
      off = true;
      terminateAll();
    },
  };
}
