/**
 * Contention check for pair verification without a browser: k worker_threads (k from --threads, e.g. 1,2) each
 * verify the same jobs (bench/verifyBench.ts's capture of a dumped SfmInput) with E, all at once; prints each
 * thread's busy seconds. With no shared bottleneck the busy time per thread stays flat while k <= free cores.
 *
 *   npx tsx bench/verifyThreads.ts /tmp/temple.json --threads 1,2
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { reconstructIncremental } from '../src/stages/sfm/incremental';
import type { SfmInput } from '../src/stages/sfm/types';
import { verifyPair, type VerifyJob } from '../src/stages/sfm/verifyPairs';

function captureJobs(path: string): Promise<VerifyJob[]> {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  const input: SfmInput = { ...raw, images: raw.images.map((im: { points: number[] }) => ({ ...im, points: new Float32Array(im.points) })), pairs: raw.pairs.map((p: { i: number; j: number; matches: number[] }) => ({ i: p.i, j: p.j, matches: new Uint32Array(p.matches) })) };
  const jobs: VerifyJob[] = [];
  class Captured extends Error {}
  return reconstructIncremental({ ...input, verify: async (js) => { for (let k = 0; k < js.count; k++) jobs.push(js.job(k)); throw new Captured(); } }, {})
    .then(() => jobs, (e) => { if (e instanceof Captured) return jobs; throw e; });
}

if (isMainThread) {
  const args = process.argv.slice(2);
  const counts = (args[args.indexOf('--threads') + 1] ?? '1,2').split(',').map(Number);
  const jobs = await captureJobs(args[0]);
  for (const k of counts) {
    const busy = await Promise.all(Array.from({ length: k }, () => new Promise<number>((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { jobs }, execArgv: ['--import', 'tsx'] });
      w.once('message', (s: number) => { resolve(s); void w.terminate(); });
      w.once('error', reject);
    })));
    console.log(`${k} threads: busy seconds ${busy.map((s) => s.toFixed(2)).join(' ')}, sum ${busy.reduce((a, b) => a + b, 0).toFixed(2)}`);
  }
} else {
  const jobs = (workerData as { jobs: VerifyJob[] }).jobs;
  const t0 = performance.now();
  for (const j of jobs) verifyPair({ ...j, calibrated: true });
  parentPort!.postMessage((performance.now() - t0) / 1000);
}
