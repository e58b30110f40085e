import { describe, expect, it } from 'vitest';
import type { CaptureView } from '../../src/core/capture';
import { scoreCameras } from '../../src/eval/cameras';
import { pixelToNormalised } from '../../src/stages/sfm/geometry/camera';
import { reconstructIncremental } from '../../src/stages/sfm/incremental';
import type { SfmInput } from '../../src/stages/sfm/types';
import { distortionMatters, pinholeOfOriginal, undistortRgba, undistortView } from '../../src/stages/sfm/undistort';
import { synthInput, type SynthCamera } from './sfmSynthetic';

async function run(input: SfmInput, cams: SynthCamera[], refineDistortion: SfmInput['refineDistortion']) {
  const res = await reconstructIncremental({ ...input, refineDistortion });
  const score = scoreCameras(cams.map((c, i) => ({
    name: `${i}`,
    estimated: res.cameras[i] ? { K: res.cameras[i]!.K, camFromWorld: res.cameras[i]!.camFromWorld } : null,
    truth: { K: [c.f, 0, c.cx, 0, c.f, c.cy, 0, 0, 1], camFromWorld: [...c.pose] },
  })));
  const cam = res.cameras.find(Boolean)!;
  return { res, score, f: cam.K[0], k1: cam.k1, k2: cam.k2 };
}

describe('radial distortion in the reconstruction', () => {
  // A phone-like capture: 16 views on an arc, EXIF focal 1.5% off (sceaux's prior is 1.4% off), barrel distortion
  // k1 = -0.06 (a 1280 x 960 image at f = 1000 reaches r^2 = 0.64: ~30 px at the corners), 0.5 px noise; the cameras
  // close enough (orbit 2.6 around a 1.6 ellipsoid) for the points to reach the image corners.
  const scene = (k1: number, k2: number) => synthInput({ nCam: 16, nPts: 2000, sigma: 0.5, outliers: 0.2, missing: 0.2, focalPriorFactor: 1.015, neighbours: 3, seed: 11, exif: true, arcDeg: 120, orbitRadius: 2.6, k1, k2 });

  it("'auto' recovers k1 and the focal; pinhole BA drifts the focal on the same data", async () => {
    const { input, cams } = scene(-0.06, 0);
    const on = await run(input, cams, 'auto');
    const off = await run(input, cams, false);
    const fe = (f: number) => Math.abs(f - cams[0].f) / cams[0].f;
    console.log(`distortion auto: ${on.score.registered}/16, f ${on.f.toFixed(1)} (${(100 * fe(on.f)).toFixed(2)}%), k1 ${on.k1.toFixed(4)} (-0.06), k2 ${on.k2.toFixed(4)} (0), terms ${on.res.stats.distortionTerms}, rel rot median ${on.score.relativeRotationErrorDeg.median.toFixed(4)} deg, reproj ${on.res.meanReprojectionError.toFixed(3)} px` +
      ` | off: ${off.score.registered}/16, f ${off.f.toFixed(1)} (${(100 * fe(off.f)).toFixed(2)}%), rel rot median ${off.score.relativeRotationErrorDeg.median.toFixed(4)} deg, reproj ${off.res.meanReprojectionError.toFixed(3)} px`);
    expect(on.score.registered).toBe(16);
    expect(on.res.stats.distortionTerms).toBeGreaterThanOrEqual(1);
    expect(Math.abs(on.k1 + 0.06)).toBeLessThan(0.004);
    expect(fe(on.f)).toBeLessThan(0.003);
    expect(on.score.relativeRotationErrorDeg.median).toBeLessThan(0.05);
    expect(on.res.meanReprojectionError).toBeLessThan(0.8);
    // Without the model the distortion goes into the focal and the poses.
    expect(fe(off.f)).toBeGreaterThan(3 * fe(on.f));
    expect(off.res.meanReprojectionError).toBeGreaterThan(on.res.meanReprojectionError);
  });

  it("'auto' on a pinhole lens: k1, k2 stay near zero and nothing is lost", async () => {
    const { input, cams } = scene(0, 0);
    const on = await run(input, cams, 'auto');
    const off = await run(input, cams, false);
    console.log(`pinhole scene: auto f ${on.f.toFixed(2)}, k1 ${on.k1.toFixed(5)}, k2 ${on.k2.toFixed(5)}, rel rot ${on.score.relativeRotationErrorDeg.median.toFixed(4)} deg; off f ${off.f.toFixed(2)}, rel rot ${off.score.relativeRotationErrorDeg.median.toFixed(4)} deg`);
    expect(on.score.registered).toBe(16);
    expect(Math.abs(on.k1)).toBeLessThan(0.003);
    expect(Math.abs(on.f - cams[0].f) / cams[0].f).toBeLessThan(0.003);
    expect(on.score.relativeRotationErrorDeg.median).toBeLessThan(off.score.relativeRotationErrorDeg.median + 0.01);
    // A model below the rule's size (4 views) refines no distortion.
    const small = synthInput({ nCam: 4, nPts: 600, sigma: 0.5, outliers: 0.1, missing: 0.2, focalPriorFactor: 1.0, neighbours: 3, seed: 12, exif: true, arcDeg: 40, orbitRadius: 2.6, k1: -0.06 });
    const r4 = await reconstructIncremental({ ...small.input, refineDistortion: 'auto' });
    expect(r4.stats.distortionTerms).toBe(0);
    expect(r4.cameras.filter(Boolean).every((c) => c!.k1 === 0 && c!.k2 === 0)).toBe(true);
  });
});

