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
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const prev = y > 0 ? row - stride : -1;
    let bestScore = Infinity;
    const out = y * (stride + 1);
    for (let filter = 0; filter < 5; filter++) {
      let score = 0;
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? samples[row + x - bpp] : 0;
        const b = prev >= 0 ? samples[prev + x] : 0;
        const c = x >= bpp && prev >= 0 ? samples[prev + x - bpp] : 0;
        const value = samples[row + x];
        let f: number;
        switch (filter) {
          case 0: f = value; break;
          case 1: f = value - a; break;
          case 2: f = value - b; break;
          case 3: f = value - ((a + b) >> 1); break;
          default: {
            const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
            f = value - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          }
        }
        f &= 0xff;
        candidate[x] = f;
        score += f < 128 ? f : 256 - f;
      }
      if (score < bestScore) {
        bestScore = score;
        raw[out] = filter;
        raw.set(candidate, out + 1);
      }
      if (score === 0) break;
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
