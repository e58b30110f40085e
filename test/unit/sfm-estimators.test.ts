import { describe, expect, it } from 'vitest';
import { decomposeEssential, essentialFivePoint, estimateEssential, sampson2 } from '../../src/stages/sfm/geometry/essential';
import { estimateHomography, transferError2 } from '../../src/stages/sfm/geometry/homography';
import { rotationDistanceDeg, svd } from '../../src/stages/sfm/geometry/linalg';
import { estimateAbsolutePose, p3p } from '../../src/stages/sfm/geometry/pnp';
import { maxRayAngleDeg, triangulateDlt } from '../../src/stages/sfm/geometry/triangulation';
import { gaussian, randomPose, rng } from './sfmSynthetic';

const rot = (p: ArrayLike<number>) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
const centre = (p: ArrayLike<number>) => [0, 1, 2].map((i) => -(p[i] * p[3] + p[4 + i] * p[7] + p[8 + i] * p[11]));
const apply = (p: ArrayLike<number>, X: ArrayLike<number>, o = 0) => [0, 1, 2].map((r) => p[r * 4] * X[o] + p[r * 4 + 1] * X[o + 1] + p[r * 4 + 2] * X[o + 2] + p[r * 4 + 3]);
const angleDeg = (a: number[], b: number[]) => (Math.acos(Math.min(1, Math.abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (Math.hypot(...a) * Math.hypot(...b)))) * 180) / Math.PI;

/** Two views (identity and `pose`) of points in front of both; pixel coordinates with focal f, centre (0, 0). */
function twoViews(n: number, outlierFrac: number, sigmaPx: number, f: number, seed: number, planar = false) {
  const r = rng(seed), g = gaussian(r);
  const pose = randomPose(r, 0.25, 0);
  // Baseline mostly sideways, scene at depth 4..8.
  pose[3] = 1; pose[7] = 0.2 * (r() - 0.5); pose[11] = 0.2 * (r() - 0.5);
  const x1 = new Float64Array(2 * n), x2 = new Float64Array(2 * n), outlier = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let X: number[], Y: number[];
    do {
      X = planar ? [r() * 6 - 3, r() * 6 - 3, 0] : [r() * 6 - 3, r() * 6 - 3, 4 + r() * 4];
      if (planar) X[2] = 6 + 0.3 * X[0] - 0.2 * X[1];
      Y = apply(pose, X);
    } while (Y[2] < 1 || Math.abs((f * Y[0]) / Y[2]) > 1000 || Math.abs((f * Y[1]) / Y[2]) > 750 || Math.abs((f * X[0]) / X[2]) > 1000);
    x1[2 * i] = (X[0] / X[2]) + (sigmaPx * g()) / f; x1[2 * i + 1] = X[1] / X[2] + (sigmaPx * g()) / f;
    x2[2 * i] = Y[0] / Y[2] + (sigmaPx * g()) / f; x2[2 * i + 1] = Y[1] / Y[2] + (sigmaPx * g()) / f;
    if (r() < outlierFrac) { outlier[i] = 1; x2[2 * i] = (r() * 2000 - 1000) / f; x2[2 * i + 1] = (r() * 1500 - 750) / f; }
  }
  return { pose, x1, x2, outlier };
}

