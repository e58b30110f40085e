import { describe, expect, it } from 'vitest';
import { confidentMatches, LIGHTERGLUE_MIN_SCORE, retrievalBytes, toImage } from '../../src/stages/sfm/features/learned';
import { bilinearPlanes } from '../../src/ml/planes';

describe('learned features (XFeat + LighterGlue) glue', () => {
  // A 40 x 30 landscape image whose red channel is its column and green its row.
  const W = 40, H = 30;
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([x * 6, y * 8, 0, 255], 4 * (y * W + x));
  const image = { width: W, height: H, data };

  for (const turn of [false, true]) {
    it(`maps the model input's pixels back to the photo's (${turn ? 'turned a quarter turn' : 'not turned'})`, () => {
      // Portrait model input (as XFeat's 360 x 640); a landscape photo is turned when the capture is mostly landscape.
      const inW = 15, inH = 20;
      const planes = bilinearPlanes(image, inW, inH, turn);
      for (const [mx, my] of [[2, 3], [7, 10], [14, 19], [0, 0]]) {
        const [x, y] = toImage(mx, my, inW, inH, W, H, turn);
        expect(x).toBeGreaterThanOrEqual(-0.5);
        expect(y).toBeLessThanOrEqual(H - 0.5);
        // The input pixel holds the photo's colour at the mapped position (red = 6 x column, green = 8 x row).
        const cx = Math.min(W - 1, Math.max(0, x)), cy = Math.min(H - 1, Math.max(0, y));
        expect(planes[0 * inW * inH + my * inW + mx] * 255).toBeCloseTo(cx * 6, 0);
        expect(planes[1 * inW * inH + my * inW + mx] * 255).toBeCloseTo(cy * 8, 0);
      }
    });
  }

  it('retrieval bytes keep the sign split of a unit descriptor', () => {
    const d = new Float32Array(128);
    d[0] = 3; d[1] = -4; d[64 + 5] = 1;
    const b = retrievalBytes(d, 2);
    expect(b.length).toBe(256);
    expect([b[0], b[1], b[64 + 1]]).toEqual([153, 0, 204]);
    expect(b[128 + 5]).toBe(255);
    expect(b.reduce((s, v) => s + v, 0)).toBe(153 + 204 + 255);
  });

  it('keeps LighterGlue matches at the score threshold or above, with valid indices', () => {
    const pairs = BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 9n, 5n, 0n]);
    const scores = Float32Array.from([0.9, LIGHTERGLUE_MIN_SCORE - 0.01, 0.8, LIGHTERGLUE_MIN_SCORE]);
    expect(Array.from(confidentMatches(pairs, scores, 6, 5))).toEqual([0, 1, 5, 0]);
  });
});
