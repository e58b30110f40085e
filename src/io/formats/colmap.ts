/**
 * COLMAP text model: cameras.txt (PINHOLE, SIMPLE_PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV) + images.txt
 * (IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, then a line of 2-D points). COLMAP's camFromWorld is ours; its
 * pixel centres are at +0.5, so cx, cy are shifted by -0.5.
 */
import { makeK, quaternionToRotation, type Distortion } from '../../core/camera';
import { InputError } from '../../core/errors';
import { textOf, type IndexedFile } from '../files';
import type { CameraFormat, CameraSet, ParsedCamera } from './types';

interface ColmapCamera {
  model: string;
  width: number;
  height: number;
  K: number[];
  distortion: Distortion | null;
}

function find(files: IndexedFile[], name: string): IndexedFile | undefined {
  return files.find((f) => f.role === 'camera' && f.name.toLowerCase() === name);
}

export function parseColmapCameras(text: string, fileName = 'cameras.txt'): Map<number, ColmapCamera> {
  const cameras = new Map<number, ColmapCamera>();
  text.split('\n').forEach((raw, lineIndex) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    const where = `${fileName} line ${lineIndex + 1}`;
    const id = Number(parts[0]);
    const model = parts[1];
    const width = Number(parts[2]);
    const height = Number(parts[3]);
    const p = parts.slice(4).map(Number);
    if (!Number.isInteger(id) || !(width > 0) || !(height > 0) || p.some((v) => !Number.isFinite(v))) {
      throw new InputError(`${where}: expected "CAMERA_ID MODEL WIDTH HEIGHT PARAMS...", got "${line}"`, fileName);
    }
    const need: Record<string, number> = { SIMPLE_PINHOLE: 3, PINHOLE: 4, SIMPLE_RADIAL: 4, RADIAL: 5, OPENCV: 8 };
    if (!(model in need)) throw new InputError(`${where}: camera model ${model} is not supported (PINHOLE, SIMPLE_PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV are)`, fileName);
    if (p.length < need[model]) throw new InputError(`${where}: ${model} needs ${need[model]} parameters, got ${p.length}`, fileName);
    let K: number[];
    let distortion: Distortion | null = null;
    switch (model) {
      case 'SIMPLE_PINHOLE': K = makeK(p[0], p[0], p[1] - 0.5, p[2] - 0.5); break;
      case 'PINHOLE': K = makeK(p[0], p[1], p[2] - 0.5, p[3] - 0.5); break;
      case 'SIMPLE_RADIAL': K = makeK(p[0], p[0], p[1] - 0.5, p[2] - 0.5); distortion = { model: 'radial', k1: p[3], k2: 0 }; break;
      case 'RADIAL': K = makeK(p[0], p[0], p[1] - 0.5, p[2] - 0.5); distortion = { model: 'radial', k1: p[3], k2: p[4] }; break;
      default: K = makeK(p[0], p[1], p[2] - 0.5, p[3] - 0.5); distortion = { model: 'opencv', k1: p[4], k2: p[5], p1: p[6], p2: p[7] };
    }
    if (distortion && distortion.k1 === 0 && distortion.k2 === 0 && !distortion.p1 && !distortion.p2) distortion = null;
    cameras.set(id, { model, width, height, K, distortion });
  });
  return cameras;
}

export function parseColmapImages(text: string, cameras: Map<number, ColmapCamera>, fileName = 'images.txt'): ParsedCamera[] {
  const lines = text.split('\n');
  const out: ParsedCamera[] = [];
  let expectPoints = false;
  lines.forEach((raw, lineIndex) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    if (expectPoints) {
      expectPoints = false;
      return;
    }
    if (!line) return;
    const parts = line.split(/\s+/);
    const where = `${fileName} line ${lineIndex + 1}`;
    if (parts.length < 10) throw new InputError(`${where}: expected "IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME", got "${line}"`, fileName);
    const nums = parts.slice(1, 9).map(Number);
    if (nums.some((v) => !Number.isFinite(v))) throw new InputError(`${where}: bad number in "${line}"`, fileName);
    const [qw, qx, qy, qz, tx, ty, tz, cameraId] = nums;
    const camera = cameras.get(cameraId);
    if (!camera) throw new InputError(`${where}: CAMERA_ID ${cameraId} is not in cameras.txt`, fileName);
    if (Math.hypot(qw, qx, qy, qz) < 1e-9) throw new InputError(`${where}: zero quaternion`, fileName);
    const r = quaternionToRotation([qw, qx, qy, qz]);
    const name = parts.slice(9).join(' ');
    out.push({
      image: name.split('/').pop()!,
      K: camera.K,
      width: camera.width,
      height: camera.height,
      camFromWorld: [r[0], r[1], r[2], tx, r[3], r[4], r[5], ty, r[6], r[7], r[8], tz],
      distortion: camera.distortion,
    });
    expectPoints = true;
  });
  return out;
}

export const colmapFormat: CameraFormat = {
  id: 'colmap',
  description: 'COLMAP text model (cameras.txt + images.txt)',
  detect: (files) => Boolean(find(files, 'cameras.txt') && find(files, 'images.txt')),
  parse(files): CameraSet {
    const camerasFile = find(files, 'cameras.txt')!;
    const imagesFile = find(files, 'images.txt')!;
    const cameras = parseColmapCameras(textOf(camerasFile), camerasFile.path);
    return { format: 'colmap', files: [camerasFile.path, imagesFile.path], cameras: parseColmapImages(textOf(imagesFile), cameras, imagesFile.path), warnings: [] };
  },
};
