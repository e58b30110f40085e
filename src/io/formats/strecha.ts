/**
 * Strecha et al. `<image>.camera`: K (3 rows), radial distortion (1 row), R (3 rows), camera centre C (1 row),
 * "width height". Strecha's R is world-from-camera (P = K [R^T | -R^T C]), so camFromWorld = [R^T | -R^T C].
 */
import { InputError } from '../../core/errors';
import { textOf } from '../files';
import { numbersOf, type CameraFormat, type CameraSet, type ParsedCamera } from './types';

export function parseStrechaCamera(text: string, fileName: string): ParsedCamera {
  const n = numbersOf(text);
  if (n.length < 23 || n.slice(0, 23).some((v) => !Number.isFinite(v))) {
    throw new InputError(`${fileName}: expected K (9), distortion (3), R (9), C (3), width height: ${n.length} numbers found`, fileName);
  }
  const k = n.slice(0, 9), r = n.slice(12, 21), c = n.slice(21, 24), width = n[24], height = n[25];
  const rt = [r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]];
  const t = [0, 1, 2].map((i) => -(rt[i * 3] * c[0] + rt[i * 3 + 1] * c[1] + rt[i * 3 + 2] * c[2]));
  const image = fileName.split('/').pop()!.replace(/\.camera$/i, '');
  return {
    image,
    K: k,
    ...(width > 0 && height > 0 ? { width, height } : {}),
    camFromWorld: [rt[0], rt[1], rt[2], t[0], rt[3], rt[4], rt[5], t[1], rt[6], rt[7], rt[8], t[2]],
    distortion: n[9] || n[10] ? { model: 'radial', k1: n[9], k2: n[10] } : null,
  };
}

export const strechaFormat: CameraFormat = {
  id: 'strecha',
  description: 'Strecha *.camera files',
  detect: (files) => files.some((f) => f.role === 'camera' && /\.camera$/i.test(f.name)),
  parse(files): CameraSet {
    const list = files.filter((f) => f.role === 'camera' && /\.camera$/i.test(f.name));
    return { format: 'strecha', files: list.map((f) => f.path), cameras: list.map((f) => parseStrechaCamera(textOf(f), f.path)), warnings: [] };
  },
};
