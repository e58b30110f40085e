import { describe, expect, it } from 'vitest';
import { scoreCameras, type CameraPair } from '../../src/eval/cameras';
import { reconstructIncremental } from '../../src/stages/sfm/incremental';
import type { PairMatches, SfmImage, SfmInput } from '../../src/stages/sfm/types';
import { gaussian, orbitCameras, project, rng, type SynthCamera } from './sfmSynthetic';

interface SynthOptions {
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
}

/** Orbit scene -> SfmInput: features = visible projections (some dropped) + clutter, in shuffled order. */
function synthInput(o: SynthOptions): { input: SfmInput; cams: SynthCamera[] } {
  const r = rng(o.seed), g = gaussian(r);
  const W = 1280, H = 960, f = 1000;
  const cams = orbitCameras(o.nCam, 5, f, W, H, r);
  for (const c of cams) { c.cx = W / 2 - 0.5; c.cy = H / 2 - 0.5; }
  const X = new Float64Array(3 * o.nPts);
  for (let i = 0; i < o.nPts; i++) {
    let x, y, z;
    do { x = r() * 2 - 1; y = r() * 2 - 1; z = r() * 2 - 1; } while (x * x + y * y + z * z > 1);
    X[3 * i] = 1.6 * x; X[3 * i + 1] = 1.2 * y; X[3 * i + 2] = 1.6 * z;
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
      const [u, v, z] = project(c, X, 3 * i);
      if (z <= 0 || u < 0 || v < 0 || u > W - 1 || v > H - 1) continue;
      list.push(i);
      pts.push(u + o.sigma * g(), v + o.sigma * g());
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
    images.push({ width: W, height: H, points: shuffled, focalPrior: f * o.focalPriorFactor, focalFromExif: false, cx: c.cx, cy: c.cy });
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

describe('incremental reconstruction', () => {
  it('20 views on an orbit, 0.5 px noise, 30% wrong matches, 20% missing, focal prior 10% off', async () => {
    const { input, cams } = synthInput({ nCam: 20, nPts: 3000, sigma: 0.5, outliers: 0.3, missing: 0.2, focalPriorFactor: 1.1, neighbours: 3, seed: 4 });
    const messages: string[] = [];
    const t0 = performance.now();
    const res = await reconstructIncremental({ ...input, progress: (d, t, m) => messages.push(`${m} ${d}/${t}`) });
    const seconds = (performance.now() - t0) / 1000;
    const pairs: CameraPair[] = cams.map((c, i) => ({
      name: `${i}`,
      estimated: res.cameras[i] ? { K: res.cameras[i]!.K, camFromWorld: res.cameras[i]!.camFromWorld } : null,
      truth: { K: [c.f, 0, c.cx, 0, c.f, c.cy, 0, 0, 1], camFromWorld: [...c.pose] },
    }));
    const score = scoreCameras(pairs);
    console.log(`incremental: ${score.registered}/20 registered in ${seconds.toFixed(2)} s; relative rotation error median ${score.relativeRotationErrorDeg.median.toFixed(4)} max ${score.relativeRotationErrorDeg.max.toFixed(4)} deg; centre error median ${(score.centreErrorRel.median * 100).toFixed(3)}% of extent; focal error ${(score.focalErrorRel.max * 100).toFixed(3)}%; mean reprojection ${res.meanReprojectionError.toFixed(3)} px; ${res.points.length / 3} points`);
    console.log(JSON.stringify(res.stats));
    expect(res.unregistered).toEqual([]);
    expect(score.registered).toBe(20);
    expect(score.relativeRotationErrorDeg.median).toBeLessThan(0.1);
    expect(score.relativeRotationErrorDeg.max).toBeLessThan(0.3);
    expect(score.focalErrorRel.max).toBeLessThan(0.01);
    expect(score.centreErrorRel.max).toBeLessThan(0.005);
    // 0.5 px per coordinate -> ~0.63 px mean 2-D error; allow for the fitted parameters.
    expect(res.meanReprojectionError).toBeLessThan(0.8);
    // Normalised frame: centroid of the centres at the origin, median distance 1.
    const centres = res.cameras.map((c) => { const p = c!.camFromWorld; return [0, 1, 2].map((i) => -(p[i] * p[3] + p[4 + i] * p[7] + p[8 + i] * p[11])); });
    const mean = [0, 1, 2].map((k) => centres.reduce((s, c) => s + c[k], 0) / centres.length);
    expect(Math.hypot(...mean)).toBeLessThan(1e-9);
    const d = centres.map((c) => Math.hypot(...c)).sort((a, b) => a - b);
    expect(d[10]).toBeCloseTo(1, 9);
    expect(messages.length).toBeGreaterThan(3);
  });
});
