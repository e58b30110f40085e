import { describe, expect, it } from 'vitest';
import { cameraCentre, lookAt, makeK, quaternionToRotation, type Pose } from '../../src/core/camera';
import { scoreCameras, type CameraPair } from '../../src/eval/cameras';
import { pointTriangleDistance2, scoreGeometry, TriangleGrid, transformPositions } from '../../src/eval/geometry';
import { errorBreakdown, psnr, ssim } from '../../src/eval/image';
import { seededRandom } from '../../src/ml/onnxBuilder';

/** A UV sphere. */
function sphere(r: number, seg = 48): { positions: Float32Array; indices: Uint32Array } {
  const pos: number[] = [], idx: number[] = [];
  for (let i = 0; i <= seg; i++) for (let j = 0; j <= seg; j++) {
    const t = (Math.PI * i) / seg, p = (2 * Math.PI * j) / seg;
    pos.push(r * Math.sin(t) * Math.cos(p), r * Math.cos(t), r * Math.sin(t) * Math.sin(p));
  }
  for (let i = 0; i < seg; i++) for (let j = 0; j < seg; j++) {
    const a = i * (seg + 1) + j, b = a + seg + 1;
    idx.push(a, b, a + 1, a + 1, b, b + 1);
  }
  return { positions: new Float32Array(pos), indices: new Uint32Array(idx) };
}

describe('geometry scores', () => {
  it('point-to-triangle distance handles faces, edges and corners', () => {
    const [a, b, c] = [[0, 0, 0], [1, 0, 0], [0, 1, 0]];
    expect(pointTriangleDistance2([0.2, 0.2, 3], a, b, c)).toBeCloseTo(9);
    expect(pointTriangleDistance2([-1, -1, 0], a, b, c)).toBeCloseTo(2);
    expect(pointTriangleDistance2([1, 1, 0], a, b, c)).toBeCloseTo(0.5);
  });
  it('the grid query equals brute force', () => {
    const s = sphere(1, 16);
    const grid = new TriangleGrid(s, 8);
    const rand = seededRandom(3);
    for (let k = 0; k < 200; k++) {
      const p = [rand() * 4 - 2, rand() * 4 - 2, rand() * 4 - 2];
      let best = Infinity;
      for (let f = 0; f < s.indices.length; f += 3) {
        const v = [0, 1, 2].map((i) => [...s.positions.subarray(s.indices[f + i] * 3, s.indices[f + i] * 3 + 3)]);
        best = Math.min(best, pointTriangleDistance2(p, v[0], v[1], v[2]));
      }
      expect(grid.distance(p)).toBeCloseTo(Math.sqrt(best), 6);
    }
  });
  it('scores a result equal to the truth as perfect and a 1% scale as that', () => {
    const gt = sphere(1);
    const same = scoreGeometry(gt, gt, 5000);
    expect(same.chamfer).toBeLessThan(1e-6);
    expect(same.fscore005).toBe(1);
    const bigger = { positions: transformPositions(gt.positions, [1.01, 0, 0, 0, 0, 1.01, 0, 0, 0, 0, 1.01, 0]), indices: gt.indices };
    const s = scoreGeometry(bigger, gt, 5000);
    // every point moves 0.01 radially; the bbox diagonal is 2*sqrt(3)
    const expected = 0.01 / (2 * Math.sqrt(3));
    expect(s.accuracy).toBeCloseTo(expected, 3);
    expect(s.completeness).toBeCloseTo(expected * 0.99, 3);
    expect(s.fscore01).toBe(1);
    expect(s.fscore005).toBe(1);
    expect(scoreGeometry({ positions: transformPositions(gt.positions, [1.03, 0, 0, 0, 0, 1.03, 0, 0, 0, 0, 1.03, 0]), indices: gt.indices }, gt, 5000).fscore005).toBe(0);
  });
});

