/** Synthetic SfM scenes for the geometry tests: cameras on an orbit looking at random points, noisy projections. */
import { lookAt } from '../../src/core/camera';
import { angleAxisToRotation, makeRng } from '../../src/stages/sfm/geometry/linalg';
import type { PairMatches, SfmImage, SfmInput } from '../../src/stages/sfm/types';

/** The same seeded PRNG as the RANSAC code's (mulberry32). */
export const rng = makeRng;

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

export interface SynthOptions {
  nCam: number;
  nPts: number;
  sigma: number;
  /** Fraction of wrong matches added to each pair. */
  outliers: number;
  /** Fraction of observations missing. */
  missing: number;
  focalPriorFactor: number;
  neighbours: number;
  seed: number;
  /** Points on a sphere surface, seen only where the surface faces the camera (cos > this); off: a filled ball. */
  surfaceVisibilityCos?: number;
  /** Focal priors flagged as EXIF (trusted): the calibrated E path. */
  exif?: boolean;
  /** Cameras on an arc of this many degrees instead of a full circle. */
  arcDeg?: number;
  /** All points on a vertical plane through the origin facing the arc's middle camera (a facade). */
  planar?: boolean;
  /** Radial distortion of the lens (COLMAP RADIAL, about the principal point): features are distorted projections. */
  k1?: number;
  k2?: number;
  /**
   * Localisation blunders: this fraction of the true observations is displaced by minPx..maxPx in a random direction
   * (close enough to pass the 4 px filters: what a mislocalised feature or a near-miss match looks like). Drawn from
   * a separate random stream, so the rest of the scene does not change with it.
   */
  blunders?: { fraction: number; minPx: number; maxPx: number };
  /** Orbit radius (default 5: the points fill the middle ~40% of the image; ~2.6 fills it to the corners). */
  orbitRadius?: number;
}