describe('essential matrix', () => {
  it('the 5-point solver returns the true E among its solutions (noise-free)', () => {
    let found = 0;
    const trials = 100;
    for (let trial = 0; trial < trials; trial++) {
      const { pose, x1, x2 } = twoViews(5, 0, 0, 1000, 100 + trial);
      const Es = essentialFivePoint(x1, x2, [0, 1, 2, 3, 4]);
      // True E = [t]x R
      const R = rot(pose), t = [pose[3], pose[7], pose[11]];
      const tx = [0, -t[2], t[1], t[2], 0, -t[0], -t[1], t[0], 0];
      const E = Array.from({ length: 9 }, (_, k) => tx[Math.floor(k / 3) * 3] * R[k % 3] + tx[Math.floor(k / 3) * 3 + 1] * R[3 + (k % 3)] + tx[Math.floor(k / 3) * 3 + 2] * R[6 + (k % 3)]);
      const n = Math.hypot(...E);
      const ok = Es.some((e) => {
        const dot = e.reduce((s, v, k) => s + (v * E[k]) / n, 0);
        return 1 - Math.abs(dot) < 1e-8;
      });
      if (ok) found++;
      // every returned solution satisfies the five constraints and the essential constraints
      for (const e of Es) {
        for (let i = 0; i < 5; i++) expect(sampson2(e, x1, x2, i)).toBeLessThan(1e-16);
        const s = svd(e, 3, 3).s;
        expect(s[2] / s[0]).toBeLessThan(1e-6);
        expect(Math.abs(s[0] - s[1]) / s[0]).toBeLessThan(1e-6);
      }
    }
    expect(found).toBeGreaterThanOrEqual(trials - 1);
  });

  it('LO-RANSAC recovers R, t with 1 px noise and 40% outliers', () => {
    const f = 1000;
    const errs: number[] = [];
    for (let trial = 0; trial < 5; trial++) {
      const { pose, x1, x2, outlier } = twoViews(600, 0.4, 1, f, 7 + trial);
      const t0 = performance.now();
      const res = estimateEssential(x1, x2, 4 / f, { seed: trial })!;
      const ms = performance.now() - t0;
      const rErr = rotationDistanceDeg(res.pose.R, rot(pose));
      const tErr = angleDeg([...res.pose.t], [pose[3], pose[7], pose[11]]);
      let inl = 0, falseInl = 0, nIn = 0;
      for (let i = 0; i < 600; i++) {
        if (!outlier[i]) { nIn++; inl += res.inliers[i]; } else falseInl += res.inliers[i];
      }
      errs.push(rErr);
      console.log(`E trial ${trial}: rot ${rErr.toFixed(3)} deg, t dir ${tErr.toFixed(2)} deg, inliers ${inl}/${nIn}, false ${falseInl}, ${res.iterations} it, ${ms.toFixed(1)} ms`);
      expect(rErr).toBeLessThan(0.5);
      expect(tErr).toBeLessThan(3);
      expect(inl / nIn).toBeGreaterThan(0.95);
      expect(falseInl).toBeLessThan(0.05 * 600);
      // t points the right way: the chosen decomposition puts the true inliers in front of both cameras
      expect(res.pose.positive).toBeGreaterThan(0.9 * nIn);
      expect(res.pose.t[0] * pose[3]).toBeGreaterThan(0);
    }
  });

  it('minInliers: a hopeless pair stops early, a good one gives the same model as without it', () => {
    const f = 1000;
    // 30 matches, all outliers (two photos that do not overlap): 15 inliers needed
    const bad = twoViews(30, 1, 1, f, 41);
    const plain = estimateEssential(bad.x1, bad.x2, 4 / f, { seed: 1 });
    const capped = estimateEssential(bad.x1, bad.x2, 4 / f, { seed: 1, minInliers: 15 });
    console.log(`hopeless pair: ${plain?.iterations} iterations without minInliers, ${capped?.iterations} with (best ${capped?.inlierCount} inliers)`);
    expect(plain!.iterations).toBe(2000);
    // ratio 15/30: (1 - 0.5^5)^n < 1 - 0.9999 from n = ceil(ln 1e-4 / ln(31/32)) = 291, times the safety factor 3
    expect(capped!.iterations).toBeLessThanOrEqual(873);
    expect(capped!.inlierCount).toBeLessThan(15);
    // 60 matches, 40% outliers: the same random sequence, the same result
    const good = twoViews(60, 0.4, 1, f, 42);
    const a = estimateEssential(good.x1, good.x2, 4 / f, { seed: 3 })!;
    const b = estimateEssential(good.x1, good.x2, 4 / f, { seed: 3, minInliers: 15 })!;
    expect(b.iterations).toBe(a.iterations);
    expect(b.inlierCount).toBe(a.inlierCount);
    expect(Array.from(b.model)).toEqual(Array.from(a.model));
  });

  it('decomposition picks the cheirality-consistent pose', () => {
    const { pose, x1, x2 } = twoViews(50, 0, 0, 1000, 3);
    const R = rot(pose), t = [pose[3], pose[7], pose[11]];
    const tx = [0, -t[2], t[1], t[2], 0, -t[0], -t[1], t[0], 0];
    const E = Array.from({ length: 9 }, (_, k) => tx[Math.floor(k / 3) * 3] * R[k % 3] + tx[Math.floor(k / 3) * 3 + 1] * R[3 + (k % 3)] + tx[Math.floor(k / 3) * 3 + 2] * R[6 + (k % 3)]);
    const d = decomposeEssential(E.map((v) => -v), x1, x2)!;
    expect(rotationDistanceDeg(d.R, R)).toBeLessThan(1e-4);
    expect(angleDeg([...d.t], t)).toBeLessThan(1e-4);
    expect(d.t[0] * t[0]).toBeGreaterThan(0);
    expect(d.positive).toBe(50);
  });
});

