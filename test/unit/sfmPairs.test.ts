/** Pair selection for matching: the exhaustive / retrieval + sequence rule, and the bag-of-words global descriptor. */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/ml/onnxBuilder';
import { filterMatches, nearestCpu } from '../../src/stages/sfm/matching/matchCpu';
import { computeGlobalDescriptorsCpu, selectPairs } from '../../src/stages/sfm/matching/pairs';
import type { ImageFeatures } from '../../src/stages/sfm/types';

/** Images of `groups` scenes: each image's descriptors are noisy copies of its scene's prototypes. */
function sceneFeatures(images: number, groups: number, perImage: number, seed: number): ImageFeatures[] {
  const rand = seededRandom(seed);
  const prototypes = Array.from({ length: groups }, () => Array.from({ length: 60 }, () => Uint8Array.from({ length: 128 }, () => Math.floor(rand() * rand() * 256))));
  return Array.from({ length: images }, (_, i) => {
    const protos = prototypes[i % groups];
    const descriptors = new Uint8Array(perImage * 128);
    for (let f = 0; f < perImage; f++) {
      const p = protos[Math.floor(rand() * protos.length)];
      for (let k = 0; k < 128; k++) descriptors[128 * f + k] = Math.max(0, Math.min(255, p[k] + Math.round((rand() - 0.5) * 30)));
    }
    return { width: 100, height: 100, count: perImage, keypoints: new Float32Array(4 * perImage), descriptors };
  });
}

describe('selectPairs', () => {
  it('is exhaustive up to 60 images', () => {
    const pairs = selectPairs(60);
    expect(pairs).toHaveLength((60 * 59) / 2);
    expect(pairs.every(([i, j]) => i < j)).toBe(true);
  });

  it('beyond 60: retrieval neighbours plus sequence neighbours, deduplicated, i < j', () => {
    const n = 100;
    // Global descriptors: 5 groups (i mod 5) of near-identical vectors.
    const g = Array.from({ length: n }, (_, i) => {
      const v = new Float32Array(8);
      v[i % 5] = 1;
      v[5 + (i % 3)] = 0.01 * (i / n);
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    });
    const pairs = selectPairs(n, { globalDescriptors: g, neighbours: 4, sequence: 3 });
    const keys = new Set(pairs.map(([i, j]) => `${i},${j}`));
    expect(keys.size).toBe(pairs.length);
    expect(pairs.every(([i, j]) => i < j && j < n)).toBe(true);
    for (let i = 0; i + 3 < n; i++) for (let d = 1; d <= 3; d++) expect(keys.has(`${i},${i + d}`)).toBe(true);
    // Every image has at least 4 retrieval partners of its own group.
    for (let i = 0; i < n; i++) {
      const same = pairs.filter(([a, b]) => (a === i || b === i) && (a % 5) === (b % 5)).length;
      expect(same).toBeGreaterThanOrEqual(4);
    }
    expect(pairs.length).toBeLessThanOrEqual(n * (4 + 3));
    expect(() => selectPairs(n)).toThrow(/global descriptor/);
  });
});

describe('bag-of-words global descriptors', () => {
  it('images of the same scene are more similar than images of different scenes', async () => {
    const features = sceneFeatures(12, 3, 120, 7);
    const g = await computeGlobalDescriptorsCpu(features, { words: 48, sample: 1200, iterations: 5 });
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, v, k) => s + v * b[k], 0);
    let worstSame = Infinity, bestOther = -Infinity;
    for (let i = 0; i < 12; i++) for (let j = i + 1; j < 12; j++) {
      const c = cos(g[i], g[j]);
      if (i % 3 === j % 3) worstSame = Math.min(worstSame, c);
      else bestOther = Math.max(bestOther, c);
    }
    expect(worstSame).toBeGreaterThan(bestOther);
    const pairs = selectPairs(features, { exhaustiveUpTo: 4, neighbours: 3, sequence: 0, globalDescriptors: g });
    expect(pairs.every(([i, j]) => i % 3 === j % 3)).toBe(true);
  });
});

describe('ratio and mutual tests', () => {
  it('keep unambiguous mutual nearest neighbours only', () => {
    const A = new Uint8Array(3 * 128), B = new Uint8Array(3 * 128);
    A.fill(0); B.fill(0);
    A[0] = 200; B[0] = 198;                 // A0 <-> B0: clear match
    A[128 + 1] = 200; B[128 + 2] = 150; B[256 + 2] = 150; // A1: two equal candidates -> ratio test fails
    A[256 + 3] = 100;                        // A2 nearest is B0? all far; mutual check decides
    const f = nearestCpu(A, B), b = nearestCpu(B, A);
    const m = filterMatches(f, b);
    expect(Array.from(m)).toEqual([0, 0]);
    expect(f.index[1]).toBe(1); // the tie goes to the lower index
    expect(f.d1[1]).toBe(f.d2[1]);
  });
});
