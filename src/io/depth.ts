/**
 * Depth maps: 16-bit PNG (fast-png; the browser's decoder would drop to 8 bits), `unitsPerMeter` per metre
 * (1000 = millimetres, as in 7-Scenes and TUM), 0 = missing (65535 too: 7-Scenes' "invalid").
 * A depth map whose size differs from its photo by a clean factor is resampled to the working size (nearest: depth
 * must not be blended across edges); any other mismatch is an error naming both files.
 */
import { decode as decodePng } from 'fast-png';
import type { Mat3 } from '../core/camera';
import { InputError } from '../core/errors';

export interface DepthImage {
  width: number;
  height: number;
  meters: Float32Array;
}

export function decodeDepthPng(bytes: ArrayBuffer, unitsPerMeter: number, fileName: string): DepthImage {
  let png;
  try {
    png = decodePng(new Uint8Array(bytes));
  } catch (error) {
    throw new InputError(`${fileName}: not a readable PNG depth map (${error instanceof Error ? error.message : String(error)})`, fileName);
  }
  if (png.depth !== 16) throw new InputError(`${fileName}: depth maps must be 16-bit PNG; this one is ${png.depth}-bit`, fileName);
  const channels = png.channels;
  const n = png.width * png.height;
  const meters = new Float32Array(n);
  const data = png.data as Uint16Array;
  for (let i = 0; i < n; i++) {
    const raw = data[i * channels];
    meters[i] = raw === 0 || raw === 65535 ? 0 : raw / unitsPerMeter;
  }
  return { width: png.width, height: png.height, meters };
}

/** Is `a` = `b` * k or `b` = `a` * k for a whole or simple-fraction factor the same in both axes? */
export function cleanFactor(aw: number, ah: number, bw: number, bh: number): boolean {
  const sx = aw / bw, sy = ah / bh;
  if (Math.abs(sx - sy) > 1e-9 * Math.max(sx, sy)) return false;
  const s = sx >= 1 ? sx : 1 / sx;
  for (const d of [1, 2, 3, 4]) if (Math.abs(s * d - Math.round(s * d)) < 1e-9) return true;
  return false;
}

/** Nearest-neighbour resample of a per-pixel array (pixel-centre aligned). */
export function resampleNearest<T extends Float32Array | Uint8Array>(src: T, sw: number, sh: number, dw: number, dh: number): T {
  if (sw === dw && sh === dh) return src;
  const out = new (src.constructor as { new (n: number): T })(dw * dh);
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / dh));
    for (let x = 0; x < dw; x++) {
      const sx = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / dw));
      out[y * dw + x] = src[sy * sw + sx];
    }
  }
  return out;
}

/**
 * Downsamples depth by an integer-ish factor taking, per output pixel, the nearest valid sample to the block's
 * centre (never averaging across depth edges); upsamples with nearest.
 */
export function resampleDepth(depth: DepthImage, width: number, height: number): Float32Array {
  if (depth.width <= width) return resampleNearest(depth.meters, depth.width, depth.height, width, height);
  const out = new Float32Array(width * height);
  const fx = depth.width / width, fy = depth.height / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cx = (x + 0.5) * fx, cy = (y + 0.5) * fy;
      let best = 0, bestD = Infinity;
      for (let sy = Math.floor(y * fy); sy < Math.min(depth.height, Math.ceil((y + 1) * fy)); sy++) {
        for (let sx = Math.floor(x * fx); sx < Math.min(depth.width, Math.ceil((x + 1) * fx)); sx++) {
          const v = depth.meters[sy * depth.width + sx];
          if (v <= 0) continue;
          const d = (sx + 0.5 - cx) ** 2 + (sy + 0.5 - cy) ** 2;
          if (d < bestD) {
            bestD = d;
            best = v;
          }
        }
      }
      out[y * width + x] = best;
    }
  }
  return out;
}

/**
 * A depth map seen through other intrinsics from the same camera centre (the depth sensor's K -> the photo's K, both
 * for `depth`'s pixel grid scaled to `width` x `height`): with no translation there is no parallax, so each output
 * pixel takes the nearest depth pixel along its own ray (depth along the optical axis does not change). Pixels whose
 * ray leaves the depth image get 0 (missing).
 */
export function reprojectDepthIntrinsics(depth: DepthImage, depthK: Mat3, photoK: Mat3, width: number, height: number): DepthImage {
  const out = new Float32Array(width * height);
  const [fx, , cx, , fy, cy] = photoK;
  const [dfx, , dcx, , dfy, dcy] = depthK;
  for (let y = 0; y < height; y++) {
    const sy = Math.round(((y - cy) / fy) * dfy + dcy);
    if (sy < 0 || sy >= depth.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = Math.round(((x - cx) / fx) * dfx + dcx);
      if (sx >= 0 && sx < depth.width) out[y * width + x] = depth.meters[sy * depth.width + sx];
    }
  }
  return { ...depth, width, height, meters: out };
}