describe('homography', () => {
  it('recovers a plane-induced H with 1 px noise and 40% outliers, and wins over E only on planar scenes', () => {
    const f = 1000;
    const planar = twoViews(300, 0.4, 1, f, 11, true);
    const H = estimateHomography(planar.x1, planar.x2, 4 / f, { seed: 1 })!;
    // Noise-free transfer error on the true inliers.
    const clean = twoViews(300, 0, 0, f, 11, true);
    let worst = 0;
    for (let i = 0; i < 300; i++) if (!planar.outlier[i]) worst = Math.max(worst, Math.sqrt(transferError2(H.model, clean.x1, clean.x2, i)) * f);
    console.log(`H: worst clean transfer error ${worst.toFixed(2)} px, inliers ${H.inlierCount}`);
    expect(worst).toBeLessThan(2.5);
    const Ep = estimateEssential(planar.x1, planar.x2, 4 / f, { seed: 1 })!;
    expect(H.inlierCount / Ep.inlierCount).toBeGreaterThan(0.9);
    const general = twoViews(300, 0.4, 1, f, 12, false);
    const Hg = estimateHomography(general.x1, general.x2, 4 / f, { seed: 1 })!;
    const Eg = estimateEssential(general.x1, general.x2, 4 / f, { seed: 1 })!;
    console.log(`H/E inlier ratio: planar ${(H.inlierCount / Ep.inlierCount).toFixed(2)}, general ${(Hg.inlierCount / Eg.inlierCount).toFixed(2)}`);
    expect(Hg.inlierCount / Eg.inlierCount).toBeLessThan(0.6);
  });
});

function pnpScene(n: number, outlierFrac: number, sigma: number, f: number, seed: number) {
  const r = rng(seed), g = gaussian(r);
  // A random orientation, the cloud around the origin 6 units in front of the camera.
  const pose = randomPose(r, 0.5, 0);
  pose[3] = 0; pose[7] = 0; pose[11] = 6;
  const X = new Float64Array(3 * n), uv = new Float64Array(2 * n), outlier = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let p: number[];
    do {
      X[3 * i] = r() * 4 - 2; X[3 * i + 1] = r() * 4 - 2; X[3 * i + 2] = r() * 4 - 2;
      p = apply(pose, X, 3 * i);
    } while (p[2] < 1 || Math.abs((f * p[0]) / p[2]) > 900 || Math.abs((f * p[1]) / p[2]) > 700);
    uv[2 * i] = (f * p[0]) / p[2] + 960 + sigma * g();
    uv[2 * i + 1] = (f * p[1]) / p[2] + 720 + sigma * g();
    if (r() < outlierFrac) { outlier[i] = 1; uv[2 * i] = r() * 1920; uv[2 * i + 1] = r() * 1440; }
  }
  return { pose, X, uv, outlier };
}

