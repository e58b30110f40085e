import { describe, expect, it } from 'vitest';
import { reconstructIncremental, type VerificationCache } from '../../src/stages/sfm/incremental';
import { rng, synthInput } from './sfmSynthetic';

describe('pair verification', () => {
  it('F_SUBSET_RULE: a trusted pass pruned by the F verification verifies exactly the pairs a full E verification does', async () => {
    const { input } = synthInput({ nCam: 12, nPts: 1500, sigma: 0.5, outliers: 0.4, missing: 0.2, focalPriorFactor: 1, neighbours: 3, seed: 21, surfaceVisibilityCos: 0.2 });
    // Pairs across the orbit: 40 random matches only (what most of a large capture's rejected candidate pairs are):
    // F rejects them (with 100 random matches F still fits 15 of 5 of 6 such pairs, E none: F is the weaker test),
    // and the pruned pass must not verify them with E either.
    const r = rng(77);
    const pairs = [...input.pairs];
    for (let i = 0; i < 6; i++) {
      const j = i + 6, m: number[] = [];
      const na = input.images[i].points.length / 2, nb = input.images[j].points.length / 2;
      for (let k = 0; k < 40; k++) m.push(Math.floor(r() * na), Math.floor(r() * nb));
      pairs.push({ i, j, matches: new Uint32Array(m) });
    }
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
