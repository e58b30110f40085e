/**
 * Photo decoding in the worker: createImageBitmap honours EXIF orientation ('from-image'), downscales once to the
 * working size with high-quality resampling, and an OffscreenCanvas gives the RGBA bytes (alpha not premultiplied,
 * so RGBA renders keep their colours under the mask).
 */
import type { RgbaImage } from '../core/mesh';

export interface DecodedPhoto {
  /** Size after orientation, before downscaling. */
  fullWidth: number;
  fullHeight: number;
  image: RgbaImage;
}

/** Decodes `bytes`; the result's long side is at most `maxLongSide`. Throws when the browser cannot decode it. */
export type PhotoDecoder = (bytes: ArrayBuffer, mime: string, maxLongSide: number) => Promise<DecodedPhoto>;

export function mimeOf(ext: string): string {
  const e = ext.toLowerCase();
  return e === 'jpg' || e === 'jpeg' ? 'image/jpeg' : e === 'png' ? 'image/png' : e === 'webp' ? 'image/webp' : e === 'avif' ? 'image/avif' : e === 'gif' ? 'image/gif' : e === 'bmp' ? 'image/bmp' : 'application/octet-stream';
}

export function workingSize(width: number, height: number, maxLongSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxLongSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export const decodePhotoInBrowser: PhotoDecoder = async (bytes, mime, maxLongSide) => {
  const blob = new Blob([bytes], { type: mime });
  const full = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  try {
    const size = workingSize(full.width, full.height, maxLongSide);
    let bitmap = full;
    if (size.width !== full.width || size.height !== full.height) {
      bitmap = await createImageBitmap(full, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: 'high', premultiplyAlpha: 'none' });
    }
    try {
      const canvas = new OffscreenCanvas(size.width, size.height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new Error('no 2d context');
      ctx.drawImage(bitmap, 0, 0);
      const data = ctx.getImageData(0, 0, size.width, size.height).data;
      return { fullWidth: full.width, fullHeight: full.height, image: { width: size.width, height: size.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) } };
    } finally {
      if (bitmap !== full) bitmap.close();
    }
  } finally {
    full.close();
  }
};

/** The browser decoder where createImageBitmap exists (the worker, the page); undefined in Node, where stages fall
 * back to the working images. */
export function availablePhotoDecoder(): PhotoDecoder | undefined {
  return typeof createImageBitmap === 'function' ? decodePhotoInBrowser : undefined;
}
