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

/**
 * Decodes a photo straight to width x height in one createImageBitmap call (resizeWidth/resizeHeight on the Blob,
 * 'high' quality), where the working decoder (src/io/decode.ts) decodes at full size and then resizes the bitmap.
 * Same pixels: measured identical, byte for byte, on all 22 JPEGs of fountain (3072x2048 -> 1600x1067) and sceaux in
 * Debian's Chromium. What changes is where the work runs: the bitmap-to-bitmap resize runs synchronously on the
 * calling thread (40-100 ms per fountain photo on a 2-core machine), while this call returns at once and decodes and
 * resizes on Chromium's decoder threads, so the photos decoded ahead (decodeAhead) resize in parallel too.
 * Only for a downscale of a photo whose stored size is its displayed size (no EXIF rotation by 90 degrees): see
 * canDecodeResized.
 */
export async function decodeResizedInBrowser(bytes: ArrayBuffer, mime: string, width: number, height: number): Promise<RgbaImage> {
  const bitmap = await createImageBitmap(new Blob([bytes], { type: mime }), {
    imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none', resizeWidth: width, resizeHeight: height, resizeQuality: 'high',
  });
  try {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d context');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } finally {
    bitmap.close();
  }
}

/**
 * Whether decodeResizedInBrowser gives what the working decoder would: a real downscale (the working decoder does not
 * resize a photo that fits), and a file whose header size is the photo's (oriented) full size, so that the requested
 * size is in the same orientation as the decoded one (an EXIF rotation by 90 degrees swaps them: left to the working
 * decoder).
 */
export function canDecodeResized(header: { width: number; height: number } | null, fullWidth: number, fullHeight: number, width: number, height: number): boolean {
  return !!header && header.width === fullWidth && header.height === fullHeight && width * height < fullWidth * fullHeight;
}
