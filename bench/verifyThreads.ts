/**
 * Contention check for pair verification without a browser: k worker_threads (k from --threads, e.g. 1,2) each
 * verify the same jobs (bench/verifyBench.ts's capture of a dumped SfmInput) with E, all at once; prints each
 * thread's busy seconds. With no shared bottleneck the busy time per thread stays flat while k <= free cores.
 *
 *   node --import tsx bench/verifyThreads.ts /tmp/temple.json --threads 1,2 [--warm]
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
  const tsxApi = import.meta.resolve('tsx/esm/api');
  for (const k of counts) {
    const busy = await Promise.all(Array.from({ length: k }, () => new Promise<number>((resolve, reject) => {
      // A worker does not inherit tsx's loader (Node 20): it registers tsx, then imports this file.
      const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(boot, { eval: true, workerData: { jobs, warm: args.includes('--warm') } });
      w.once('message', (s: number) => { resolve(s); void w.terminate(); });
      w.once('error', reject);
    })));
    console.log(`${k} threads: busy seconds ${busy.map((s) => s.toFixed(2)).join(' ')}, sum ${busy.reduce((a, b) => a + b, 0).toFixed(2)}`);
  }
} else {
  const { jobs, warm } = workerData as { jobs: VerifyJob[]; warm: boolean };
  // --warm: one untimed pass first, so that the timed one excludes each thread's JIT compilation (on a 2-core
  // machine the threads' background compilers compete with them).
  if (warm) for (const j of jobs) verifyPair({ ...j, calibrated: true });
  const t0 = performance.now();
  for (const j of jobs) verifyPair({ ...j, calibrated: true });
  parentPort!.postMessage((performance.now() - t0) / 1000);
}