describe('absolute pose', () => {
  it('P3P returns the true pose among its solutions', () => {
    let found = 0;
    for (let trial = 0; trial < 100; trial++) {
      const { pose, X } = pnpScene(3, 0, 0, 1000, 200 + trial);
      const fb: number[] = [];
      for (let i = 0; i < 3; i++) { const p = apply(pose, X, 3 * i); const nn = Math.hypot(...p); fb.push(p[0] / nn, p[1] / nn, p[2] / nn); }
      const sols = p3p(fb, X);
      if (sols.some((s) => rotationDistanceDeg(rot(s), rot(pose)) < 1e-5 && Math.hypot(s[3] - pose[3], s[7] - pose[7], s[11] - pose[11]) < 1e-6)) found++;
    }
    expect(found).toBeGreaterThanOrEqual(98);
  });

  it('P3P LO-RANSAC + LM: 1 px noise, 50% outliers', () => {
    for (let trial = 0; trial < 5; trial++) {
      const { pose, X, uv, outlier } = pnpScene(300, 0.5, 1, 1000, 30 + trial);
      const t0 = performance.now();
      const res = estimateAbsolutePose(uv, X, { intrinsics: [1000, 960, 720, 0, 0], threshold: 4, seed: trial })!;
      const ms = performance.now() - t0;
      const rErr = rotationDistanceDeg(rot(res.pose), rot(pose));
      const cErr = Math.hypot(...centre(res.pose).map((v, k) => v - centre(pose)[k]));
      let falseInl = 0;
      for (let i = 0; i < 300; i++) if (outlier[i]) falseInl += res.inliers[i];
      console.log(`P3P trial ${trial}: rot ${rErr.toFixed(3)} deg, centre ${cErr.toFixed(4)} (distance 6), inliers ${res.inlierCount}, false ${falseInl}, ${ms.toFixed(1)} ms`);
      expect(rErr).toBeLessThan(0.2);
      expect(cErr / 6).toBeLessThan(0.005);
      expect(falseInl).toBeLessThan(10);
    }
  });

  it('DLT-6 LO-RANSAC + LM recovers the focal from a prior 15% off', () => {
    for (let trial = 0; trial < 5; trial++) {
      const { pose, X, uv } = pnpScene(300, 0.3, 1, 1000, 60 + trial);
      const res = estimateAbsolutePose(uv, X, { intrinsics: [1150, 960, 720, 0, 0], threshold: 4, seed: trial, estimateFocal: true })!;
      const rErr = rotationDistanceDeg(rot(res.pose), rot(pose));
      console.log(`DLT6 trial ${trial}: focal ${res.focal.toFixed(1)} (true 1000), rot ${rErr.toFixed(3)} deg, inliers ${res.inlierCount}`);
      expect(Math.abs(res.focal - 1000) / 1000).toBeLessThan(0.01);
      expect(rErr).toBeLessThan(0.3);
    }
  });
});

describe('triangulation', () => {
  it('multi-view DLT + Gauss-Newton is within the noise and reports ray angles', () => {
    const r = rng(5), g = gaussian(r);
    const f = 1000;
    const poses = new Float64Array(12 * 4);
    for (let v = 0; v < 4; v++) { const p = randomPose(r, 0.1, 0); p[3] = v * 0.5; p[7] = 0; p[11] = 0; poses.set(p, 12 * v); }
    let sum = 0;
    const out = new Float64Array(3);
    for (let k = 0; k < 200; k++) {
      const X = [r() * 2 - 1, r() * 2 - 1, 5 + r() * 2];
      const xn = new Float64Array(8);
      for (let v = 0; v < 4; v++) {
        const p = apply(poses.subarray(12 * v, 12 * v + 12), X);
        xn[2 * v] = p[0] / p[2] + g() / f; xn[2 * v + 1] = p[1] / p[2] + g() / f;
      }
      expect(triangulateDlt(poses, [0, 1, 2, 3], xn, 4, out)).toBe(true);
      sum += Math.hypot(out[0] - X[0], out[1] - X[1], out[2] - X[2]);
    }
    // Depth ~6 with a 1.5 baseline and 1/1000 angular noise: expected error ~ 6^2 / 1.5 / 1000 ~ 0.02.
    console.log(`triangulation mean error ${(sum / 200).toFixed(4)}`);
    expect(sum / 200).toBeLessThan(0.03);
    const centres = Float64Array.of(0, 0, 0, 1, 0, 0);
    expect(maxRayAngleDeg(centres, 2, [0.5, 0, 0.5])).toBeCloseTo(90, 6);
  });
});
