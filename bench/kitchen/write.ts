// A derived capture (bench/kitchen/derive.py's arrays) as 7-Scenes files: colour PNGs copied, depth PNGs, poses, K.
import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { encode } from 'fast-png';
const [src, out] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(`${src}/meta.json`, 'utf8'));
const dep = new Uint16Array(readFileSync(`${src}/depth.u16`).buffer.slice(0));
mkdirSync(out, { recursive: true });
const ds = '../shared/datasets/7scenes-redkitchen-rgbd';
const fmt = (v: number) => v.toExponential(8);
meta.frames.forEach((f: string, i: number) => {
  copyFileSync(`${ds}/${f}.color.png`, `${out}/${f}.color.png`);
  writeFileSync(`${out}/${f}.depth.png`, encode({ width: 640, height: 480, data: dep.subarray(i * 307200, (i + 1) * 307200), depth: 16, channels: 1 }));
  const P = meta.poses[i];
  writeFileSync(`${out}/${f}.pose.txt`, [0, 1, 2, 3].map((r) => P.slice(4 * r, 4 * r + 4).map(fmt).join('\t')).join('\n') + '\n');
});
const K = meta.K;
writeFileSync(`${out}/camera-intrinsics.txt`, [0, 1, 2].map((r) => K.slice(3 * r, 3 * r + 3).map(fmt).join('\t')).join('\n') + '\n');
console.log('wrote', meta.frames.length);
