/**
 * CPU reference of the GPU SIFT (sift.wgsl), step for step: same luma box filter, pyramid plan, kernels with
 * replicated borders, extrema tests, refinement, orientation and descriptor (including the fixed-point histogram
 * sums), so the browser tests can compare the two keypoint by keypoint. Images are Float32Array, as on the GPU.
 * Slow (plain loops): for tests and small images.
 */
import type { RgbaImage } from '../../../core/mesh';
import type { ImageFeatures } from '../types';
import {
  DESC_FIXED, gaussianTaps, MAX_ORIENTATIONS, ORI_FIXED, scaleSpacePlan, selectStrongest, SIFT_BORDER, siftSettings,
  type RawKeypoint, type ScaleSpacePlan, type SiftOptions, type SiftSettings,
} from './siftPlan';

const TWO_PI = 2 * Math.PI;
const f32 = Math.fround;

export function lumaCpu(image: RgbaImage, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const inW = image.width, inH = image.height, d = image.data;
  const at = (x: number, y: number) => {
    const i = 4 * (y * inW + x);
    return 0.299 * f32(d[i] / 255) + 0.587 * f32(d[i + 1] / 255) + 0.114 * f32(d[i + 2] / 255);
  };
  if (w > inW) {
    const cl = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const sx = f32(f32((x + 0.5) * f32(inW / w)) - 0.5), sy = f32(f32((y + 0.5) * f32(inH / h)) - 0.5);
      const fx0 = Math.floor(sx), fy0 = Math.floor(sy), ax = sx - fx0, ay = sy - fy0;
      const x0 = cl(fx0, inW - 1), x1 = cl(fx0 + 1, inW - 1), y0 = cl(fy0, inH - 1), y1 = cl(fy0 + 1, inH - 1);
      const top = at(x0, y0) * (1 - ax) + at(x1, y0) * ax, bottom = at(x0, y1) * (1 - ax) + at(x1, y1) * ax;
      out[y * w + x] = top * (1 - ay) + bottom * ay;
    }
    return out;
  }
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * inH) / h), y1 = Math.max(y0 + 1, Math.floor(((y + 1) * inH + h - 1) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * inW) / w), x1 = Math.max(x0 + 1, Math.floor(((x + 1) * inW + w - 1) / w));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += at(xx, yy);
      out[y * w + x] = sum / ((x1 - x0) * (y1 - y0));
    }
  }
  return out;
}

function blurCpu(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  const taps = gaussianTaps(sigma);
  const R = taps.length - 1;
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  const cl = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let sum = taps[0] * src[y * w + x];
    for (let k = 1; k <= R; k++) sum += taps[k] * (src[y * w + cl(x - k, w - 1)] + src[y * w + cl(x + k, w - 1)]);
    tmp[y * w + x] = sum;
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let sum = taps[0] * tmp[y * w + x];
    for (let k = 1; k <= R; k++) sum += taps[k] * (tmp[cl(y - k, h - 1) * w + x] + tmp[cl(y + k, h - 1) * w + x]);
    out[y * w + x] = sum;
  }
  return out;
}

export interface CpuPyramid {
  plan: ScaleSpacePlan;
  /** gauss[o][k], dog[o][k]: one Float32Array per level. */
  gauss: Float32Array[][];
  dog: Float32Array[][];
}

export function buildPyramidCpu(image: RgbaImage, settings: SiftSettings): CpuPyramid {
  const plan = scaleSpacePlan(image.width, image.height, settings);
  const gauss: Float32Array[][] = [], dog: Float32Array[][] = [];
  plan.octaves.forEach((oct, o) => {
    const levels: Float32Array[] = [];
    if (o === 0) levels.push(blurCpu(lumaCpu(image, plan.width, plan.height), oct.width, oct.height, plan.initialSigma));
    else {
      const prev = plan.octaves[o - 1], src = gauss[o - 1][settings.s];
      const base = new Float32Array(oct.width * oct.height);
      for (let y = 0; y < oct.height; y++) for (let x = 0; x < oct.width; x++) base[y * oct.width + x] = src[2 * y * prev.width + 2 * x];
      levels.push(base);
    }
    for (let k = 1; k < plan.levels; k++) levels.push(blurCpu(levels[k - 1], oct.width, oct.height, plan.levelSigmas[k]));
    gauss.push(levels);
    dog.push(levels.slice(1).map((next, k) => Float32Array.from(next, (v, i) => v - levels[k][i])));
  });
  return { plan, gauss, dog };
}

