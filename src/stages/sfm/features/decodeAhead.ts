/**
 * DECODE_AHEAD_RULE (see runSfm.ts): the images for the feature kernels, each decoded `ahead` images before the
 * kernels ask for it, so that decoding overlaps the GPU's work on the previous images and several decodes can run at
 * once. Images are asked for in index order; one handed out is forgotten here (at most ahead + 1 held or decoding).
 */
import type { RgbaImage } from '../../../core/mesh';
import type { FeatureImageSource } from './siftGpu';

export function decodeAhead(count: number, ahead: number, decode: (index: number) => Promise<RgbaImage>): FeatureImageSource {
  const pending = new Map<number, Promise<RgbaImage>>();
  return {
    count,
    image(index: number): Promise<RgbaImage> {
      for (let k = index; k <= Math.min(count - 1, index + ahead); k++) if (!pending.has(k)) pending.set(k, decode(k));
      const image = pending.get(index)!;
      pending.delete(index);
      return image;
    },
  };
}
