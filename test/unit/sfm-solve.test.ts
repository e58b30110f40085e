import { describe, expect, it } from 'vitest';
import { scoreCameras, type CameraPair } from '../../src/eval/cameras';
import { reconstructIncremental } from '../../src/stages/sfm/incremental';
import { FOCAL_AGREE_TOL, FOCAL_SEED_VIEWS, focalTriesAgree, solveCameras, type FocalTry } from '../../src/stages/sfm/solve';
import type { SfmResult } from '../../src/stages/sfm/types';
import { synthInput, type SynthCamera } from './sfmSynthetic';

function score(res: SfmResult, cams: SynthCamera[]) {
  const pairs: CameraPair[] = cams.map((c, i) => ({
    name: `${i}`,
    estimated: res.cameras[i] ? { K: res.cameras[i]!.K, camFromWorld: res.cameras[i]!.camFromWorld } : null,
    truth: { K: [c.f, 0, c.cx, 0, c.f, c.cy, 0, 0, 1], camFromWorld: [...c.pose] },
  }));
  return scoreCameras(pairs);
}

describe('SfM final refinement and focal search', () => {
  it('NOISE_RULE: drops localisation blunders inside the 4 px filter, measuring the noise it keeps', async () => {
    // 0.2 px noise and 15% of the observations moved by 1-3.5 px: all pass the fixed 4 px threshold.
    const { input, cams } = synthInput({ nCam: 14, nPts: 2000, sigma: 0.2, outliers: 0.2, missing: 0.2, focalPriorFactor: 1.05, neighbours: 3, seed: 21, blunders: { fraction: 0.15, minPx: 1, maxPx: 3.5 } });
    // The principal point held at its (true) prior: on a ring of cameras it trades with a common tilt, and its
    // wander (~1 px here, 0.07 deg) would hide the effect measured.
    const off = await reconstructIncremental({ ...input, options: { noiseSigmas: 0, refinePrincipalPoint: false } });
    const on = await reconstructIncremental({ ...input, options: { refinePrincipalPoint: false } });
    const sOff = score(off, cams), sOn = score(on, cams);
    const line = (s: typeof sOn, r: SfmResult) => `rel rot median ${s.relativeRotationErrorDeg.median.toFixed(4)} max ${s.relativeRotationErrorDeg.max.toFixed(4)} deg, focal ${(100 * s.focalErrorRel.max).toFixed(3)}%, reprojection ${r.meanReprojectionError.toFixed(3)} px`;
    console.log(`noise rule off: ${line(sOff, off)}\nnoise rule on:  ${line(sOn, on)}; threshold ${on.stats.noiseThresholdPx.toFixed(3)} px, ${on.stats.noiseObsRemoved} observations dropped`);
    expect(sOn.registered).toBe(14);
    // The threshold follows the noise: 3.72 x 0.2 px = 0.74 px, a little above from the blunders left in the median.
    expect(on.stats.noiseThresholdPx).toBeGreaterThan(0.6);
    expect(on.stats.noiseThresholdPx).toBeLessThan(1);
    expect(on.stats.noiseObsRemoved).toBeGreaterThan(0);
    // The kept observations are the 0.2 px ones: mean 2-D error ~0.25 px (Rayleigh mean 1.25 sigma).
    expect(on.meanReprojectionError).toBeLessThan(0.3);
    expect(off.meanReprojectionError).toBeGreaterThan(0.35);
    // Measured: median 0.0126 -> 0.0061 deg, focal 0.009% -> 0.003%.
    expect(sOn.relativeRotationErrorDeg.median).toBeLessThan(0.75 * sOff.relativeRotationErrorDeg.median);
    expect(sOn.relativeRotationErrorDeg.median).toBeLessThan(0.01);
    expect(sOn.focalErrorRel.max).toBeLessThan(0.0005);
  });

  it('seeded focal search: tries on seed reconstructions, one full trusted pass, all views registered', async () => {
    // 24 views, focal guess 2.2x too short (a long lens guessed at 1.2 x the long side).
    const { input, cams } = synthInput({ nCam: 24, nPts: 1000, sigma: 0.4, outliers: 0.2, missing: 0.2, focalPriorFactor: 1 / 2.2, neighbours: 2, seed: 5 });
    const t0 = performance.now();
    const { result, focalTries } = await solveCameras(input, true);
    const seconds = (performance.now() - t0) / 1000;
    const s = score(result, cams);
    console.log(`seeded search: ${s.registered}/24 in ${seconds.toFixed(1)} s; focal ${(100 * s.focalErrorRel.max).toFixed(3)}%, rel rot median ${s.relativeRotationErrorDeg.median.toFixed(4)} deg; tries ${JSON.stringify(focalTries)}`);
    expect(focalTries.slice(0, 4).every((t) => t.seed && t.registered <= FOCAL_SEED_VIEWS)).toBe(true);
    expect(focalTries.length).toBe(5);
    expect(focalTries[4].seed).toBe(false);
    expect(s.registered).toBe(24);
    expect(s.focalErrorRel.max).toBeLessThan(0.005);
    expect(s.relativeRotationErrorDeg.median).toBeLessThan(0.1);
  });

  it('maxTracks: a try on a random quarter of the tracks registers every view and finds the focal', async () => {
    const { input, cams } = synthInput({ nCam: 12, nPts: 3000, sigma: 0.4, outliers: 0.2, missing: 0.2, focalPriorFactor: 1.3, neighbours: 3, seed: 41 });
    const all = await reconstructIncremental({ ...input, options: { ...input.options, noiseSigmas: 0 } });
    const sub = await reconstructIncremental({ ...input, options: { ...input.options, noiseSigmas: 0, maxTracks: 750 } });
    const sAll = score(all, cams), sSub = score(sub, cams);
    console.log(`maxTracks 750: ${sub.stats.tracks - sub.stats.tracksSubsampled} of ${sub.stats.tracks} tracks, ${sub.points.length / 3} points, ${sub.stats.totalSeconds.toFixed(2)} s (all: ${all.points.length / 3} points, ${all.stats.totalSeconds.toFixed(2)} s); focal ${(100 * sSub.focalErrorRel.max).toFixed(3)}% (all ${(100 * sAll.focalErrorRel.max).toFixed(3)}%)`);
    expect(sub.stats.tracksSubsampled).toBeGreaterThan(0);
    const kept = sub.stats.tracks - sub.stats.tracksSubsampled;
    expect(kept).toBeGreaterThan(600);
    expect(kept).toBeLessThan(900);
    expect(sub.points.length / 3).toBeLessThanOrEqual(kept);
    expect(sSub.registered).toBe(12);
    // The focal guess was 30% long: the try recovers it to a fraction of a percent.
    expect(sSub.focalErrorRel.max).toBeLessThan(0.005);
  });

  it('FOCAL_AGREE_RULE: two tries from different priors refined to one focal end the search', async () => {
    const t = (factor: number, refined: number, registered = 6): FocalTry => ({ factor, refined, registered, error: 0.2, seed: true, seconds: 0 });
    expect(focalTriesAgree([t(1, 0.7475)], 6)).toBe(false);
    expect(focalTriesAgree([t(1, 0.7475), t(0.6, 0.7461)], 6)).toBe(true);
    // Just inside and just outside the tolerance.
    expect(focalTriesAgree([t(1, 1), t(0.6, 1 - 0.9 * FOCAL_AGREE_TOL)], 6)).toBe(true);
    expect(focalTriesAgree([t(1, 1), t(0.6, 1 - 1.1 * FOCAL_AGREE_TOL)], 6)).toBe(false);
    // A try that lost seed views is no evidence (temple's 1 and 0.6 registered 5 of 6).
    expect(focalTriesAgree([t(1, 0.75, 5), t(0.6, 0.75)], 6)).toBe(false);
    expect(focalTriesAgree([t(1, 0.75), t(0.6, 0.75, 5)], 6)).toBe(false);
    // Temple's four tries: never two within the tolerance.
    expect([2, 3, 4].some((k) => focalTriesAgree([t(1, 1.3876, 5), t(0.6, 0.9798, 5), t(1.7, 2.0395), t(2.6, 2.1722)].slice(0, k), 6))).toBe(false);
    // Only the last try is compared with the earlier ones (each is checked as it comes in).
    expect(focalTriesAgree([t(1, 0.75), t(0.6, 0.75), t(1.7, 1.4)], 6)).toBe(false);

    // On a scene whose focal is 0.77 x the guess (fountain-like), the tries from 1 and 0.6 both converge: the search
    // stops after them, and the trusted pass finds the focal.
    const { input, cams } = synthInput({ nCam: 12, nPts: 1200, sigma: 0.4, outliers: 0.2, missing: 0.2, focalPriorFactor: 1.3, neighbours: 3, seed: 43 });
    const { result, focalTries } = await solveCameras(input, true);
    const s = score(result, cams);
    console.log(`agreeing tries: ${JSON.stringify(focalTries.map((x) => [x.factor, +x.refined.toFixed(4), x.registered]))}; focal ${(100 * s.focalErrorRel.max).toFixed(3)}%`);
    expect(focalTries.map((x) => x.factor).slice(0, 2)).toEqual([1, 0.6]);
    expect(focalTries.length).toBe(3);
    expect(focalTries[2].seed).toBe(false);
    expect(s.registered).toBe(12);
    expect(s.focalErrorRel.max).toBeLessThan(0.005);
  });
});
