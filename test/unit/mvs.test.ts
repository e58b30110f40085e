import { describe, expect, it } from 'vitest';
import { lookAt, projectPoint, unprojectPixel } from '../../src/core/camera';
import { convergencePoint, selectSources, sourceProjection } from '../../src/stages/depth/planeSweep';

describe('plane-sweep geometry', () => {
  const Kr = [300, 0, 159.5, 0, 310, 119.5, 0, 0, 1], Ks = [280, 0, 150, 0, 290, 125, 0, 0, 1];
  const poseR = lookAt([1.5, 0.3, 0.2], [0, 0, 0]), poseS = lookAt([1.1, 0.5, 1.0], [0.05, 0, 0]);
  it('maps a reference pixel at a depth to where the source camera sees the same point', () => {
    const { A, b } = sourceProjection(Kr, poseR, Ks, poseS);
    for (const [u, v, d] of [[10, 20, 1.2], [160, 120, 1.5], [300, 230, 2.1]]) {
      const X = unprojectPixel(Kr, poseR, u, v, d);
      const direct = projectPoint(Ks, poseS, X[0], X[1], X[2]);
      const h = [0, 1, 2].map((r) => d * (A[r * 3] * u + A[r * 3 + 1] * v + A[r * 3 + 2]) + b[r]);
      expect(h[0] / h[2]).toBeCloseTo(direct.u, 6);
      expect(h[1] / h[2]).toBeCloseTo(direct.v, 6);
      expect(h[2]).toBeCloseTo(direct.depth, 9);
    }
  });
  it('finds where cameras on a ring look, and picks sources with useful baselines', () => {
    const poses = Array.from({ length: 12 }, (_, i) => lookAt([2 * Math.cos(i / 4), 0.4, 2 * Math.sin(i / 4)], [0.1, 0.2, -0.1]));
    const c = convergencePoint(poses);
    expect(c[0]).toBeCloseTo(0.1, 6);
    expect(c[1]).toBeCloseTo(0.2, 6);
    const sources = selectSources(poses, c);
    expect(sources[0].length).toBeGreaterThanOrEqual(3);
    expect(sources[0]).not.toContain(0);
  });
});
