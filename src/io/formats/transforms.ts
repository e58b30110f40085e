/**
 * NeRF / instant-ngp / nerfstudio transforms.json: camera-to-world 4x4 in the OpenGL convention (x right, y up,
 * camera looks down -z), converted to our OpenCV camFromWorld. Intrinsics from fl_x/fl_y/cx/cy (+ w/h, k1, k2, p1,
 * p2; nerfstudio puts pixel centres at +0.5, so cx, cy are shifted by -0.5) or camera_angle_x/_y (resolved against
 * the decoded image size). Several transforms*.json files (train/val/test) are merged.
 */
import { invertPose, makeK, type Distortion } from '../../core/camera';
import { InputError } from '../../core/errors';
import { textOf, type IndexedFile } from '../files';
import type { CameraFormat, CameraSet, ParsedCamera } from './types';

interface Intrinsics {
  fl_x?: number; fl_y?: number; cx?: number; cy?: number; w?: number; h?: number;
  camera_angle_x?: number; camera_angle_y?: number; k1?: number; k2?: number; p1?: number; p2?: number;
}

function intrinsicsOf(source: Intrinsics, fallback: Intrinsics): Omit<ParsedCamera, 'image' | 'camFromWorld'> {
  const get = <K extends keyof Intrinsics>(k: K) => source[k] ?? fallback[k];
  const w = get('w'), h = get('h');
  const flx = get('fl_x'), fly = get('fl_y') ?? get('fl_x');
  const k1 = get('k1') ?? 0, k2 = get('k2') ?? 0, p1 = get('p1') ?? 0, p2 = get('p2') ?? 0;
  const distortion: Distortion | null = k1 || k2 || p1 || p2 ? { model: p1 || p2 ? 'opencv' : 'radial', k1, k2, p1, p2 } : null;
  if (flx !== undefined && w !== undefined && h !== undefined) {
    return { K: makeK(flx, fly!, (get('cx') ?? w / 2) - 0.5, (get('cy') ?? h / 2) - 0.5), width: w, height: h, distortion };
  }
  const ax = get('camera_angle_x');
  if (ax !== undefined) return { K: null, fovXRadians: ax, fovYRadians: get('camera_angle_y'), distortion };
  return { K: null, distortion };
}

export function parseTransformsJson(text: string, fileName: string): ParsedCamera[] {
  let json: Intrinsics & { frames?: (Intrinsics & { file_path?: string; transform_matrix?: number[][] })[] };
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${fileName}: not valid JSON (${error instanceof Error ? error.message : String(error)})`, fileName);
  }
  if (!Array.isArray(json.frames)) throw new InputError(`${fileName}: no "frames" array`, fileName);
  return json.frames.map((frame, i) => {
    const m = frame.transform_matrix;
    if (!frame.file_path) throw new InputError(`${fileName}: frame ${i} has no file_path`, fileName);
    if (!Array.isArray(m) || m.length < 3 || m.slice(0, 3).some((row) => !Array.isArray(row) || row.length < 4 || row.some((v) => !Number.isFinite(v)))) {
      throw new InputError(`${fileName}: frame ${i} (${frame.file_path}) has no valid 4x4 transform_matrix`, fileName);
    }
    // OpenGL camera axes (x right, y up, -z forward) -> OpenCV (x right, y down, z forward): flip y and z columns.
    const worldFromCam = [m[0][0], -m[0][1], -m[0][2], m[0][3], m[1][0], -m[1][1], -m[1][2], m[1][3], m[2][0], -m[2][1], -m[2][2], m[2][3]];
    const name = frame.file_path.split('/').pop()!;
    return { image: name, camFromWorld: invertPose(worldFromCam), ...intrinsicsOf(frame, json) };
  });
}

export const transformsFormat: CameraFormat = {
  id: 'transforms.json',
  description: 'NeRF / instant-ngp / nerfstudio transforms.json',
  detect: (files) => files.some((f) => f.role === 'camera' && /^transforms.*\.json$/i.test(f.name)),
  parse(files): CameraSet {
    const list = files.filter((f) => f.role === 'camera' && /^transforms.*\.json$/i.test(f.name));
    const cameras = list.flatMap((f) => parseTransformsJson(textOf(f), f.path));
    return { format: 'transforms.json', files: list.map((f) => f.path), cameras, warnings: [] };
  },
};
