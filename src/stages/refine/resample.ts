/**
 * Resamples a refinement view: `scale` < 1 averages whole pixel blocks (faster steps on slow devices), `scale` > 1
 * upsamples bilinearly, so that several visibility samples fall in each photo pixel and the texture under a pixel's
 * footprint gets gradients from all of them (point samples at pixel centres alone let texels finer than the photo
 * fit noise that other views do not see). K follows with the pixel-centre convention.
 */
import { scaleK } from '../../core/camera';
import type { RefineView } from './problem';

export function resampleView(view: RefineView, scale: number): RefineView {
  if (scale === 1) return view;
  const { width: w, height: h, rgba } = view;
  if (scale < 1) {
    const f = Math.max(1, Math.round(1 / scale));
    const W = Math.floor(w / f), H = Math.floor(h / f);
    const out = new Uint8Array(W * H * 4);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += rgba[4 * ((y * f + dy) * w + x * f + dx) + c];
      out[4 * (y * W + x) + c] = Math.round(s / (f * f));
    }
    return { width: W, height: H, K: scaleK(view.K as never, W / w, H / h), camFromWorld: view.camFromWorld, rgba: out };
  }
  const W = Math.round(w * scale), H = Math.round(h * scale);
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const sx = Math.min(w - 1, Math.max(0, (x + 0.5) * (w / W) - 0.5)), sy = Math.min(h - 1, Math.max(0, (y + 0.5) * (h / H) - 0.5));
    const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1), fx = sx - x0, fy = sy - y0;
    for (let c = 0; c < 4; c++) {
      const a = rgba[4 * (y0 * w + x0) + c] * (1 - fx) + rgba[4 * (y0 * w + x1) + c] * fx;
      const b = rgba[4 * (y1 * w + x0) + c] * (1 - fx) + rgba[4 * (y1 * w + x1) + c] * fx;
      out[4 * (y * W + x) + c] = Math.round(a * (1 - fy) + b * fy);
    }
  }
  return { width: W, height: H, K: scaleK(view.K as never, W / w, H / h), camFromWorld: view.camFromWorld, rgba: out };
}
