/**
 * The SIFT pipeline's parameters and the scale-space plan shared by the GPU path (siftGpu.ts + sift.wgsl) and the CPU
 * reference (siftCpu.ts): both must build exactly the same pyramid, so every size, sigma and kernel comes from here.
 *
 * Conventions (Lowe 2004 / OpenCV, without the 2x upsampled first octave): luma in [0, 1]; the input is assumed to
 * carry a blur of 0.5 px; octave o has (s + 3) Gaussian levels with sigma_k = sigma0 * 2^(k / s) (octave pixels) and
 * s + 2 DoG levels; octave o + 1 starts from level s of octave o, subsampled by 2 (pixel i -> pixel 2i).
 * Keypoints come out in the pixels of the image given (centre of the top-left pixel = (0, 0)); orientation is the
 * angle of the dominant gradient, atan2(dy, dx) with y pointing down, in [0, 2 pi).
 */

import type { ImageFeatures } from '../types';

export interface SiftOptions {
  /** Keep the strongest N keypoints (by |DoG| response). Default 4000. */
  maxFeatures?: number;
  /** Detection runs on the image downscaled (box filter) to at most this long side. Default 1600. */
  maxLongSide?: number;
  /** Scales per octave (s). Default 3. */
  levelsPerOctave?: number;
  /** Contrast threshold on |D(x)| for images in [0, 1], divided by s as in OpenCV / COLMAP. Default 0.02 (COLMAP's
   * peak threshold; Lowe's 0.04 leaves too few features on low-contrast captures such as temple-sparse). */
  contrastThreshold?: number;
  /** Hessian ratio r for edge rejection. Default 10. */
  edgeThreshold?: number;
  /** Base blur of each octave. Default 1.6. */
  sigma0?: number;
  /** Most octaves. Default 8. */
  maxOctaves?: number;
  /**
   * Detect on the image upsampled 2x (bilinear; COLMAP's first_octave = -1), which finds the fine-scale features
   * that small images need. 'auto' (default): when the detection size's long side is at most 1000 px, so that the
   * downscaled 12 MP working images (1600) never pay for it.
   */
  upsample?: boolean | 'auto';
  /**
   * Separable blur through workgroup-memory tiles (true) or direct global reads (false). Default: tiles, except on
   * CPU fallback adapters (SwiftShader), where barriers are very slow. Both give the same numbers.
   */
  tiledBlur?: boolean;
}

export interface SiftSettings {
  maxFeatures: number;
  maxLongSide: number;
  s: number;
  contrastThreshold: number;
  edgeThreshold: number;
  sigma0: number;
  maxOctaves: number;
  upsample: boolean | 'auto';
}

export function siftSettings(options: SiftOptions = {}): SiftSettings {
  return {
    maxFeatures: options.maxFeatures ?? 4000,
    maxLongSide: options.maxLongSide ?? 1600,
    s: options.levelsPerOctave ?? 3,
    contrastThreshold: options.contrastThreshold ?? 0.02,
    edgeThreshold: options.edgeThreshold ?? 10,
    sigma0: options.sigma0 ?? 1.6,
    maxOctaves: options.maxOctaves ?? 8,
    upsample: options.upsample ?? 'auto',
  };
}

/** Pixels kept free at the border of every octave (no extrema there: the descriptor window needs room). */
export const SIFT_BORDER = 5;
/** Largest blur kernel radius the WGSL blur handles (its weight array holds RADIUS_MAX + 1 taps). */
export const RADIUS_MAX = 15;
/** Orientation peaks kept per extremum (the main one plus those >= 0.8 of it). */
export const MAX_ORIENTATIONS = 4;
/** Histogram fixed point: integer atomics make the GPU sums independent of thread order (deterministic). */
export const ORI_FIXED = 1 << 20;
export const DESC_FIXED = 1 << 18;

export interface OctavePlan {
  width: number;
  height: number;
  /** Float offsets of level 0 of this octave in the Gaussian and DoG buffers. */
  gaussOffset: number;
  dogOffset: number;
}

export interface ScaleSpacePlan {
  /**
   * Size of octave 0 (the input downscaled to maxLongSide, or twice that when upsampled), and the input's size.
   * Octave-0 pixel p maps to input pixel (p + 0.5) * inputWidth / width - 0.5.
   */
  width: number;
  height: number;
  inputWidth: number;
  inputHeight: number;
  octaves: OctavePlan[];
  levels: number;
  gaussFloats: number;
  dogFloats: number;
  /** Blur applied to make level k from level k-1 (k >= 1), and for level 0 of octave 0 (from the 0.5 px input). */
  levelSigmas: number[];
  initialSigma: number;
}

