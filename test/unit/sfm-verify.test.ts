import { describe, expect, it } from 'vitest';
import { reconstructIncremental, type VerificationCache } from '../../src/stages/sfm/incremental';
import { angleAxisToRotation } from '../../src/stages/sfm/geometry/linalg';
import { weakClosePairs, type RotationEdge } from '../../src/stages/sfm/viewGraph';
import { gaussian, orbitCameras, rng, synthInput, withRandomPairs } from './sfmSynthetic';

describe('pair verification', () => {
  it('F_SUBSET_RULE: a trusted pass pruned by the F verification verifies exactly the pairs a full E verification does', async () => {
    const { input } = synthInput({ nCam: 12, nPts: 1500, sigma: 0.5, outliers: 0.4, missing: 0.2, focalPriorFactor: 1, neighbours: 3, seed: 21, surfaceVisibilityCos: 0.2 });
    // Pairs across the orbit: 40 random matches only (what most of a large capture's rejected candidate pairs are):
    // F rejects them (with 100 random matches F still fits 15 of 5 of 6 such pairs, E none: F is the weaker test),
    // and the pruned pass must not verify them with E either.
    const pairs = withRandomPairs(input, 6, 77);
    const untrusted = { ...input, pairs, options: { maxImages: 2, noiseSigmas: 0 } };
    const trusted = { ...untrusted, images: input.images.map((im) => ({ ...im, focalFromExif: true })) };
    const fCache: VerificationCache = {};
    await reconstructIncremental(untrusted, fCache);
    const fKey = fCache.key, fVerified = fCache.verified!;
    const full: VerificationCache = {};
    const rFull = await reconstructIncremental(trusted, full);
    const rPruned = await reconstructIncremental(trusted, fCache);
    const rows = (c: VerificationCache) => c.verified!.map((v) => `${v.i}-${v.j}:${v.inliers.length / 2}:${v.calibrated}`);
    console.log(`F verified ${fVerified.length}, E full ${full.verified!.length} (${rFull.stats.verifySeconds.toFixed(2)} s), pruned skipped ${rPruned.stats.pairsSkippedByF} (${rPruned.stats.verifySeconds.toFixed(2)} s) of ${pairs.length}`);
    expect(fVerified.length).toBeGreaterThan(20);
    expect(rPruned.stats.pairsSkippedByF).toBe(pairs.length - fVerified.length);
    expect(rPruned.stats.pairsSkippedByF).toBeGreaterThanOrEqual(6);
    // Identical verification (same pairs, same inliers: seeds are per pair) and so the identical reconstruction.
    expect(rPruned.stats.verifiedPairs).toBe(rFull.stats.verifiedPairs);
    expect(full.verified!.every((v) => v.calibrated)).toBe(true);
    expect(rPruned.cameras).toEqual(rFull.cameras);
    // The cache still holds the F verification (solveCameras' untrusted fallback reuses it).
    expect(fCache.key).toBe(fKey);
    expect(fCache.verified).toBe(fVerified);
    expect(rows(full).length).toBe(rFull.stats.verifiedPairs);
  });
});

describe('view-graph mirror-pair check', () => {
  it('MIRROR_PAIR_RULE: pairs too weak for the small rotation they claim are removed; true, wide and weak-view pairs kept', () => {
    const r = rng(5), g = gaussian(r), n = 24;
    const cams = orbitCameras(n, 5, 1000, 1280, 960, r);
    const R = (i: number) => { const p = cams[i].pose; return [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]]; };
    const mul = (a: number[], b: number[]) => Array.from({ length: 9 }, (_, k) => a[3 * Math.floor(k / 3)] * b[k % 3] + a[3 * Math.floor(k / 3) + 1] * b[3 + (k % 3)] + a[3 * Math.floor(k / 3) + 2] * b[6 + (k % 3)]);
    const T = (a: number[]) => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];
    const noisy = (M: number[], deg: number) => mul(Array.from(angleAxisToRotation(...([0, 1, 2].map(() => (g() * deg * Math.PI) / 180) as [number, number, number]))), M);
    const S = [-1, 0, 0, 0, 1, 0, 0, 0, -1];
    // View 7 is a poor photo (blur): every pair it has is weak, its close ones included.
    const weakView = 7;
    const edges: RotationEdge[] = [], kind: string[] = [];
    for (let i = 0; i < n; i++) for (let d = 1; d <= 3; d++) {
      // Inliers fall with the baseline (15 degrees a step): lego's true pairs, 381 median at < 15 degrees, 20-80 wide.
      const j = (i + d) % n, weak = i === weakView || j === weakView;
      const weight = weak ? 20 + Math.floor(20 * r()) : Math.floor((450 / d ** 2) * (0.7 + 0.6 * r()));
      edges.push({ i, j, R: noisy(mul(R(j), T(R(i))), 0.3), weight }); kind.push(weak ? 'weak-view' : d === 3 ? 'wide' : 'true');
    }
    for (let i = 0; i < n; i++) {
      // Views 165-180 degrees apart matched on the repeated part: a claimed rotation of 0-15 degrees, few inliers.
      const j = (i + n / 2 + (i % 2)) % n;
      if (i === weakView || j === weakView || j < i) continue;
      edges.push({ i, j, R: noisy(mul(mul(R(j), S), T(R(i))), 0.3), weight: 15 + Math.floor(64 * r()) }); kind.push('mirror');
    }
    const removed = weakClosePairs(edges, n);
    const count = (k: string) => removed.filter((e) => kind[e] === k).length;
    console.log(`removed ${removed.length}: ${count('mirror')} of ${kind.filter((k) => k === 'mirror').length} mirror, ${count('true') + count('wide') + count('weak-view')} true`);
    expect(count('mirror')).toBe(kind.filter((k) => k === 'mirror').length);
    expect(count('true') + count('wide') + count('weak-view')).toBe(0);
    // The rotation condition is what keeps the wide pairs: against every pair of their views they are weak.
    const noRotation = weakClosePairs(edges, n, undefined, 360);
    expect(noRotation.filter((e) => kind[e] === 'wide').length).toBeGreaterThan(10);
    // Each view keeps its strongest pair whatever the ratio, so no view is cut off.
    const all = weakClosePairs(edges, n, 1);
    for (let v = 0; v < n; v++) expect(edges.some((e, k) => (e.i === v || e.j === v) && !all.includes(k))).toBe(true);
  });
});
