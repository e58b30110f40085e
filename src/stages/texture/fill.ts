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
 * Fills every texel still empty (alpha 0) after the gutters with the colour of the nearest chart texel (nearest by
 * two raster passes that hand each texel its neighbours' nearest source, the usual chamfer propagation; exact enough
 * for a fill) and makes the atlas opaque. The empty space then continues each chart's border colours instead of
 * black:
 * - with 4x MSAA, a pixel that a triangle covers only partly is shaded at the pixel centre, outside the triangle, and
 *   its extrapolated uv can land beyond the 4-texel gutter (the atlas holds 2-4 texels per photo pixel);
 * - the mip levels that three.js and Blender sample a zoomed-out model from average the gutters away after two levels.
 * Spot with its depth maps, held-out PSNR (docs/benchmarks.md, session 9): black 29.35 dB, a pull-push average of the
 * charts around 30.14 dB, the nearest chart texel 30.43 dB.
 */
export function fillEmptyTexels(data: Uint8Array, width: number, height: number): void {
  const n = width * height;
  // Nearest filled texel found so far (-1: none) and its squared distance (integer; at most 2 x 16384^2 < 2^31).
  const source = new Int32Array(n).fill(-1);
  const dist2 = new Int32Array(n).fill(0x7fffffff);
  for (let i = 0; i < n; i++) if (data[4 * i + 3] > 0) {
    source[i] = i;
    dist2[i] = 0;
  }
  const offer = (i: number, x: number, y: number, j: number) => {
    const s = source[j];
    if (s < 0) return;
    const dx = x - (s % width), dy = y - Math.floor(s / width);
    const d = dx * dx + dy * dy;
    if (d < dist2[i]) {
      dist2[i] = d;
      source[i] = s;
    }
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = y * width + x;
    if (x > 0) offer(i, x, y, i - 1);
    if (y > 0) {
      offer(i, x, y, i - width);
      if (x > 0) offer(i, x, y, i - width - 1);
      if (x < width - 1) offer(i, x, y, i - width + 1);
    }
  }
  for (let y = height - 1; y >= 0; y--) for (let x = width - 1; x >= 0; x--) {
    const i = y * width + x;
    if (x < width - 1) offer(i, x, y, i + 1);
    if (y < height - 1) {
      offer(i, x, y, i + width);
      if (x < width - 1) offer(i, x, y, i + width + 1);
      if (x > 0) offer(i, x, y, i + width - 1);
    }
  }
  for (let i = 0; i < n; i++) {
    if (data[4 * i + 3] === 0 && source[i] >= 0) {
      const from = 4 * source[i];
      data[4 * i] = data[from];
      data[4 * i + 1] = data[from + 1];
      data[4 * i + 2] = data[from + 2];
    }
    data[4 * i + 3] = 255;
  }
}
