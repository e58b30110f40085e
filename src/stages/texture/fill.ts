/**
 * The atlas's texels outside the charts, on the CPU after the GPU blend: unseen surface texels and gutters filled
 * from the charts around them, so that neither bilinear nor mip-mapped sampling pulls in black.
 */
import { throwIfAborted } from '../../core/errors';

/** Fills empty texels from their filled neighbours, `passes` rings outwards (alpha marks filled texels); with `only`,
 * just the texels it marks (and it stops early when a ring fills nothing). */
export function dilateGutters(data: Uint8Array, size: number, passes: number, only?: Uint8Array, signal?: AbortSignal): void {
  const filled = new Uint8Array(size * size);
  for (let i = 0; i < size * size; i++) filled[i] = data[4 * i + 3] > 0 ? 1 : 0;
  // this ring's fills, kept apart so that a texel filled in this pass does not feed its neighbours in the same pass
  const next = new Uint8Array(size * size);
  for (let pass = 0; pass < passes; pass++) {
    // up to 64 passes over 16.7M texels at a 4096 atlas: Cancel is honoured between passes
    throwIfAborted(signal);
    next.set(filled);
    let changed = 0;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const i = y * size + x;
      if (filled[i] || (only && !only[i])) continue;
      let r = 0, g = 0, b = 0, n = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= size || yy >= size || !filled[yy * size + xx]) continue;
        const j = 4 * (yy * size + xx);
        r += data[j];
        g += data[j + 1];
        b += data[j + 2];
        n++;
      }
      if (n) {
        data.set([Math.round(r / n), Math.round(g / n), Math.round(b / n), 255], 4 * i);
        next[i] = 1;
        changed++;
      }
    }
    filled.set(next);
    if (!changed) break;
  }
}

/**
 * Fills every texel still empty (alpha 0) after the gutters with a smooth blend of the charts around it (pull-push:
 * averages of the filled texels over 2x2, 4x4, ... blocks, then each empty texel takes the finest block average that
 * has one). The atlas's empty space then holds the colours of the charts around it instead of black, so the mip
 * levels that three.js and Blender sample a zoomed-out model from do not darken chart borders: a 4-texel gutter
 * covers only the first two levels.
 */
export function fillEmptyTexels(data: Uint8Array, width: number, height: number): void {
  // Level l: sums of colour and counts of filled texels over its blocks (sides ceil-halved).
  const levels: { w: number; h: number; sum: Float32Array; count: Float32Array }[] = [];
  let w = width, h = height;
  let sum = new Float32Array(w * h * 3), count = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) if (data[4 * i + 3] > 0) {
    count[i] = 1;
    for (let c = 0; c < 3; c++) sum[3 * i + c] = data[4 * i + c];
  }
  levels.push({ w, h, sum, count });
  while (w > 1 || h > 1) {
    const nw = Math.ceil(w / 2), nh = Math.ceil(h / 2);
    const nsum = new Float32Array(nw * nh * 3), ncount = new Float32Array(nw * nh);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = y * w + x, j = (y >> 1) * nw + (x >> 1);
      ncount[j] += count[i];
      for (let c = 0; c < 3; c++) nsum[3 * j + c] += sum[3 * i + c];
    }
    levels.push({ w: (w = nw), h: (h = nh), sum: (sum = nsum), count: (count = ncount) });
  }
  // Push: from the coarsest level down, a block with nothing filled takes its parent's average.
  const mean = levels.map((l) => new Float32Array(l.w * l.h * 3));
  for (let l = levels.length - 1; l >= 0; l--) {
    const { w: lw, h: lh, sum: ls, count: lc } = levels[l];
    for (let y = 0; y < lh; y++) for (let x = 0; x < lw; x++) {
      const i = y * lw + x;
      for (let c = 0; c < 3; c++) {
        mean[l][3 * i + c] = lc[i] > 0 ? ls[3 * i + c] / lc[i] : l + 1 < levels.length ? mean[l + 1][3 * ((y >> 1) * levels[l + 1].w + (x >> 1)) + c] : 0;
      }
    }
  }
  for (let i = 0; i < width * height; i++) if (data[4 * i + 3] === 0) {
    for (let c = 0; c < 3; c++) data[4 * i + c] = Math.round(mean[0][3 * i + c]);
    data[4 * i + 3] = 255;
  }
}
