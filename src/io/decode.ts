/**
 * Photo decoding in the worker: createImageBitmap honours EXIF orientation ('from-image'), downscales once to the
 * working size with high-quality resampling, and an OffscreenCanvas gives the RGBA bytes (alpha not premultiplied,
 * so RGBA renders keep their colours under the mask).
 */
import type { RgbaImage } from '../core/mesh';
import { sniffImage } from './imageHeader';

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

/** A bitmap's RGBA bytes (through an OffscreenCanvas; alpha as decoded). */
function bitmapPixels(bitmap: ImageBitmap): RgbaImage {
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2d context');
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, width, height).data;
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
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
      return { fullWidth: full.width, fullHeight: full.height, image: bitmapPixels(bitmap) };
    } finally {
      if (bitmap !== full) bitmap.close();
    }
  } finally {
    full.close();
  }
};

/**
 * How many photos decode ahead of the one being used. createImageBitmap decodes a Blob on the browser's image-decoding
 * threads, so while the worker's thread works on photo k (resampling, masks, its own JS), photos k+1..k+AHEAD decode
 * beside it. Each in-flight decode holds one full-size bitmap (a 12 MP photo: 48 MB), hence a small number.
 */
export const DECODE_AHEAD = 3;

/**
 * In-order access to decodes that run `ahead` items in front: `take(k)` for k = 0, 1, 2, ... (in that order) returns
 * item k's decode (null where `decode` returned null: nothing to decode) and starts the ones up to k + ahead. A
 * failed decode rejects only its own take; one never taken (the caller stopped, e.g. cancelled) is dropped quietly.
 */
export function decodeAhead<T>(count: number, decode: (k: number) => Promise<T> | null, ahead = DECODE_AHEAD): (k: number) => Promise<T> | null {
  const pending = new Map<number, Promise<T> | null>();
  let next = 0;
  return (k: number) => {
    while (next < count && next <= k + ahead) {
      let p: Promise<T> | null;
      try {
        p = decode(next);
      } catch (error) {
        p = Promise.reject(error);
      }
      p?.catch(() => undefined);
      pending.set(next++, p);
    }
    const p = pending.get(k) ?? null;
    pending.delete(k);
    return p;
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
    return bitmapPixels(bitmap);
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

/** The browser decoder where createImageBitmap exists (the worker, the page); undefined in Node, where stages fall
 * back to the working images. */
export function availablePhotoDecoder(): PhotoDecoder | undefined {
  return typeof createImageBitmap === 'function' ? decodePhotoInBrowser : undefined;
}

/** decodeResizedInBrowser where createImageBitmap exists; undefined in Node. */
export function availableResizingDecoder(): ResizingDecoder | undefined {
  return typeof createImageBitmap === 'function' ? decodeResizedInBrowser : undefined;
}

/** Decodes a photo straight to width x height (decodeResizedInBrowser). */
export type ResizingDecoder = (bytes: ArrayBuffer, mime: string, width: number, height: number) => Promise<RgbaImage>;

/**
 * A photo decoded again with its long side at most `maxLongSide` (workingSize of its full size): in one step through
 * `decodeResized` where that gives decodePhoto's pixels (canDecodeResized), so the resize runs on the decoder threads
 * and not on the caller's; otherwise through `decodePhoto`.
 */
export async function decodeAtMost(source: { bytes: ArrayBuffer; mime: string }, fullWidth: number, fullHeight: number, maxLongSide: number, decodePhoto: PhotoDecoder, decodeResized?: ResizingDecoder): Promise<RgbaImage> {
  const size = workingSize(fullWidth, fullHeight, maxLongSide);
  if (decodeResized && canDecodeResized(sniffImage(new Uint8Array(source.bytes)), fullWidth, fullHeight, size.width, size.height)) {
    return decodeResized(source.bytes, source.mime, size.width, size.height);
  }
  return (await decodePhoto(source.bytes, source.mime, maxLongSide)).image;
}