function detectCpu(pyr: CpuPyramid, settings: SiftSettings, threshold: number): Omit<RawKeypoint, 'angle'>[] {
  const out: Omit<RawKeypoint, 'angle'>[] = [];
  const s = settings.s, B = SIFT_BORDER, r = settings.edgeThreshold;
  pyr.plan.octaves.forEach((oct, o) => {
    const w = oct.width, h = oct.height, dog = pyr.dog[o];
    const D = (x: number, y: number, l: number) => dog[l][y * w + x];
    for (let l0 = 1; l0 <= s; l0++) for (let y0 = B; y0 < h - B; y0++) for (let x0 = B; x0 < w - B; x0++) {
      const v = D(x0, y0, l0);
      if (Math.abs(v) <= f32(0.5 * threshold)) continue;
      let isMax = v > 0, isMin = v < 0;
      for (let dl = -1; dl <= 1 && (isMax || isMin); dl++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        if (!dl && !dy && !dx) continue;
        const n = D(x0 + dx, y0 + dy, l0 + dl);
        isMax = isMax && v >= n;
        isMin = isMin && v <= n;
      }
      if (!isMax && !isMin) continue;
      let x = x0, y = y0, l = l0, converged = false, ok = true;
      let g = [0, 0, 0], off = [0, 0, 0];
      for (let it = 0; it < 5; it++) {
        const c = D(x, y, l);
        g = [(D(x + 1, y, l) - D(x - 1, y, l)) * 0.5, (D(x, y + 1, l) - D(x, y - 1, l)) * 0.5, (D(x, y, l + 1) - D(x, y, l - 1)) * 0.5];
        const dxx = D(x + 1, y, l) + D(x - 1, y, l) - 2 * c, dyy = D(x, y + 1, l) + D(x, y - 1, l) - 2 * c, dss = D(x, y, l + 1) + D(x, y, l - 1) - 2 * c;
        const dxy = (D(x + 1, y + 1, l) - D(x - 1, y + 1, l) - D(x + 1, y - 1, l) + D(x - 1, y - 1, l)) * 0.25;
        const dxs = (D(x + 1, y, l + 1) - D(x - 1, y, l + 1) - D(x + 1, y, l - 1) + D(x - 1, y, l - 1)) * 0.25;
        const dys = (D(x, y + 1, l + 1) - D(x, y - 1, l + 1) - D(x, y + 1, l - 1) + D(x, y - 1, l - 1)) * 0.25;
        const det = dxx * (dyy * dss - dys * dys) - dxy * (dxy * dss - dys * dxs) + dxs * (dxy * dys - dyy * dxs);
        if (det === 0) { ok = false; break; }
        off = [
          -(g[0] * (dyy * dss - dys * dys) - dxy * (g[1] * dss - dys * g[2]) + dxs * (g[1] * dys - dyy * g[2])) / det,
          -(dxx * (g[1] * dss - dys * g[2]) - g[0] * (dxy * dss - dys * dxs) + dxs * (dxy * g[2] - g[1] * dxs)) / det,
          -(dxx * (dyy * g[2] - g[1] * dys) - dxy * (dxy * g[2] - g[1] * dxs) + g[0] * (dxy * dys - dyy * dxs)) / det,
        ];
        if (Math.abs(off[0]) < 0.5 && Math.abs(off[1]) < 0.5 && Math.abs(off[2]) < 0.5) { converged = true; break; }
        if (Math.abs(off[0]) > 1e4 || Math.abs(off[1]) > 1e4 || Math.abs(off[2]) > 1e4) { ok = false; break; }
        x += Math.round(off[0]);
        y += Math.round(off[1]);
        l += Math.round(off[2]);
        if (l < 1 || l > s || x < B || y < B || x >= w - B || y >= h - B) { ok = false; break; }
      }
      if (!ok || !converged) continue;
      const response = Math.abs(D(x, y, l) + 0.5 * (g[0] * off[0] + g[1] * off[1] + g[2] * off[2]));
      if (response < f32(threshold)) continue;
      const c = D(x, y, l);
      const dxx = D(x + 1, y, l) + D(x - 1, y, l) - 2 * c, dyy = D(x, y + 1, l) + D(x, y - 1, l) - 2 * c;
      const dxy = (D(x + 1, y + 1, l) - D(x - 1, y + 1, l) - D(x + 1, y - 1, l) + D(x - 1, y - 1, l)) * 0.25;
      const tr = dxx + dyy, det2 = dxx * dyy - dxy * dxy;
      if (det2 <= 0 || tr * tr * r >= (r + 1) * (r + 1) * det2) continue;
      out.push({ octave: o, layer: l, x: x + off[0], y: y + off[1], level: l + off[2], response });
    }
  });
  return out;
}

