import { describe, expect, it } from 'vitest';
import { analyticViews } from '../../src/bench/kernelChecks';
import { removeSmallComponents } from '../../src/core/mesh';
import { FUSION_FLOATER_FILTER, meshFromRaw } from '../../src/stages/fusion/fusion';
import { boundsFromDepth, volumeSpecFor } from '../../src/stages/fusion/fuseDepth';

describe('fusion host code', () => {
  it('bounds the back-projected depth of a box tightly, with a small margin', () => {
    const views = analyticViews('box', 12, 160, 120);
    const t = performance.now();
    const b = boundsFromDepth(views);
    const ms = performance.now() - t;
    // box: centre 0.5, half extents 0.3, 0.2, 0.25; margin 4% of the largest extent (0.6) = 0.024
    const expected = { min: [0.2, 0.3, 0.25], max: [0.8, 0.7, 0.75] };
    for (let k = 0; k < 3; k++) {
      expect(b.min[k]).toBeLessThan(expected.min[k]);
      expect(b.min[k]).toBeGreaterThan(expected.min[k] - 0.04);
      expect(b.max[k]).toBeGreaterThan(expected.max[k]);
      expect(b.max[k]).toBeLessThan(expected.max[k] + 0.04);
    }
    expect(ms).toBeLessThan(2000);
    const spec = volumeSpecFor(b, 128);
    expect(Math.max(...spec.dims)).toBe(128);
    expect(spec.truncation).toBeCloseTo(4 * spec.voxelSize);
  });

  it('removes small components and compacts vertices', () => {
    // a big fan of 100 triangles around vertex 0 and one stray triangle
    const positions: number[] = [0, 0, 0];
    const indices: number[] = [];
    for (let k = 0; k <= 100; k++) positions.push(Math.cos(k / 16), Math.sin(k / 16), 0);
    for (let k = 1; k <= 100; k++) indices.push(0, k, k + 1);
    const stray = positions.length / 3;
    positions.push(5, 5, 5, 6, 5, 5, 5, 6, 5);
    indices.push(stray, stray + 1, stray + 2);
    const n = positions.length / 3;
    const raw = { positions: new Float32Array(positions), normals: new Float32Array(n * 3), colors: new Uint32Array(n).fill(0x00ff8040), indices: new Uint32Array(indices) };
    const out = removeSmallComponents(meshFromRaw(raw), FUSION_FLOATER_FILTER);
    expect(out.indices.length / 3).toBe(100);
    expect(out.positions.length / 3).toBe(102);
    expect(out.removedFaces).toBe(1);
    expect(out.components).toBe(2);
    expect(out.keptComponents).toBe(1);
    expect([...out.colors!.subarray(0, 3)]).toEqual([0x40, 0x80, 0xff]);
  });
});
