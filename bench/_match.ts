// Session scratch (not committed): matches for the cache via an exact C port of nearestCpu.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { filterMatches, type Nearest } from '../src/stages/sfm/matching/matchCpu';
const [featPath, outPath] = process.argv.slice(2);
const j = JSON.parse(readFileSync(featPath, 'utf8')) as { count: number; d: string }[];
const desc = j.map((x) => Buffer.from(x.d, 'base64'));
const nearest = (a: Buffer, b: Buffer): Nearest => {
  const hdr = Buffer.alloc(8); hdr.writeUInt32LE(a.length / 128, 0); hdr.writeUInt32LE(b.length / 128, 4);
  const r = spawnSync('/tmp/sfmc/c/nn', { input: Buffer.concat([hdr, a, b]), maxBuffer: 1 << 28 });
  const o = r.stdout, n = a.length / 128;
  const u = new Uint32Array(o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength));
  return { index: u.slice(0, n), d1: u.slice(n, 2 * n), d2: u.slice(2 * n, 3 * n) };
};
const out: { i: number; j: number; m: number[] }[] = [];
const t0 = performance.now();
for (let i = 0; i < desc.length; i++) for (let k = i + 1; k < desc.length; k++) {
  out.push({ i, j: k, m: Array.from(filterMatches(nearest(desc[i], desc[k]), nearest(desc[k], desc[i]))) });
}
writeFileSync(outPath, JSON.stringify(out));
console.log(`${out.length} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
