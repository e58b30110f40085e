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