/** Orbit scene -> SfmInput: features = visible projections (some dropped) + clutter, in shuffled order. */
export function synthInput(o: SynthOptions): { input: SfmInput; cams: SynthCamera[] } {
  const r = rng(o.seed), g = gaussian(r), rb = rng(o.seed + 1000);
  const W = 1280, H = 960, f = 1000;
  const cams = orbitCameras(o.nCam, o.orbitRadius ?? 5, f, W, H, r, o.arcDeg ?? 360);
  for (const c of cams) { c.cx = W / 2 - 0.5; c.cy = H / 2 - 0.5; }
  const X = new Float64Array(3 * o.nPts);
  for (let i = 0; i < o.nPts; i++) {
    let x, y, z;
    do { x = r() * 2 - 1; y = r() * 2 - 1; z = r() * 2 - 1; } while (x * x + y * y + z * z > 1);
    if (o.surfaceVisibilityCos !== undefined) { const n = Math.hypot(x, y, z); x /= n; y /= n; z /= n; }
    X[3 * i] = 1.6 * x; X[3 * i + 1] = 1.2 * y; X[3 * i + 2] = 1.6 * z;
    if (o.planar) {
      const mid = (((o.arcDeg ?? 360) / 2) * Math.PI) / 180;
      X[3 * i] = -2 * x * Math.sin(mid); X[3 * i + 2] = 2 * x * Math.cos(mid);
    }
  }
  // featureOf[c][point] = feature index or -1
  const featureOf: Int32Array[] = [];
  const images: SfmImage[] = [];
  for (const c of cams) {
    const list: number[] = [];
    const fo = new Int32Array(o.nPts).fill(-1);
    const pts: number[] = [];
    for (let i = 0; i < o.nPts; i++) {
      if (r() < o.missing) continue;
      if (o.surfaceVisibilityCos !== undefined) {
        // Surface normal of the ellipsoid ~ the point direction; facing test against the camera centre.
        const p = c.pose, cc = [0, 1, 2].map((k) => -(p[k] * p[3] + p[4 + k] * p[7] + p[8 + k] * p[11]));
        const nx = X[3 * i] / 1.6, ny = X[3 * i + 1] / 1.2, nz = X[3 * i + 2] / 1.6;
        const dx = cc[0] - X[3 * i], dy = cc[1] - X[3 * i + 1], dz = cc[2] - X[3 * i + 2];
        if ((nx * dx + ny * dy + nz * dz) / (Math.hypot(nx, ny, nz) * Math.hypot(dx, dy, dz)) < o.surfaceVisibilityCos) continue;
      }
      let [u, v, z] = project(c, X, 3 * i);
      if (o.k1 || o.k2) {
        const xn = (u - c.cx) / c.f, yn = (v - c.cy) / c.f, r2 = xn * xn + yn * yn, d = 1 + (o.k1 ?? 0) * r2 + (o.k2 ?? 0) * r2 * r2;
        u = c.f * d * xn + c.cx; v = c.f * d * yn + c.cy;
      }
      if (z <= 0 || u < 0 || v < 0 || u > W - 1 || v > H - 1) continue;
      list.push(i);
      pts.push(u + o.sigma * g(), v + o.sigma * g());
      if (o.blunders && rb() < o.blunders.fraction) {
        const len = o.blunders.minPx + rb() * (o.blunders.maxPx - o.blunders.minPx), a = rb() * 2 * Math.PI;
        pts[pts.length - 2] += len * Math.cos(a);
        pts[pts.length - 1] += len * Math.sin(a);
      }
    }
    // clutter features
    const clutter = Math.floor(list.length * 0.2);
    for (let k = 0; k < clutter; k++) { list.push(-1); pts.push(r() * (W - 1), r() * (H - 1)); }
    // shuffle
    const perm = list.map((_, k) => k);
    for (let k = perm.length - 1; k > 0; k--) { const j = Math.floor(r() * (k + 1)); [perm[k], perm[j]] = [perm[j], perm[k]]; }
    const shuffled = new Float32Array(pts.length);
    perm.forEach((src, dst) => {
      shuffled[2 * dst] = pts[2 * src]; shuffled[2 * dst + 1] = pts[2 * src + 1];
      if (list[src] >= 0) fo[list[src]] = dst;
    });
    featureOf.push(fo);
    images.push({ width: W, height: H, points: shuffled, focalPrior: f * o.focalPriorFactor, focalFromExif: !!o.exif, cx: c.cx, cy: c.cy });
  }
  const pairs: PairMatches[] = [];
  for (let i = 0; i < o.nCam; i++) for (let d = 1; d <= o.neighbours; d++) {
    const j = (i + d) % o.nCam;
    const a = Math.min(i, j), b = Math.max(i, j);
    const m: number[] = [];
    for (let p = 0; p < o.nPts; p++) if (featureOf[a][p] >= 0 && featureOf[b][p] >= 0) m.push(featureOf[a][p], featureOf[b][p]);
    const good = m.length / 2;
    const bad = Math.round((good * o.outliers) / (1 - o.outliers));
    const na = images[a].points.length / 2, nb = images[b].points.length / 2;
    for (let k = 0; k < bad; k++) m.push(Math.floor(r() * na), Math.floor(r() * nb));
    pairs.push({ i: a, j: b, matches: new Uint32Array(m) });
  }
  return { input: { images, pairs, sharedIntrinsics: true }, cams };
}


/**
 * The input's pairs plus `count` pairs across the orbit (image i with i + count) of 40 random matches each: what most
 * of a large capture's rejected candidate pairs are.
 */
export function withRandomPairs(input: SfmInput, count: number, seed: number): PairMatches[] {
  const r = rng(seed);
  const pairs = [...input.pairs];
  for (let i = 0; i < count; i++) {
    const j = i + count, m: number[] = [];
    const na = input.images[i].points.length / 2, nb = input.images[j].points.length / 2;
    for (let k = 0; k < 40; k++) m.push(Math.floor(r() * na), Math.floor(r() * nb));
    pairs.push({ i, j, matches: new Uint32Array(m) });
  }
  return pairs;
}
