/**
 * Intrinsics priors from EXIF (exifr): the 35 mm-equivalent focal length (defined on the diagonal, CIPA DC-008),
 * or the focal length with the focal-plane resolution (sensor size). Values that make no sense are rejected with a
 * reason, and the caller falls back to the default field of view.
 */
import exifr from 'exifr';
import type { ExifSummary } from '../core/capture';

/** Full-frame diagonal in mm. */
const FULL_FRAME_DIAGONAL_MM = Math.hypot(36, 24);

/** Default when nothing is known: COLMAP's prior, f = 1.2 * max(width, height) (about 45 degrees across). */
export const DEFAULT_FOCAL_FACTOR = 1.2;

export interface ExifRaw {
  Make?: string;
  Model?: string;
  FocalLength?: number;
  FocalLengthIn35mmFormat?: number;
  FocalPlaneXResolution?: number;
  FocalPlaneYResolution?: number;
  FocalPlaneResolutionUnit?: number | string;
  ExifImageWidth?: number;
  ExifImageHeight?: number;
  PixelXDimension?: number;
  PixelYDimension?: number;
  Orientation?: number | string;
}

export async function readExif(bytes: ArrayBuffer): Promise<ExifRaw | null> {
  try {
    const data = (await exifr.parse(bytes, {
      tiff: true,
      exif: true,
      gps: false,
      interop: false,
      translateValues: false,
      pick: ['Make', 'Model', 'FocalLength', 'FocalLengthIn35mmFormat', 'FocalPlaneXResolution', 'FocalPlaneYResolution', 'FocalPlaneResolutionUnit', 'ExifImageWidth', 'ExifImageHeight', 'PixelXDimension', 'PixelYDimension', 'Orientation'],
    })) as ExifRaw | undefined;
    return data ?? null;
  } catch {
    return null;
  }
}

export function summarizeExif(raw: ExifRaw | null): ExifSummary | null {
  if (!raw) return null;
  const out: ExifSummary = {};
  if (raw.Make) out.make = String(raw.Make).trim();
  if (raw.Model) out.model = String(raw.Model).trim();
  if (typeof raw.FocalLength === 'number') out.focalLengthMm = raw.FocalLength;
  if (typeof raw.FocalLengthIn35mmFormat === 'number') out.focalLength35mm = raw.FocalLengthIn35mmFormat;
  if (typeof raw.Orientation === 'number') out.orientation = raw.Orientation;
  return Object.keys(out).length ? out : null;
}

export type FocalPrior = { focalPx: number; how: string } | { focalPx: null; problem: string | null };

/** Focal length in pixels for an image of width x height (as decoded, after orientation). */
export function focalFromExif(raw: ExifRaw | null, width: number, height: number): FocalPrior {
  if (!raw) return { focalPx: null, problem: null };
  const maxSide = Math.max(width, height);
  const sane = (f: number) => f > 0.25 * maxSide && f < 12 * maxSide;
  const f35 = raw.FocalLengthIn35mmFormat;
  if (typeof f35 === 'number' && f35 > 0) {
    const focalPx = (f35 * Math.hypot(width, height)) / FULL_FRAME_DIAGONAL_MM;
    if (sane(focalPx)) return { focalPx, how: `35 mm equivalent ${f35} mm` };
    return { focalPx: null, problem: `EXIF 35 mm-equivalent focal length ${f35} mm gives ${focalPx.toFixed(0)} px for a ${width}x${height} photo, which is implausible` };
  }
  const f = raw.FocalLength;
  const res = raw.FocalPlaneXResolution;
  if (typeof f === 'number' && f > 0 && typeof res === 'number' && res > 0) {
    const unit = Number(raw.FocalPlaneResolutionUnit ?? 2);
    const mmPerUnit = unit === 3 ? 10 : unit === 4 ? 1 : unit === 5 ? 0.001 : 25.4;
    const exifWidth = raw.ExifImageWidth ?? raw.PixelXDimension;
    const exifHeight = raw.ExifImageHeight ?? raw.PixelYDimension;
    // The resolution refers to the sensor's pixels; scale to the decoded photo (which may be rotated or resized).
    const exifLong = exifWidth && exifHeight ? Math.max(exifWidth, exifHeight) : maxSide;
    const focalPx = ((f * res) / mmPerUnit) * (maxSide / exifLong);
    if (sane(focalPx)) return { focalPx, how: `focal length ${f} mm and focal-plane resolution` };
    return { focalPx: null, problem: `EXIF focal length ${f} mm with focal-plane resolution ${res} gives ${focalPx.toFixed(0)} px, which is implausible` };
  }
  if (typeof f === 'number' && (f <= 0 || f > 2000)) return { focalPx: null, problem: `EXIF focal length ${f} mm is implausible` };
  return { focalPx: null, problem: null };
}
