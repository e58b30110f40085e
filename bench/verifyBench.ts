/**
 * Serial speed of pair verification (verifyPairs.ts verifyPair) on a dumped SfmInput (bench/sfmGeometry.ts --dump):
 * the verification jobs of reconstructIncremental's first pass are captured, then each is verified with E (calibrated)
 * and with F, `--reps` times; prints seconds per pass and a fingerprint of the results (must not change with
 * performance work on the estimators).
 *
 *   npx tsx bench/verifyBench.ts /tmp/temple.json [--reps 3]
 */
import { readFileSync } from 'node:fs';
import { reconstructIncremental, type VerifiedPair } from '../src/stages/sfm/incremental';
import type { SfmInput } from '../src/stages/sfm/types';
import { verifyPair, type VerifyJob } from '../src/stages/sfm/verifyPairs';

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1] ?? 3) || 3;
const raw = JSON.parse(readFileSync(args[0], 'utf8'));
const input: SfmInput = { ...raw, images: raw.images.map((im: { points: number[] }) => ({ ...im, points: new Float32Array(im.points) })), pairs: raw.pairs.map((p: { i: number; j: number; matches: number[] }) => ({ i: p.i, j: p.j, matches: new Uint32Array(p.matches) })) };

const jobs: VerifyJob[] = [];
class Captured extends Error {}
try {
  await reconstructIncremental({ ...input, verify: async (js) => { for (let k = 0; k < js.count; k++) jobs.push(js.job(k)); throw new Captured(); } }, {});
} catch (e) { if (!(e instanceof Captured)) throw e; }

function fingerprint(pairs: (VerifiedPair | null)[]): string {
  let h = 0x811c9dc5, n = 0;
  const eat = (bytes: Uint8Array) => { for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0; };
  for (const v of pairs) {
    if (!v) { eat(Uint8Array.of(255)); continue; }
    n++;
    eat(new Uint8Array(Uint32Array.of(v.i, v.j, v.calibrated ? 1 : 0).buffer));
    eat(new Uint8Array(v.inliers.buffer, v.inliers.byteOffset, v.inliers.byteLength));
    eat(new Uint8Array(Float64Array.of(v.hRatio).buffer));
    if (v.R) eat(new Uint8Array(v.R.buffer, v.R.byteOffset, v.R.byteLength));
  }
  return `${n}:${h.toString(16)}`;
}

for (const calibrated of [true, false]) {
  const js = jobs.map((j) => ({ ...j, calibrated }));
  const times: number[] = [];
  let fp = '';
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = js.map(verifyPair);
    times.push((performance.now() - t0) / 1000);
    fp = fingerprint(out);
  }
  console.log(`${calibrated ? 'E' : 'F'}: ${jobs.length} pairs, seconds per pass ${times.map((t) => t.toFixed(2)).join(' ')}, fingerprint ${fp}`);
}
