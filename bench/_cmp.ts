import { readFileSync } from 'node:fs';
import { filterMatches, nearestCpu } from '../src/stages/sfm/matching/matchCpu';
const j = JSON.parse(readFileSync('/tmp/sfmc/middlebury-temple-sparse-8000.features.json', 'utf8')) as { d: string }[];
const c = JSON.parse(readFileSync('/tmp/sfmc/temple-c.matches.json', 'utf8')) as { i: number; j: number; m: number[] }[];
for (const [i, k] of [[0, 1], [3, 9]]) {
  const a = new Uint8Array(Buffer.from(j[i].d, 'base64')), b = new Uint8Array(Buffer.from(j[k].d, 'base64'));
  const m = Array.from(filterMatches(nearestCpu(a, b), nearestCpu(b, a)));
  const cm = c.find((x) => x.i === i && x.j === k)!.m;
  console.log(i, k, m.length / 2, cm.length / 2, JSON.stringify(m) === JSON.stringify(cm));
}
