import { describe, expect, it } from 'vitest';
import { lookAt, makeK } from '../../src/core/camera';
import { estimateGains, gainObservations, type BakeInput, type BakeView } from '../../src/stages/texture/bake';

// A textured square (z = 0, facing +z; a 20 x 20 grid, since the sampling draws 4 points per face at most) seen by
// three cameras whose photos are the same albedo times an exposure.
const n = 20;
const grid: number[] = [], idx: number[] = [];
for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) grid.push(-1 + (2 * i) / n, -1 + (2 * j) / n, 0);
for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
  const a = j * (n + 1) + i;
  idx.push(a, a + 1, a + n + 2, a, a + n + 2, a + n + 1);
}
const input: BakeInput = {
  positions: Float32Array.from(grid),
  normals: Float32Array.from(grid.map((_, k) => (k % 3 === 2 ? 1 : 0))),
  indices: Uint32Array.from(idx),
  uvs: Float32Array.from(grid.filter((_, k) => k % 3 !== 2).map((v) => (v + 1) / 2)),
  atlasSize: 64,
};
const size = 96;
const K = makeK(80, 80, (size - 1) / 2, (size - 1) / 2);
const exposures = [0.8, 1.0, 1.25];
const eyes = [[0.2, 0.1, 3], [-0.3, 0.2, 3.2], [0.1, -0.3, 2.9]];
const albedo = (x: number, y: number) => 90 + 50 * Math.sin(3 * x) * Math.cos(2 * y);
const views: BakeView[] = eyes.map((eye, k) => {
  const camFromWorld = lookAt(eye, [0, 0, 0]);
  const rgba = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) for (let px = 0; px < size; px++) {
    // the ray through the pixel meets z = 0 at (x, y): camera axes are the rows of camFromWorld
    const d = [(px - K[2]) / K[0], (py - K[5]) / K[4], 1];
    const r = camFromWorld;
    const dir = [0, 1, 2].map((c) => r[c] * d[0] + r[4 + c] * d[1] + r[8 + c] * d[2]);
    const t = -eye[2] / dir[2];
    const v = Math.round(exposures[k] * albedo(eye[0] + t * dir[0], eye[1] + t * dir[1]));
    rgba.set([v, v, v, 255], 4 * (py * size + px));
  }
  return { width: size, height: size, K, camFromWorld, rgba };
});
const offsets = views.map((_, k) => k * size * size);

/** The plane's camera z at the observations' pixels (the mesh's depth maps, as the GPU would gather them). */
function planeDepth(pixels: Uint32Array, hide?: number): Float32Array {
  return Float32Array.from(pixels, (global) => {
    const k = Math.floor(global / (size * size)), i = global % (size * size);
    const px = i % size, py = Math.floor(i / size);
    const c = views[k].camFromWorld;
    // z of the plane point on the pixel's ray, in camera coordinates: solve n.(C + t R^T d) = 0 with t = z
    const d = [(px - K[2]) / K[0], (py - K[5]) / K[4], 1];
    const dirZ = c[2] * d[0] + c[6] * d[1] + c[10] * d[2];
    const z = -eyes[k][2] / dirZ;
    return k === hide ? 0.5 * z : z;
  });
}

describe('exposure compensation (bake.ts)', () => {
  it('recovers the relative exposures of the photos from the surface points they share', () => {
    const obs = gainObservations(input, views, offsets);
    expect(obs.count).toBeGreaterThan(1000);
    // five depth pixels per observation: the pixel, then +-2 px along x and y
    const [a, b, c, d, e] = obs.pixels.subarray(0, 5);
    expect([b - a, a - c, d - a, a - e]).toEqual([2, 2, 2 * size, 2 * size]);
    const gains = estimateGains(obs, planeDepth(obs.pixels), views.length);
    const mean = Math.exp(exposures.reduce((s, g) => s + Math.log(g), 0) / exposures.length);
    gains.forEach((g, k) => expect(g).toBeCloseTo(exposures[k] / mean, 2));
  });

  it('does not count a photo where the mesh hides the points', () => {
    // view 2's photo twice as bright, but its depth maps put something in front of every point: were its observations
    // counted, its gain would come out 2.5x view 1's
    const bright = views.map((v, k) => (k === 2 ? { ...v, rgba: v.rgba.map((x, i) => (i % 4 === 3 ? x : Math.min(249, 2 * x))) } : v));
    const obs = gainObservations(input, bright, offsets);
    const gains = estimateGains(obs, planeDepth(obs.pixels, 2), views.length);
    expect(gains[0] / gains[1]).toBeCloseTo(exposures[0] / exposures[1], 2);
    expect(gains[2] / gains[1]).toBeLessThan(1.2);
    // and counted when nothing hides it
    const seen = estimateGains(obs, planeDepth(obs.pixels), views.length);
    expect(seen[2] / seen[1]).toBeGreaterThan(2);
  });
});
