/**
 * 7-Scenes / TUM-style RGB-D: `frame-XXXXXX.pose.txt` (4x4 camera-to-world, OpenCV axes) per frame and one
 * `camera-intrinsics.txt` (3x3 K) for all. Also `K.txt` alone (intrinsics for every image, as in sceaux-castle).
 */
import { invertPose } from '../../core/camera';
import { InputError } from '../../core/errors';
import { keyOf, textOf, type IndexedFile } from '../files';
import { numbersOf, type CameraFormat, type CameraSet } from './types';

export function parseMatrix3(text: string, fileName: string): number[] {
  const n = numbersOf(text);
  if (n.length < 9 || n.slice(0, 9).some((v) => !Number.isFinite(v)) || !(n[0] > 0) || !(n[4] > 0)) {
    throw new InputError(`${fileName}: expected a 3x3 intrinsics matrix with positive focal lengths`, fileName);
  }
  return n.slice(0, 9);
}

export function parsePose4(text: string, fileName: string): number[] {
  const n = numbersOf(text);
  if (n.length < 16 || n.slice(0, 16).some((v) => !Number.isFinite(v))) throw new InputError(`${fileName}: expected a 4x4 camera-to-world matrix`, fileName);
  return invertPose(n.slice(0, 12));
}

const intrinsicsFile = (files: IndexedFile[]) => files.find((f) => f.role === 'camera' && /^(camera-intrinsics|k)\.txt$/i.test(f.name));

export const sevenScenesFormat: CameraFormat = {
  id: '7scenes',
  description: '7-Scenes *.pose.txt + camera-intrinsics.txt',
  detect: (files) => files.some((f) => f.role === 'camera' && /\.pose\.txt$/i.test(f.name)),
  parse(files): CameraSet {
    const poses = files.filter((f) => f.role === 'camera' && /\.pose\.txt$/i.test(f.name));
    const kFile = intrinsicsFile(files);
    const warnings = kFile ? [] : ['No camera-intrinsics.txt beside the *.pose.txt files: intrinsics come from EXIF or the default field of view.'];
    return {
      format: '7scenes',
      files: [...poses.map((f) => f.path), ...(kFile ? [kFile.path] : [])],
      cameras: poses.map((f) => ({ image: keyOf(f.name.replace(/\.pose\.txt$/i, '.txt')), K: null, camFromWorld: parsePose4(textOf(f), f.path) })),
      ...(kFile ? { sharedK: { K: parseMatrix3(textOf(kFile), kFile.path) } } : {}),
      warnings,
    };
  },
};

/** Intrinsics only (K.txt / camera-intrinsics.txt without poses). */
export const intrinsicsOnlyFormat: CameraFormat = {
  id: 'intrinsics',
  description: 'K.txt or camera-intrinsics.txt (intrinsics for every image, no poses)',
  detect: (files) => Boolean(intrinsicsFile(files)),
  parse(files): CameraSet {
    const kFile = intrinsicsFile(files)!;
    return { format: 'intrinsics', files: [kFile.path], cameras: [], sharedK: { K: parseMatrix3(textOf(kFile), kFile.path) }, warnings: [] };
  },
};