describe('camera scores', () => {
  const truth: Pose[] = Array.from({ length: 8 }, (_, i) => lookAt([3 * Math.cos(i), 0.5 * (i % 3), 3 * Math.sin(i)], [0, 0, 0]));
  const K = makeK(500, 500, 320, 240);
  it('is perfect for the truth seen through any similarity', () => {
    // The estimate lives in another frame: x_est = s R x_true + t. A camera keeps its rotation relative to the
    // world axes (R_est = R_cam R^T) and its centre maps with the similarity.
    const R = quaternionToRotation([0.9, 0.1, -0.3, 0.2]);
    const s = 2.5, t = [1, -2, 3];
    const pairs: CameraPair[] = truth.map((p, i) => {
      const rc = [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
      const re = Array.from({ length: 9 }, (_, k) => rc[Math.floor(k / 3) * 3] * R[(k % 3) * 3] + rc[Math.floor(k / 3) * 3 + 1] * R[(k % 3) * 3 + 1] + rc[Math.floor(k / 3) * 3 + 2] * R[(k % 3) * 3 + 2]);
      const c = cameraCentre(p);
      const ce = [0, 1, 2].map((r) => s * (R[r * 3] * c[0] + R[r * 3 + 1] * c[1] + R[r * 3 + 2] * c[2]) + t[r]);
      const te = [0, 1, 2].map((r) => -(re[r * 3] * ce[0] + re[r * 3 + 1] * ce[1] + re[r * 3 + 2] * ce[2]));
      return { name: `v${i}`, estimated: { K, camFromWorld: [re[0], re[1], re[2], te[0], re[3], re[4], re[5], te[1], re[6], re[7], re[8], te[2]] }, truth: { K, camFromWorld: p } };
    });
    const score = scoreCameras(pairs);
    expect(score.registered).toBe(8);
    expect(score.rotationErrorDeg.max).toBeLessThan(1e-4);
    expect(score.centreErrorRel.max).toBeLessThan(1e-9);
    expect(score.relativeRotationErrorDeg.max).toBeLessThan(1e-4);
  });
  it('reports a 2 degree rotation of one camera as exactly that', () => {
    const tilt = quaternionToRotation([Math.cos(Math.PI / 180), Math.sin(Math.PI / 180), 0, 0]);
    const pairs: CameraPair[] = truth.map((p, i) => {
      if (i !== 3) return { name: `v${i}`, estimated: { K, camFromWorld: p }, truth: { K, camFromWorld: p } };
      // rotate the camera about its own centre: R' = tilt * R, t' = tilt * t
      const r = [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
      const rt = Array.from({ length: 9 }, (_, k) => tilt[Math.floor(k / 3) * 3] * r[k % 3] + tilt[Math.floor(k / 3) * 3 + 1] * r[3 + (k % 3)] + tilt[Math.floor(k / 3) * 3 + 2] * r[6 + (k % 3)]);
      const t = [p[3], p[7], p[11]];
      const tt = [0, 1, 2].map((k) => tilt[k * 3] * t[0] + tilt[k * 3 + 1] * t[1] + tilt[k * 3 + 2] * t[2]);
      return { name: `v${i}`, estimated: { K, camFromWorld: [rt[0], rt[1], rt[2], tt[0], rt[3], rt[4], rt[5], tt[1], rt[6], rt[7], rt[8], tt[2]] }, truth: { K, camFromWorld: p } };
    });
    const score = scoreCameras(pairs);
    expect(score.rotationErrorDeg.max).toBeCloseTo(2, 6);
    expect(score.perCamera.find((c) => c.name === 'v3')!.rotationErrorDeg).toBeCloseTo(2, 6);
    expect(score.centreErrorRel.max).toBeLessThan(1e-9);
    expect(score.relativeRotationErrorDeg.max).toBeCloseTo(2, 6);
  });
});

describe('image metrics', () => {
  const w = 64, h = 48;
  const img = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
  it('PSNR of an image with itself is infinite and SSIM is 1', () => {
    expect(psnr(img, img)).toBe(Infinity);
    expect(ssim(img, img, w, h)).toBeCloseTo(1, 12);
  });
  it('PSNR against a copy with known noise is the known value', () => {
    // +-8 on every channel (clamped values excluded by choosing them away from 0/255): MSE 64 -> 30.07 dB
    const base = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : 20 + ((i * 37) % 200)));
    const noisy = base.map((v, i) => (i % 4 === 3 ? v : v + ((i >> 2) % 2 ? 8 : -8)));
    expect(psnr(base, noisy)).toBeCloseTo(10 * Math.log10((255 * 255) / 64), 10);
    const mask = new Uint8Array(w * h);
    mask[5] = 255;
    expect(psnr(base, noisy, mask)).toBeCloseTo(10 * Math.log10((255 * 255) / 64), 10);
    expect(ssim(base, noisy, w, h)).toBeLessThan(1);
  });
});

