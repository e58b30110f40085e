/**
 * How much of a masked held-out PSNR sits in the one-pixel ring just inside the mask (masked pixels with a
 * 4-neighbour outside it), from `npm run evaluate -- ... --dump <dir>` pairs (render | photo side by side).
 * Usage: npx tsx bench/ringError.ts <dump dir> <model prefix, e.g. refine> <masks dir of the capture>
 * (docs/benchmarks.md session 15: on spot without depth the ring is 3.6% of the pixels and ~60% of the error).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';

const [dump, prefix, masks] = process.argv.slice(2);
if (!dump || !prefix || !masks) throw new Error('usage: npx tsx bench/ringError.ts <dump dir> <model prefix> <masks dir>');
let sse = 0, n = 0, ringSse = 0, ringN = 0;
const lum = { render: 0, photo: 0, inside: 0, ring: 0, insideN: 0 };
for (const file of readdirSync(dump).filter((f) => f.startsWith(`${prefix}-`) && !f.startsWith(`${prefix}-render-`)).sort()) {
  const view = file.slice(prefix.length + 1);
  const pair = decode(readFileSync(join(dump, file)));
  const mask = decode(readFileSync(join(masks, view)));
  const W = pair.width / 2, H = pair.height, c = pair.channels, mc = mask.channels;
  if (mask.width !== W || mask.height !== H) throw new Error(`${view}: mask ${mask.width}x${mask.height}, dump ${W}x${H}`);
  const inMask = (x: number, y: number) => x >= 0 && y >= 0 && x < W && y < H && mask.data[(y * W + x) * mc] >= 128;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (!inMask(x, y)) continue;
    const ring = !inMask(x - 1, y) || !inMask(x + 1, y) || !inMask(x, y - 1) || !inMask(x, y + 1);
    let e = 0, r = 0, p = 0;
    for (let k = 0; k < 3; k++) {
      const a = pair.data[(y * pair.width + x) * c + k], b = pair.data[(y * pair.width + x + W) * c + k];
      e += (a - b) ** 2; r += a; p += b;
    }
    sse += e; n += 3;
    if (ring) { ringSse += e; ringN += 3; lum.render += r; lum.photo += p; lum.ring++; } else { lum.inside += p; lum.insideN++; }
  }
}
const psnr = (s: number, m: number) => 10 * Math.log10((255 * 255 * m) / s);
console.log(`${prefix}: ring ${(ringN / n * 100).toFixed(1)}% of the masked pixels, ${(ringSse / sse * 100).toFixed(1)}% of the error; PSNR ${psnr(sse, n).toFixed(2)} dB, without the ring ${psnr(sse - ringSse, n - ringN).toFixed(2)} dB; ring luminance render / photo ${(lum.render / lum.ring).toFixed(1)} / ${(lum.photo / lum.ring).toFixed(1)} (photo inside ${(lum.inside / lum.insideN).toFixed(1)})`);
