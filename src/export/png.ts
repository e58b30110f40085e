/**
 * PNG encoder for RGBA8 / RGB8 / 16-bit grey images, runnable in a worker and in Node (no canvas): per-row filter
 * chosen by the minimum-sum-of-absolute-differences heuristic, zlib via fflate.
 */
import { zlibSync } from 'fflate';
import type { RgbaImage } from '../core/mesh';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface PngInput {
  width: number;
  height: number;
  /** Row-major samples, top row first. Uint16Array for 16-bit (written big-endian). */
  data: Uint8Array | Uint16Array;
  channels: 1 | 2 | 3 | 4;
}

/** Compression level 0..9 (fflate); 6 is a good default, 1 is fast. */
export function encodePng(image: PngInput, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  const { width, height, channels } = image;
  const bitDepth = image.data instanceof Uint16Array ? 16 : 8;
  const bpp = channels * (bitDepth / 8);
  const stride = width * bpp;
  if (image.data.length !== width * height * channels) {
    throw new Error(`png: data has ${image.data.length} samples, expected ${width}x${height}x${channels}`);
  }
  let samples: Uint8Array;
  if (bitDepth === 16) {
    const src = image.data as Uint16Array;
    samples = new Uint8Array(src.length * 2);
    for (let i = 0; i < src.length; i++) {
      samples[2 * i] = src[i] >> 8;
      samples[2 * i + 1] = src[i] & 0xff;
    }
  } else {
    samples = image.data as Uint8Array;
  }
  const raw = new Uint8Array((stride + 1) * height);
  const zeros = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const cur = samples.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? samples.subarray((y - 1) * stride, y * stride) : zeros;
    // One pass scores all five filters (sum of |residual| as signed bytes), a second writes the best.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (let x = 0; x < stride; x++) {
      const value = cur[x];
      const a = x >= bpp ? cur[x - bpp] : 0;
      const b = up[x];
      const c = x >= bpp ? up[x - bpp] : 0;
      const pa = b > c ? b - c : c - b, pb = a > c ? a - c : c - a, pcs = a + b - 2 * c, pc = pcs < 0 ? -pcs : pcs;
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      let r = value; s0 += r < 128 ? r : 256 - r;
      r = (value - a) & 255; s1 += r < 128 ? r : 256 - r;
      r = (value - b) & 255; s2 += r < 128 ? r : 256 - r;
      r = (value - ((a + b) >> 1)) & 255; s3 += r < 128 ? r : 256 - r;
      r = (value - pred) & 255; s4 += r < 128 ? r : 256 - r;
    }
    let filter = 0, best = s0;
    if (s1 < best) { best = s1; filter = 1; }
    if (s2 < best) { best = s2; filter = 2; }
    if (s3 < best) { best = s3; filter = 3; }
    if (s4 < best) { best = s4; filter = 4; }
    const o = y * (stride + 1);
    raw[o] = filter;
    const dst = raw.subarray(o + 1, o + 1 + stride);
    switch (filter) {
      case 0: dst.set(cur); break;
      case 1: for (let x = 0; x < stride; x++) dst[x] = cur[x] - (x >= bpp ? cur[x - bpp] : 0); break;
      case 2: for (let x = 0; x < stride; x++) dst[x] = cur[x] - up[x]; break;
      case 3: for (let x = 0; x < stride; x++) dst[x] = cur[x] - (((x >= bpp ? cur[x - bpp] : 0) + up[x]) >> 1); break;
      default:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? cur[x - bpp] : 0, b = up[x], c = x >= bpp ? up[x - bpp] : 0;
          const pa = b > c ? b - c : c - b, pb = a > c ? a - c : c - a, pcs = a + b - 2 * c, pc = pcs < 0 ? -pcs : pcs;
          dst[x] = cur[x] - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
    }
  }
  const idat = zlibSync(raw, { level });
  const colorType = channels === 1 ? 0 : channels === 2 ? 4 : channels === 3 ? 2 : 6;
  const ihdr = new Uint8Array(13);
  const ihdrView = new DataView(ihdr.buffer);
  ihdrView.setUint32(0, width);
  ihdrView.setUint32(4, height);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const chunks: [string, Uint8Array][] = [['IHDR', ihdr], ['IDAT', idat], ['IEND', new Uint8Array(0)]];
  const total = 8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0);
  const png = new Uint8Array(total);
  png.set([137, 80, 78, 71, 13, 10, 26, 10], 0);
  const view = new DataView(png.buffer);
  let p = 8;
  for (const [type, data] of chunks) {
    view.setUint32(p, data.length);
    for (let i = 0; i < 4; i++) png[p + 4 + i] = type.charCodeAt(i);
    png.set(data, p + 8);
    view.setUint32(p + 8 + data.length, crc32(png, p + 4, p + 8 + data.length));
    p += 12 + data.length;
  }
  return png;
}

export function encodeRgbaPng(image: RgbaImage, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return encodePng({ width: image.width, height: image.height, data: image.data, channels: 4 }, level);
}