describe('error breakdown', () => {
  // A 40x40 square object (mask) on a 64x64 view; the render misses a 6x6 hole in its middle-left, paints a flat
  // +20 over a 10x10 interior patch and gets the outline's colour wrong. Each error must land in its own class.
  const w = 64, h = 64;
  const inside = (x: number, y: number) => x >= 12 && x < 52 && y >= 12 && y < 52;
  const hole = (x: number, y: number) => x >= 20 && x < 26 && y >= 30 && y < 36;
  const patch = (x: number, y: number) => x >= 34 && x < 44 && y >= 20 && y < 30;
  const mask = new Uint8Array(w * h), truth = new Uint8Array(w * h * 4), rendered = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    mask[i] = inside(x, y) ? 255 : 0;
    for (let c = 0; c < 3; c++) truth[4 * i + c] = inside(x, y) ? 100 : 0;
    truth[4 * i + 3] = 255;
    const covered = (inside(x, y) || (x === 52 && y > 20 && y < 40)) && !hole(x, y);
    const onOutline = inside(x, y) && (x < 14 || x >= 50 || y < 14 || y >= 50);
    for (let c = 0; c < 3; c++) rendered[4 * i + c] = !covered ? 0 : onOutline ? 110 : patch(x, y) ? 120 : 100;
    rendered[4 * i + 3] = covered ? 255 : 0;
  }
  const b = errorBreakdown(rendered, truth, mask, w, h, 2, 4);
  it('puts each error in its class and the shares add up to one', () => {
    const holeSse = 36 * 3 * 100 * 100, patchSse = 100 * 3 * 400;
    const outlinePixels = 40 * 40 - 36 * 36, outlineSse = outlinePixels * 3 * 100;
    const total = holeSse + patchSse + outlineSse;
    expect(b.pixels).toBe(1600);
    expect(b.classes.outline.pixels).toBe(outlinePixels);
    expect(b.classes.outline.sse).toBe(outlineSse);
    expect(b.classes.miss.pixels).toBe(36);
    expect(b.classes.miss.sse).toBe(holeSse);
    // the ring of covered pixels within 2 px of the hole: 10x10 minus the hole, error free
    expect(b.classes.meshEdge.pixels).toBe(100 - 36);
    expect(b.classes.meshEdge.sse).toBe(0);
    expect(b.classes.interior.sse).toBe(patchSse);
    const shares = Object.values(b.classes).reduce((s, c) => s + c.share, 0);
    expect(shares).toBeCloseTo(1, 12);
    expect(b.classes.miss.share).toBeCloseTo(holeSse / total, 12);
    expect(b.psnr).toBeCloseTo(psnr(rendered, truth, mask), 10);
    expect(b.classes.miss.psnrWithout).toBeCloseTo(10 * Math.log10((255 * 255 * 3 * 1600) / (total - holeSse)), 10);
    // the render's strip right of the object, outside the mask
    expect(b.spillPixels).toBe(19);
  });
  it('calls a flat offset low-frequency and pixel noise detail', () => {
    // the patch's flat +20 survives the 9x9 box mostly (its edges do not)
    expect(b.interiorLowShare).toBeGreaterThan(0.4);
    const noisy = truth.map((v, i) => (i % 4 === 3 || !mask[i >> 2] ? v : v + (((i >> 2) + ((i >> 2) >> 6)) % 2 ? 10 : -10)));
    const n = errorBreakdown(noisy, truth, mask, w, h, 2, 4);
    expect(n.interiorHighShare).toBeGreaterThan(0.95);
    expect(n.interiorLowShare).toBeLessThan(0.05);
  });
});