export function detectionSize(width: number, height: number, maxLongSide: number): [number, number] {
  const scale = Math.min(1, maxLongSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

export function scaleSpacePlan(inputWidth: number, inputHeight: number, settings: SiftSettings): ScaleSpacePlan {
  const [dw, dh] = detectionSize(inputWidth, inputHeight, settings.maxLongSide);
  const upsampled = settings.upsample === 'auto' ? Math.max(dw, dh) <= 1000 : settings.upsample;
  const width = upsampled ? 2 * dw : dw, height = upsampled ? 2 * dh : dh;
  const levels = settings.s + 3;
  // Octaves while the octave still has room for an extremum away from the border (>= 2 * border + 6 pixels).
  const octaves: OctavePlan[] = [];
  let w = width, h = height, gaussFloats = 0, dogFloats = 0;
  while (octaves.length < settings.maxOctaves && Math.min(w, h) >= 2 * SIFT_BORDER + 6) {
    octaves.push({ width: w, height: h, gaussOffset: gaussFloats, dogOffset: dogFloats });
    gaussFloats += levels * w * h;
    dogFloats += (levels - 1) * w * h;
    w = Math.ceil(w / 2);
    h = Math.ceil(h / 2);
  }
  const s = settings.s, sigma0 = settings.sigma0;
  const levelSigmas = [0];
  for (let k = 1; k < levels; k++) {
    const prev = sigma0 * 2 ** ((k - 1) / s), next = sigma0 * 2 ** (k / s);
    levelSigmas.push(Math.sqrt(next * next - prev * prev));
  }
  // The input is assumed to carry a blur of 0.5 px: 1 px of the 2x upsampled image.
  const inputBlur = upsampled ? 1 : 0.5;
  return { width, height, inputWidth, inputHeight, octaves, levels, gaussFloats, dogFloats, levelSigmas, initialSigma: Math.sqrt(Math.max(0.01, sigma0 * sigma0 - inputBlur * inputBlur)) };
}

/** Normalised half kernel (taps 0..radius) of a Gaussian; radius = ceil(4 sigma), at most RADIUS_MAX. */
export function gaussianTaps(sigma: number): Float32Array {
  const radius = Math.min(RADIUS_MAX, Math.max(1, Math.ceil(4 * sigma)));
  const taps = new Float64Array(radius + 1);
  let sum = 0;
  for (let i = 0; i <= radius; i++) {
    taps[i] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += i === 0 ? taps[i] : 2 * taps[i];
  }
  return Float32Array.from(taps, (t) => t / sum);
}

/** Candidate / keypoint buffer capacities for an image of this size (generous: the strongest are chosen after). */
export function candidateCapacity(plan: ScaleSpacePlan): number {
  // At most 65535: orientation and descriptor passes dispatch one workgroup per entry along x (indirect).
  return Math.min(65535, Math.max(1024, Math.ceil((plan.width * plan.height) / 40)));
}

/**
 * One detected, oriented keypoint before selection, in octave coordinates (what both implementations produce), and
 * the map to the input image.
 */
export interface RawKeypoint {
  octave: number;
  /** Integer level of the extremum after refinement (1..s): the Gaussian level orientation and descriptor sample. */
  layer: number;
  /** Refined position (octave pixels) and continuous level. */
  x: number;
  y: number;
  level: number;
  /** |D| at the refined extremum. */
  response: number;
  angle: number;
}

/** Sigma (octave pixels) of a keypoint at continuous level `level`. */
export function octaveSigma(settings: SiftSettings, level: number): number {
  return settings.sigma0 * 2 ** (level / settings.s);
}

/** Position and scale in input-image pixels. */
export function toInputFrame(plan: ScaleSpacePlan, settings: SiftSettings, k: RawKeypoint): [number, number, number] {
  const f = 2 ** k.octave;
  const sx = plan.inputWidth / plan.width, sy = plan.inputHeight / plan.height;
  const x0 = k.x * f, y0 = k.y * f;
  return [(x0 + 0.5) * sx - 0.5, (y0 + 0.5) * sy - 0.5, octaveSigma(settings, k.level) * f * Math.sqrt(sx * sy)];
}

/** Deterministic ranking: strongest first, then position, so the result never depends on GPU atomic order. */
export function compareRaw(a: RawKeypoint, b: RawKeypoint): number {
  return b.response - a.response || a.octave - b.octave || a.y - b.y || a.x - b.x || a.angle - b.angle;
}

/** Ranks keypoints deterministically and keeps the strongest N (in input-image pixels). */
export function selectStrongest(keypoints: RawKeypoint[], descriptors: Uint8Array, plan: ScaleSpacePlan, settings: SiftSettings): ImageFeatures {
  const order = keypoints.map((_, i) => i).sort((a, b) => compareRaw(keypoints[a], keypoints[b]));
  const count = Math.min(settings.maxFeatures, order.length);
  const kp = new Float32Array(4 * count), desc = new Uint8Array(128 * count);
  for (let r = 0; r < count; r++) {
    const k = keypoints[order[r]];
    const [x, y, sigma] = toInputFrame(plan, settings, k);
    kp.set([x, y, sigma, k.angle], 4 * r);
    desc.set(descriptors.subarray(128 * order[r], 128 * order[r] + 128), 128 * r);
  }
  return { width: plan.inputWidth, height: plan.inputHeight, count, keypoints: kp, descriptors: desc };
}