function orientCpu(pyr: CpuPyramid, settings: SiftSettings, c: Omit<RawKeypoint, 'angle'>): number[] {
  const oct = pyr.plan.octaves[c.octave], w = oct.width, h = oct.height, img = pyr.gauss[c.octave][c.layer];
  const sigmaOct = settings.sigma0 * 2 ** (c.level / settings.s);
  const sig = 1.5 * sigmaOct, radius = Math.round(4.5 * sigmaOct);
  const px = Math.round(c.x), py = Math.round(c.y);
  const hist = new Float64Array(36);
  for (let i = -radius; i <= radius; i++) for (let j = -radius; j <= radius; j++) {
    const x = px + j, y = py + i;
    if (x <= 0 || x >= w - 1 || y <= 0 || y >= h - 1) continue;
    const dx = img[y * w + x + 1] - img[y * w + x - 1], dy = img[(y + 1) * w + x] - img[(y - 1) * w + x];
    const wgt = Math.exp(-(i * i + j * j) / (2 * sig * sig));
    const bin = ((Math.round((36 * Math.atan2(dy, dx)) / TWO_PI) % 36) + 36) % 36;
    hist[bin] += Math.round(wgt * Math.sqrt(dx * dx + dy * dy) * ORI_FIXED);
  }
  const raw = Array.from(hist, (v) => v / ORI_FIXED);
  const sm = raw.map((_, t) => (raw[(t + 34) % 36] + raw[(t + 2) % 36]) / 16 + ((raw[(t + 35) % 36] + raw[(t + 1) % 36]) * 4) / 16 + (raw[t] * 6) / 16);
  const maxv = Math.max(...sm);
  const angles: number[] = [];
  for (let j = 0; j < 36 && angles.length < MAX_ORIENTATIONS; j++) {
    const l = sm[(j + 35) % 36], r = sm[(j + 1) % 36], m = sm[j];
    if (m > l && m > r && m >= 0.8 * maxv) {
      let bin = j + (0.5 * (l - r)) / (l - 2 * m + r);
      if (bin < 0) bin += 36;
      if (bin >= 36) bin -= 36;
      angles.push((bin * TWO_PI) / 36);
    }
  }
  return angles;
}

