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

/**
 * Microsoft 7-Scenes ships raw, unregistered Kinect v1 frames: its camera-intrinsics.txt (fx = fy = 585, centre
 * (320, 240)) is the DEPTH camera's, the one KinectFusion tracked (the poses); the colour camera was never calibrated
 * (dataset page: "The RGB and depth camera have not been calibrated"). Read with 585 the photos are 11% too zoomed in:
 * colour pixels disagree with the poses by up to 35 px at the image border. The Kinect v1 colour default, 525 px at
 * (320, 240), is what the redkitchen frames themselves support: colour of frames 4 apart, warped through the sensor
 * depth and the poses, differs by a mean 5.27 / 5.32 / 7.13 grey levels with 515 / 525 / 585 px (18 pairs; a +-2.5 cm
 * colour-depth offset changes it by < 0.1, so none is modelled). Only the exact 7-Scenes file on 640x480 frames gets
 * this; other RGB-D captures in this layout keep their K for both.
 */
export const SEVEN_SCENES_DEPTH_K = [585, 0, 320, 0, 585, 240, 0, 0, 1];
export const SEVEN_SCENES_COLOUR_K = [525, 0, 320, 0, 525, 240, 0, 0, 1];
const isSevenScenesDepthK = (K: number[]) => K.every((v, i) => Math.abs(v - SEVEN_SCENES_DEPTH_K[i]) < 1e-6);

const intrinsicsFile = (files: IndexedFile[]) => files.find((f) => f.role === 'camera' && /^(camera-intrinsics|k)\.txt$/i.test(f.name));

export const sevenScenesFormat: CameraFormat = {
  id: '7scenes',
  description: '7-Scenes *.pose.txt + camera-intrinsics.txt',
  detect: (files) => files.some((f) => f.role === 'camera' && /\.pose\.txt$/i.test(f.name)),
  parse(files): CameraSet {
    const poses = files.filter((f) => f.role === 'camera' && /\.pose\.txt$/i.test(f.name));
    const kFile = intrinsicsFile(files);
    const warnings = kFile ? [] : ['No camera-intrinsics.txt beside the *.pose.txt files: intrinsics come from EXIF or the default field of view.'];
    const K = kFile ? parseMatrix3(textOf(kFile), kFile.path) : null;
    const common = {
      format: '7scenes',
      files: [...poses.map((f) => f.path), ...(kFile ? [kFile.path] : [])],
      cameras: poses.map((f) => ({ image: keyOf(f.name.replace(/\.pose\.txt$/i, '.txt')), K: null, camFromWorld: parsePose4(textOf(f), f.path) })),
      warnings,
    };
    if (K && /^camera-intrinsics\.txt$/i.test(kFile!.name) && isSevenScenesDepthK(K)) {
      return {
        ...common,
        sharedK: { K: SEVEN_SCENES_COLOUR_K, width: 640, height: 480 },
        depthK: { K, width: 640, height: 480 },
        notes: [`${kFile!.path} is the 7-Scenes depth camera (585 px); the photos use the Kinect colour camera's 525 px and the depth maps are reprojected into them.`],
      };
    }
    return { ...common, ...(K ? { sharedK: { K } } : {}) };
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
