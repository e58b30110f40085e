/** Camera files in, one CameraSet out. Every parser answers "is this mine?" and parses or throws InputError. */
import type { Distortion, Mat3, Pose } from '../../core/camera';
import type { IndexedFile } from '../files';

export interface ParsedCamera {
  /** The image it belongs to: a file name ("0000.jpg") or a key without extension ("r_0", "frame-000150"). */
  image: string;
  /** Intrinsics for an image of `width` x `height` (rescaled at ingest if the photo differs); null when only a
   *  field of view is known (`fovXRadians`) or when intrinsics come from elsewhere. */
  K: Mat3 | null;
  width?: number;
  height?: number;
  fovXRadians?: number;
  fovYRadians?: number;
  camFromWorld: Pose | null;
  distortion?: Distortion | null;
}

export interface CameraSet {
  format: string;
  /** The camera files that were read. */
  files: string[];
  cameras: ParsedCamera[];
  /** Intrinsics for every image without its own (K.txt, camera-intrinsics.txt). */
  sharedK?: { K: Mat3; width?: number; height?: number };
  /**
   * Intrinsics of the depth maps when the depth camera is not the photos' camera (7-Scenes: the Kinect's unregistered
   * depth sensor). Ingest reprojects each depth map into its photo's camera (same pose, photo K), so that depthMeters
   * stays pixel-aligned with the image, as CaptureView promises.
   */
  depthK?: { K: Mat3; width?: number; height?: number };
  warnings: string[];
  /** Facts about how the cameras were read that are not problems (CaptureSet.notes). */
  notes?: string[];
}

export interface CameraFormat {
  id: string;
  description: string;
  detect(files: IndexedFile[]): boolean;
  parse(files: IndexedFile[]): CameraSet;
}

/** Numbers of a whitespace-separated text, with the file named in any error. */
export function numbersOf(text: string): number[] {
  return text.split(/[\s,]+/).filter((t) => t.length > 0).map(Number);
}
