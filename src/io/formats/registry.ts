/** Tries each camera format in turn; the first that recognises the files parses them. */
import type { IndexedFile } from '../files';
import { colmapFormat } from './colmap';
import { middleburyFormat } from './middlebury';
import { intrinsicsOnlyFormat, sevenScenesFormat } from './sevenScenes';
import { strechaFormat } from './strecha';
import { transformsFormat } from './transforms';
import type { CameraFormat, CameraSet } from './types';

/** Pose formats first; intrinsics-only last. */
export const CAMERA_FORMATS: CameraFormat[] = [colmapFormat, transformsFormat, middleburyFormat, strechaFormat, sevenScenesFormat, intrinsicsOnlyFormat];

export function parseCameraFiles(files: IndexedFile[]): CameraSet | null {
  const format = CAMERA_FORMATS.find((f) => f.detect(files));
  return format ? format.parse(files) : null;
}
