/**
 * Fusion under depth with MVS-like errors (docs/benchmarks.md, session 14): rewrites the 16-bit depth PNGs of a COPY of
 * a 7-Scenes-format capture in place, in 8x8 blocks: a share of the blocks kept (the rest 0 = no depth), and of the
 * kept ones a share scaled by a uniform 0.8-1.2 ('sym'; 'inv': 1 / that), the others by 1 + N(0, 0.03). Seeded.
 * Then reconstruct with the depth given and score the mesh's depth at the held-out views against the original:
 *
 *   cp -r ../shared/datasets/7scenes-redkitchen-rgbd /tmp/knoisy
 *   npx tsx bench/kitchen/corrupt-depth.ts /tmp/knoisy 0.25 0.15 sym
 *   npm run reconstruct -- /tmp/knoisy --preset draft --holdout 8 -o /tmp/knoisy.zip
 *   npm run evaluate -- --result /tmp/knoisy.zip --gt ../shared/datasets/7scenes-redkitchen-rgbd
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { decode, encode } from 'fast-png';

const [dir, badArg, keepArg, mode = 'sym'] = process.argv.slice(2);
if (!dir || !['sym', 'inv'].includes(mode)) throw new Error('usage: tsx bench/kitchen/corrupt-depth.ts <capture copy> [bad share 0.25] [kept share 0.15] [sym|inv]');
const badShare = Number(badArg ?? 0.25), keepShare = Number(keepArg ?? 0.15);
let seed = 1;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
let files = 0;
for (const f of readdirSync(dir).filter((name) => name.endsWith('.depth.png'))) {
  const png = decode(readFileSync(`${dir}/${f}`));
  if (png.depth !== 16 || png.channels !== 1) throw new Error(`${f}: not a 16-bit single-channel depth PNG`);
  const W = png.width, H = png.height, B = 8, gw = Math.ceil(W / B), gh = Math.ceil(H / B);
  const factor = Array.from({ length: gw * gh }, () => (rand() < badShare ? (mode === 'sym' ? 0.8 + 0.4 * rand() : 1 / (0.8 + 0.4 * rand())) : 1 + 0.03 * gauss()));
  const keep = Array.from({ length: gw * gh }, () => rand() < keepShare);
  const d = png.data as Uint16Array, out = new Uint16Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const b = Math.floor(y / B) * gw + Math.floor(x / B), v = d[y * W + x];
    out[y * W + x] = v > 0 && v < 65535 && keep[b] ? Math.max(1, Math.min(65534, Math.round(v * factor[b]))) : 0;
  }
  writeFileSync(`${dir}/${f}`, encode({ width: W, height: H, data: out, depth: 16, channels: 1 }));
  files++;
}
console.log(`${files} depth maps rewritten (${badShare} of the kept blocks off by 0.8-1.2x, ${keepShare} of the blocks kept)`);
