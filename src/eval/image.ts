/** Image metrics over RGBA8 images, optionally inside a mask: PSNR (dB, RGB) and SSIM (luma, Gaussian 11x11, σ 1.5). */

export function psnr(a: Uint8Array, b: Uint8Array, mask?: Uint8Array | null): number {
  let sum = 0, count = 0;
  for (let i = 0; i < a.length / 4; i++) {
    if (mask && mask[i] === 0) continue;
    for (let c = 0; c < 3; c++) sum += (a[4 * i + c] - b[4 * i + c]) ** 2;
    count += 3;
  }
  if (count === 0) return NaN;
  const mse = sum / count;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

function luma(img: Uint8Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * img[4 * i] + 0.587 * img[4 * i + 1] + 0.114 * img[4 * i + 2];
  return out;
}

function blur(src: Float64Array, w: number, h: number, kernel: number[]): Float64Array {
  const r = (kernel.length - 1) / 2;
  const tmp = new Float64Array(w * h), out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let s = 0, ws = 0;
    for (let k = -r; k <= r; k++) {
      const xx = x + k;
      if (xx < 0 || xx >= w) continue;
      s += kernel[k + r] * src[y * w + xx];
      ws += kernel[k + r];
    }
    tmp[y * w + x] = s / ws;
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let s = 0, ws = 0;
    for (let k = -r; k <= r; k++) {
      const yy = y + k;
      if (yy < 0 || yy >= h) continue;
      s += kernel[k + r] * tmp[yy * w + x];
      ws += kernel[k + r];
    }
    out[y * w + x] = s / ws;
  }
  return out;
}

/** Mean SSIM (Wang et al. 2004) over the pixels inside the mask. */
export function ssim(a: Uint8Array, b: Uint8Array, width: number, height: number, mask?: Uint8Array | null): number {
  const n = width * height;
  const kernel = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const x = luma(a, n), y = luma(b, n);
  const xx = x.map((v) => v * v), yy = y.map((v) => v * v), xy = x.map((v, i) => v * y[i]);
  const mx = blur(x, width, height, kernel), my = blur(y, width, height, kernel);
  const sxx = blur(xx, width, height, kernel), syy = blur(yy, width, height, kernel), sxy = blur(xy, width, height, kernel);
  const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
  let sum = 0, count = 0;
  for (let i = 0; i < n; i++) {
    if (mask && mask[i] === 0) continue;
    const vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i];
    sum += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) / ((mx[i] ** 2 + my[i] ** 2 + C1) * (vx + vy + C2));
    count++;
  }
  return count ? sum / count : NaN;
}

/**
 * Where a masked PSNR loses its error: each scored pixel (inside the ground-truth mask) falls in exactly one class,
 * and each class's share of the summed squared error is reported, so "6 dB lost" can be split into geometry
 * (silhouette, holes) and texture (colour where the mesh is right).
 * - outline: within `band` px (Chebyshev) of the mask's outline, whatever was rendered: 1-2 px misplacements of
 *   the silhouette and antialiasing land here.
 * - miss: elsewhere, where the mesh does not render at all (rendered alpha 0): missing geometry (thin parts, holes).
 * - meshEdge: covered, but within `band` px of a pixel the mesh does not cover: the mesh's own outline lies inside
 *   the object (a part too thin, an edge eaten).
 * - interior: the rest, split into the error of the images blurred by a box of 2·`lowRadius`+1 px (interiorLow:
 *   exposure, wrong colour over an area, a part at the wrong place) and what remains (interiorHigh: blur, detail
 *   off by a few pixels). interiorLow + interiorHigh is not exactly interior (the cross term), so both are shares
 *   of the interior's own error.
 * spillPixels counts rendered pixels outside the mask: they cost nothing in a masked PSNR.
 * The PSNR each class would leave if its error were zero (psnrWithout) says what fixing it is worth.
 */
export interface ErrorBreakdown {
  pixels: number;
  psnr: number;
  classes: Record<'outline' | 'miss' | 'meshEdge' | 'interior', { pixels: number; sse: number; share: number; psnrWithout: number }>;
  interiorLowShare: number;
  interiorHighShare: number;
  spillPixels: number;
}

export function errorBreakdown(rendered: Uint8Array, truth: Uint8Array, mask: Uint8Array, width: number, height: number, band = 2, lowRadius = 4): ErrorBreakdown {
  const n = width * height;
  // Distance class by dilation with a (2·band+1)² square: near the mask outline / near an uncovered pixel.
  const nearOf = (outside: (i: number) => boolean): Uint8Array => {
    const rows = new Uint8Array(n), out = new Uint8Array(n);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      let hit = 0;
      for (let k = Math.max(0, x - band); k <= Math.min(width - 1, x + band) && !hit; k++) if (outside(y * width + k)) hit = 1;
      rows[y * width + x] = hit;
    }
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      let hit = 0;
      for (let k = Math.max(0, y - band); k <= Math.min(height - 1, y + band) && !hit; k++) if (rows[k * width + x]) hit = 1;
      out[y * width + x] = hit;
    }
    return out;
  };
  const nearOutline = nearOf((i) => mask[i] === 0);
  const nearUncovered = nearOf((i) => rendered[4 * i + 3] === 0);
  const boxBlur = (img: Uint8Array, c: number): Float64Array => {
    const src = new Float64Array(n);
    for (let i = 0; i < n; i++) src[i] = img[4 * i + c];
    const kernel = new Array(2 * lowRadius + 1).fill(1);
    return blur(src, width, height, kernel);
  };
  const lowR = [0, 1, 2].map((c) => boxBlur(rendered, c)), lowT = [0, 1, 2].map((c) => boxBlur(truth, c));
  const zero = () => ({ pixels: 0, sse: 0, share: 0, psnrWithout: 0 });
  const classes = { outline: zero(), miss: zero(), meshEdge: zero(), interior: zero() };
  let total = 0, pixels = 0, spillPixels = 0, lowSse = 0, highSse = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 0) {
      if (rendered[4 * i + 3] > 0) spillPixels++;
      continue;
    }
    let e = 0;
    for (let c = 0; c < 3; c++) e += (rendered[4 * i + c] - truth[4 * i + c]) ** 2;
    const cls = nearOutline[i] ? classes.outline : rendered[4 * i + 3] === 0 ? classes.miss : nearUncovered[i] ? classes.meshEdge : classes.interior;
    cls.pixels++;
    cls.sse += e;
    if (cls === classes.interior) {
      for (let c = 0; c < 3; c++) {
        const dl = lowR[c][i] - lowT[c][i];
        lowSse += dl * dl;
        highSse += (rendered[4 * i + c] - truth[4 * i + c] - dl) ** 2;
      }
    }
    total += e;
    pixels++;
  }
  const toPsnr = (sse: number) => (sse <= 0 ? Infinity : 10 * Math.log10((255 * 255 * 3 * pixels) / sse));
  for (const cls of Object.values(classes)) {
    cls.share = total > 0 ? cls.sse / total : 0;
    cls.psnrWithout = toPsnr(total - cls.sse);
  }
  return {
    pixels,
    psnr: toPsnr(total),
    classes,
    interiorLowShare: classes.interior.sse > 0 ? lowSse / classes.interior.sse : 0,
    interiorHighShare: classes.interior.sse > 0 ? highSse / classes.interior.sse : 0,
    spillPixels,
  };
}