describe('undistortion to pinhole', () => {
  const W = 320, H = 240, K = [260, 0, 159.5, 0, 260, 119.5, 0, 0, 1];
  // ~40 px periods at the working size: fine enough that the distortion's displacement shows, coarse enough for bilinear.
  const pattern = (x: number, y: number) => 128 + 100 * Math.sin(40 * x + 1) * Math.cos(30 * y);
  /** The photo a lens with k1, k2 would take of the pattern (each pixel's undistorted ray, sampled analytically). */
  const distortedPhoto = (w: number, h: number, k: number[], k1: number, k2: number) => {
    const data = new Uint8Array(w * h * 4), xn = new Float64Array(2), intr = [k[0], k[2], k[5], k1, k2];
    for (let v = 0; v < h; v++) for (let u = 0; u < w; u++) {
      pixelToNormalised(intr, 0, u, v, xn);
      const o = 4 * (v * w + u), g = Math.round(pattern(xn[0], xn[1]));
      data[o] = g; data[o + 1] = 255 - g; data[o + 2] = 40; data[o + 3] = 255;
    }
    return { width: w, height: h, data };
  };
  const errorVsPinhole = (img: { width: number; height: number; data: Uint8Array }, k: number[], margin: number) => {
    let sum = 0, n = 0, worst = 0;
    for (let v = margin; v < img.height - margin; v++) for (let u = margin; u < img.width - margin; u++) {
      const e = Math.abs(img.data[4 * (v * img.width + u)] - pattern((u - k[2]) / k[0], (v - k[5]) / k[4]));
      sum += e; n++; worst = Math.max(worst, e);
    }
    return { mean: sum / n, worst };
  };

  it('a barrel-distorted photo resamples to the pinhole image of the same K, at the working size and at 2x', () => {
    const k1 = -0.12, k2 = 0.03;
    const photo = distortedPhoto(W, H, K, k1, k2);
    const before = errorVsPinhole(photo, K, 12);
    const after = errorVsPinhole(undistortRgba(photo, K, k1, k2), K, 12);
    console.log(`undistort: mean |error| vs pinhole ${before.mean.toFixed(2)} -> ${after.mean.toFixed(2)} grey levels (worst ${after.worst})`);
    expect(before.mean).toBeGreaterThan(10);
    expect(after.mean).toBeLessThan(1.5);
    expect(after.worst).toBeLessThan(12);
    // The view path: working image undistorted in place, then a 2x decode of the original through pinholeOfOriginal.
    const view = { width: W, height: H, K, image: photo, mask: new Uint8Array(W * H).fill(255), depthMeters: null, distortion: null, intrinsicsSource: 'sfm' } as unknown as CaptureView;
    expect(undistortView(view, k1, k2)).toBe(true);
    expect(view.distortion).toEqual({ model: 'radial', k1, k2 });
    expect(errorVsPinhole(view.image, K, 12).mean).toBeLessThan(1.5);
    const K2 = [2 * K[0], 0, 2 * K[2] + 0.5, 0, 2 * K[4], 2 * K[5] + 0.5, 0, 0, 1];
    const big = pinholeOfOriginal(view, distortedPhoto(2 * W, 2 * H, K2, k1, k2));
    expect(errorVsPinhole(big, K2, 24).mean).toBeLessThan(1.5);
    // Negligible distortion: nothing is resampled.
    expect(distortionMatters(K, W, H, 1e-7, 0)).toBe(false);
    const plain = { ...view, distortion: null, image: photo } as CaptureView;
    expect(undistortView(plain, 1e-7, 0)).toBe(false);
    expect(plain.image).toBe(photo);
  });
});
