/**
 * Undistortion after SfM: the stages downstream (depth, fusion, texture, evaluation) project with a pinhole K, so the
 * photos of views whose radial distortion SfM estimated are resampled into the pinhole image of the same K (principal
 * point and focal unchanged): output pixel p -> normalised x = K^-1 p -> distorted x d(|x|^2) -> source pixel
 * (bilinear). Same K keeps every resolution's K a plain scale of the working K. Where the distorted position falls
 * outside the photo (corners, for barrel distortion) the nearest edge pixel is repeated: a border of a few pixels at
 * the distortion of a phone lens, and alpha (the object mask of RGBA captures) comes from the same resampling.
 *
 * CPU path: one pass over the output pixels with a per-pixel polynomial and a bilinear fetch, ~20-40 ms per
 * megapixel in a worker; the photos are already in CPU memory here (CaptureView.image) and the texture stage decodes
 * its originals on the CPU too, so a GPU round trip would not pay for itself at these sizes.
 */
import { scaleK, type Distortion, type Mat3 } from '../../core/camera';
import type { CaptureView } from '../../core/capture';
import type { RgbaImage } from '../../core/mesh';

/** Source pixel of pinhole pixel (u, v) under radial distortion k1, k2 about K's principal point. */
function sourcePixel(K: Mat3, k1: number, k2: number, u: number, v: number): [number, number] {
  const x = (u - K[2]) / K[0], y = (v - K[5]) / K[4], r2 = x * x + y * y;
  const d = 1 + k1 * r2 + k2 * r2 * r2;
  return [K[0] * d * x + K[2], K[4] * d * y + K[5]];
}

/** The pinhole image (same size, same K) of an RGBA photo with radial distortion k1, k2. */
export function undistortRgba(image: RgbaImage, K: Mat3, k1: number, k2: number): RgbaImage {
  const { width: w, height: h, data: src } = image;
  const out = new Uint8Array(w * h * 4);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      let [sx, sy] = sourcePixel(K, k1, k2, u, v);
      sx = Math.min(w - 1, Math.max(0, sx)); sy = Math.min(h - 1, Math.max(0, sy));
      const x0 = Math.min(w - 2, Math.floor(sx)), y0 = Math.min(h - 2, Math.floor(sy));
      const ax = sx - x0, ay = sy - y0;
      const i00 = 4 * (y0 * w + x0), i10 = i00 + 4, i01 = i00 + 4 * w, i11 = i01 + 4;
      const o = 4 * (v * w + u);
      for (let c = 0; c < 4; c++) {
        const top = src[i00 + c] + (src[i10 + c] - src[i00 + c]) * ax, bottom = src[i01 + c] + (src[i11 + c] - src[i01 + c]) * ax;
        out[o + c] = Math.round(top + (bottom - top) * ay);
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** Nearest-neighbour resampling of a per-pixel array (mask, depth) with the same mapping. */
export function undistortNearest<T extends Uint8Array | Float32Array>(values: T, w: number, h: number, K: Mat3, k1: number, k2: number): T {
  const out = new (values.constructor as new (n: number) => T)(w * h);
  for (let v = 0; v < h; v++) for (let u = 0; u < w; u++) {
    const [sx, sy] = sourcePixel(K, k1, k2, u, v);
    const x = Math.min(w - 1, Math.max(0, Math.round(sx))), y = Math.min(h - 1, Math.max(0, Math.round(sy)));
    out[v * w + u] = values[y * w + x];
  }
  return out;
}

/** True when the distortion is large enough to move some pixel of a w x h image by more than `tolPx` (0.05 px). */
export function distortionMatters(K: Mat3, w: number, h: number, k1: number, k2: number, tolPx = 0.05): boolean {
  let worst = 0;
  for (const [u, v] of [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]) {
    const [sx, sy] = sourcePixel(K, k1, k2, u, v);
    worst = Math.max(worst, Math.hypot(sx - u, sy - v));
  }
  return worst > tolPx;
}

/**
 * Undistorts the working image (and mask, depth) of a view SfM gave a radial distortion, in place; view.distortion
 * then describes the view's original photo (source), and pinholeOfOriginal applies the same resampling to any later
 * decode of it. Returns false when the distortion is negligible (nothing resampled, distortion left null).
 */
export function undistortView(view: CaptureView, k1: number, k2: number): boolean {
  if (!distortionMatters(view.K, view.width, view.height, k1, k2)) return false;
  view.image = undistortRgba(view.image, view.K, k1, k2);
  if (view.mask) view.mask = undistortNearest(view.mask, view.width, view.height, view.K, k1, k2);
  if (view.depthMeters) view.depthMeters = undistortNearest(view.depthMeters, view.width, view.height, view.K, k1, k2);
  view.distortion = { model: 'radial', k1, k2 } satisfies Distortion;
  return true;
}

/**
 * A decode of the view's original photo (any size, same aspect) as the pinhole image its K describes: resampled when
 * SfM undistorted the working image (intrinsicsSource 'sfm' with a distortion), unchanged otherwise.
 */
export function pinholeOfOriginal(view: CaptureView, image: RgbaImage): RgbaImage {
  const d = view.distortion;
  if (view.intrinsicsSource !== 'sfm' || !d || d.model !== 'radial') return image;
  return undistortRgba(image, scaleK(view.K, image.width / view.width, image.height / view.height), d.k1, d.k2);
}