function describeCpu(pyr: CpuPyramid, settings: SiftSettings, kp: RawKeypoint): Uint8Array {
  const oct = pyr.plan.octaves[kp.octave], w = oct.width, h = oct.height, img = pyr.gauss[kp.octave][kp.layer];
  const sigmaOct = settings.sigma0 * 2 ** (kp.level / settings.s);
  const histW = 3 * sigmaOct;
  const radius = Math.min(Math.round(histW * Math.SQRT2 * 5 * 0.5), Math.floor(Math.sqrt(w * w + h * h)));
  const px = Math.round(kp.x), py = Math.round(kp.y);
  const cosT = Math.cos(kp.angle) / histW, sinT = Math.sin(kp.angle) / histW;
  const hist = new Float64Array(288);
  const add = (r: number, c: number, o: number, v: number) => { hist[((r + 1) * 6 + (c + 1)) * 8 + o] += Math.round(v * DESC_FIXED); };
  for (let i = -radius; i <= radius; i++) for (let j = -radius; j <= radius; j++) {
    const cRot = j * cosT + i * sinT, rRot = -j * sinT + i * cosT;
    const rbin = rRot + 1.5, cbin = cRot + 1.5;
    const x = px + j, y = py + i;
    if (rbin <= -1 || rbin >= 4 || cbin <= -1 || cbin >= 4 || x <= 0 || x >= w - 1 || y <= 0 || y >= h - 1) continue;
    const dx = img[y * w + x + 1] - img[y * w + x - 1], dy = img[(y + 1) * w + x] - img[(y - 1) * w + x];
    const mag = Math.sqrt(dx * dx + dy * dy) * Math.exp(-(cRot * cRot + rRot * rRot) / 8);
    const obin = (Math.atan2(dy, dx) - kp.angle) * (8 / TWO_PI);
    const r0 = Math.floor(rbin), c0 = Math.floor(cbin), o0 = Math.floor(obin);
    const fr = rbin - r0, fc = cbin - c0, fo = obin - o0;
    const oa = ((o0 % 8) + 8) % 8, ob = (oa + 1) % 8;
    const v1 = mag * fr, v0 = mag - v1, v11 = v1 * fc, v10 = v1 - v11, v01 = v0 * fc, v00 = v0 - v01;
    add(r0, c0, oa, v00 * (1 - fo)); add(r0, c0, ob, v00 * fo);
    add(r0, c0 + 1, oa, v01 * (1 - fo)); add(r0, c0 + 1, ob, v01 * fo);
    add(r0 + 1, c0, oa, v10 * (1 - fo)); add(r0 + 1, c0, ob, v10 * fo);
    add(r0 + 1, c0 + 1, oa, v11 * (1 - fo)); add(r0 + 1, c0 + 1, ob, v11 * fo);
  }
  const v = new Float64Array(128);
  let n2 = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let b = 0; b < 8; b++) {
    const val = hist[((i + 1) * 6 + (j + 1)) * 8 + b] / DESC_FIXED;
    v[(i * 4 + j) * 8 + b] = val;
    n2 += val * val;
  }
  const thr = 0.2 * Math.sqrt(n2);
  let l1 = 0;
  for (let k = 0; k < 128; k++) { v[k] = Math.min(v[k], thr); l1 += v[k]; }
  const inv = l1 > 0 ? 1 / l1 : 0;
  return Uint8Array.from(v, (x) => Math.min(255, Math.round(512 * Math.sqrt(x * inv))));
}

/** All oriented keypoints with their descriptors, before selection (what the GPU reads back). */
export function siftRawCpu(image: RgbaImage, options: SiftOptions = {}): { plan: ScaleSpacePlan; keypoints: RawKeypoint[]; descriptors: Uint8Array } {
  const settings = siftSettings(options);
  const pyr = buildPyramidCpu(image, settings);
  const keypoints: RawKeypoint[] = [];
  for (const c of detectCpu(pyr, settings, settings.contrastThreshold / settings.s)) {
    for (const angle of orientCpu(pyr, settings, c)) keypoints.push({ ...c, angle });
  }
  const descriptors = new Uint8Array(keypoints.length * 128);
  keypoints.forEach((k, i) => descriptors.set(describeCpu(pyr, settings, k), 128 * i));
  return { plan: pyr.plan, keypoints, descriptors };
}

/** The CPU counterpart of extractFeatures for one image (no overflow retries: it has no buffers to overflow). */
export function extractFeaturesCpu(image: RgbaImage, options: SiftOptions = {}): ImageFeatures {
  const settings = siftSettings(options);
  const raw = siftRawCpu(image, options);
  return selectStrongest(raw.keypoints, raw.descriptors, raw.plan, settings);
}
