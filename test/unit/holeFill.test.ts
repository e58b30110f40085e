import { describe, expect, it } from 'vitest';
import { DEFAULT_HOLE_FILL, fillDepthHoles } from '../../src/stages/depth/holeFill';

const W = 40, H = 30;
/** A slanted plane: depth 1 + 0.004 x + 0.002 y (0.4% per pixel). */
const plane = (x: number, y: number) => 1 + 0.004 * x + 0.002 * y;

describe('fillDepthHoles', () => {
  it('fills enclosed holes of a slanted plane with the plane depth', () => {
    const d = new Float32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) d[y * W + x] = plane(x, y);
    // a 3x3 hole, a 1-pixel hole and a speckle of missing pixels
    for (let y = 10; y < 13; y++) for (let x = 10; x < 13; x++) d[y * W + x] = 0;
    d[20 * W + 30] = 0;
    for (let i = 0; i < W * H; i += 7) d[i] = 0;
    const missing = d.filter((v) => v === 0).length;
    const filled = fillDepthHoles(d, 1, W, H);
    // Interior holes are all filled; only border pixels without a depth on both sides may stay empty.
    let interiorEmpty = 0, maxError = 0;
    for (let y = 3; y < H - 3; y++) for (let x = 3; x < W - 3; x++) {
      const v = d[y * W + x];
      if (v === 0) interiorEmpty++;
      else maxError = Math.max(maxError, Math.abs(v - plane(x, y)) / plane(x, y));
    }
    expect(interiorEmpty).toBe(0);
    expect(filled).toBeGreaterThan(0.8 * missing);
    expect(maxError).toBeLessThan(1e-5);
  });

  it('does not grow a silhouette and does not bridge an occlusion edge', () => {
    const d = new Float32Array(W * H);
    // Left half: a surface at depth 1; right half: a surface at depth 1.3 (an occlusion edge at x = 20), a gap column
    // of missing pixels between them, and an empty band (background) at the top.
    for (let y = 8; y < H; y++) for (let x = 0; x < W; x++) d[y * W + x] = x < 20 ? 1 : x > 20 ? 1.3 : 0;
    fillDepthHoles(d, 1, W, H, { ...DEFAULT_HOLE_FILL, iterations: 3 });
    for (let y = 0; y < 8; y++) for (let x = 0; x < W; x++) expect(d[y * W + x]).toBe(0);
    for (let y = 8; y < H; y++) expect(d[y * W + 20]).toBe(0);
  });
});
