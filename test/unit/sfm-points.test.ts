import { describe, expect, it } from 'vitest';
import { pointColors } from '../../src/stages/sfm/runSfm';
import type { ImageFeatures } from '../../src/stages/sfm/types';

describe('sparse point colours', () => {
  it('the mean of the observations, sampled at the keypoints mapped from feature-image to working-image pixels', () => {
    // View 0: working 4x4, features found at 2x (8x8); left half red, right half blue. View 1: working 8x8, features at 1x, all green.
    const img = (w: number, h: number, rgb: (x: number) => number[]) => ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb((i >> 2) % w)[i % 4])) });
    const views = [{ image: img(4, 4, (x) => (x < 2 ? [255, 0, 0] : [0, 0, 255])) }, { image: img(8, 8, () => [0, 200, 0]) }];
    const feat = (kp: number[]): ImageFeatures => ({ width: 8, height: 8, count: kp.length / 4, keypoints: Float32Array.from(kp), descriptors: new Uint8Array(0) });
    const features = [feat([0.5, 3, 1, 0, 6.5, 3, 1, 0]), feat([2, 2, 1, 0])];
    // Point 0: view 0 feature 0 (red) + view 1 feature 0 (green); point 1: view 0 feature 1 (blue) only.
    const colors = pointColors({ pointObservations: Uint32Array.of(0, 0, 1, 0, 0, 1), pointObservationStart: Uint32Array.of(0, 2, 3) }, views as never, features, [2, 1]);
    expect(Array.from(colors)).toEqual([128, 100, 0, 0, 0, 255]);
  });
});
