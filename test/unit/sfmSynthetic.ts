/** Synthetic SfM scenes for the geometry tests: cameras on an orbit looking at random points, noisy projections. */
import { lookAt } from '../../src/core/camera';
import { angleAxisToRotation } from '../../src/stages/sfm/geometry/linalg';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export interface SynthCamera { pose: Float64Array; f: number; cx: number; cy: number; width: number; height: number }

/** n cameras on a circle of radius `radius` (plus a little height variation) looking at the origin. */
export function orbitCameras(n: number, radius: number, f: number, width: number, height: number, r: () => number, arcDeg = 360): SynthCamera[] {
  const cams: SynthCamera[] = [];
  for (let i = 0; i < n; i++) {
    const a = ((arcDeg * Math.PI) / 180) * (i / (arcDeg >= 360 ? n : Math.max(1, n - 1)));
    const eye = [radius * Math.cos(a), 0.3 * radius * (r() - 0.5), radius * Math.sin(a)];
    const p = lookAt(eye, [(r() - 0.5) * 0.2, (r() - 0.5) * 0.2, (r() - 0.5) * 0.2], [0, -1, 0]);
    cams.push({ pose: Float64Array.from(p), f, cx: width / 2 - 0.5 + (r() - 0.5) * 4, cy: height / 2 - 0.5 + (r() - 0.5) * 4, width, height });
  }
  return cams;
}

export function project(c: SynthCamera, X: ArrayLike<number>, o = 0): [number, number, number] {
  const p = c.pose;
  const x = p[0] * X[o] + p[1] * X[o + 1] + p[2] * X[o + 2] + p[3];
  const y = p[4] * X[o] + p[5] * X[o + 1] + p[6] * X[o + 2] + p[7];
  const z = p[8] * X[o] + p[9] * X[o + 1] + p[10] * X[o + 2] + p[11];
  return [c.f * x / z + c.cx, c.f * y / z + c.cy, z];
}

export function randomPoints(n: number, extent: number, r: () => number): Float64Array {
  const X = new Float64Array(3 * n);
  for (let i = 0; i < 3 * n; i++) X[i] = (r() * 2 - 1) * extent;
  return X;
}

/** A random rotation + translation pose (12 numbers). */
export function randomPose(r: () => number, rotScale = 0.3, tScale = 1): Float64Array {
  const R = angleAxisToRotation((r() - 0.5) * 2 * rotScale, (r() - 0.5) * 2 * rotScale, (r() - 0.5) * 2 * rotScale);
  return Float64Array.of(R[0], R[1], R[2], (r() - 0.5) * tScale, R[3], R[4], R[5], (r() - 0.5) * tScale, R[6], R[7], R[8], (r() - 0.5) * tScale);
}
