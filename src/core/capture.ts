/**
 * CaptureSet: the one canonical form every input becomes at ingest (src/io/ingest.ts), and all later stages read.
 *
 * Per view, at the WORKING resolution (photos larger than the preset are downscaled once, K scaled to match):
 * - `image`: RGBA8, rows top to bottom. When the view has a mask, alpha holds it (255 = object), else alpha = 255.
 * - `depthMeters`: Float32 per pixel in metres (0 = missing), or null.
 * - `mask`: Uint8 per pixel (255 = object, 0 = background), or null.
 * - `K` (3x3 row-major, pixel-centre convention of camera.ts) is always present: from the camera file, EXIF, or the
 *   default field of view (`intrinsicsSource`). `camFromWorld` (3x4, OpenCV) is null until poses are known.
 * The original photo bytes are kept (`source`) so texturing can re-decode at full resolution.
 */
import type { Distortion, Mat3, Pose } from './camera';
import type { RgbaImage } from './mesh';

/** Where K came from: a camera file, an EXIF prior, the default field of view, or refined by structure from motion. */
export type IntrinsicsSource = 'file' | 'exif' | 'default' | 'sfm';

export interface ExifSummary {
  make?: string;
  model?: string;
  focalLengthMm?: number;
  focalLength35mm?: number;
  orientation?: number;
}

export interface CaptureView {
  index: number;
  /** The photo's file name (unique in the capture). */
  name: string;
  /** Its path in the selection (folders kept). */
  path: string;
  /** Matching key: the name without extension and role suffixes (".color", ".depth", "_mask"). */
  key: string;
  width: number;
  height: number;
  /** The decoded photo's size before downscaling (after EXIF orientation). */
  fullWidth: number;
  fullHeight: number;
  image: RgbaImage;
  depthMeters: Float32Array | null;
  mask: Uint8Array | null;
  K: Mat3;
  distortion: Distortion | null;
  intrinsicsSource: IntrinsicsSource;
  camFromWorld: Pose | null;
  exif: ExifSummary | null;
  /** Held out of the reconstruction (for evaluation). */
  heldOut: boolean;
  /** Encoded original, for full-resolution texturing. */
  source: { bytes: ArrayBuffer; mime: string };
}

export interface CaptureSet {
  name: string;
  views: CaptureView[];
  /** Camera format the poses came from ('colmap', 'transforms.json', 'middlebury', 'strecha', '7scenes'), or null. */
  cameraFormat: string | null;
  hasPoses: boolean;
  hasDepth: boolean;
  hasMasks: boolean;
  /** Depth PNG units per metre used (1000 = millimetres). */
  depthUnitsPerMeter: number;
  /**
   * Normalisation applied by any stage, so exports return to the user's frame and units:
   * userPoint = worldFromNormalized * normalizedPoint (4x4 row-major, similarity). Identity after ingest.
   */
  worldFromNormalized: number[];
  used: string[];
  skipped: { file: string; reason: string }[];
  warnings: string[];
  /** Facts about the input that are not problems (camera entries for photos the user did not choose). */
  notes?: string[];
  /**
   * Scene points (x, y, z triples in the frame of the views' poses) from the camera stage: structure from motion's
   * points, or the tracks the given-camera refinement adjusted. With mvs.range 'points' the depth stage sweeps each view
   * over the depths of the points it sees (SPARSE_RANGE_RULE, planeSweep.ts). Absent when no camera stage ran.
   */
  scenePoints?: Float32Array;
}

export const IDENTITY4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
