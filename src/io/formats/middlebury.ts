/**
 * Middlebury multi-view `*_par.txt`: a count line, then "name k11..k33 r11..r33 t1 t2 t3" per image;
 * x_img = K [R t] X, so [R t] is our camFromWorld.
 */
import { InputError } from '../../core/errors';
import { textOf } from '../files';
import type { CameraFormat, CameraSet, ParsedCamera } from './types';

export function parseMiddleburyPar(text: string, fileName: string): ParsedCamera[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const count = Number(lines[0]);
  if (!Number.isInteger(count) || count < 0) throw new InputError(`${fileName}: the first line must be the number of images`, fileName);
  const body = lines.slice(1);
  if (body.length !== count) throw new InputError(`${fileName}: says ${count} images but has ${body.length} lines`, fileName);
  return body.map((line, i) => {
    const parts = line.split(/\s+/);
    const nums = parts.slice(1).map(Number);
    if (parts.length !== 22 || nums.some((v) => !Number.isFinite(v))) {
      throw new InputError(`${fileName} line ${i + 2}: expected "name" + 21 numbers (K, R, t), got ${parts.length - 1} fields`, fileName);
    }
    const k = nums.slice(0, 9), r = nums.slice(9, 18), t = nums.slice(18, 21);
    return { image: parts[0], K: k, camFromWorld: [r[0], r[1], r[2], t[0], r[3], r[4], r[5], t[1], r[6], r[7], r[8], t[2]] };
  });
}

export const middleburyFormat: CameraFormat = {
  id: 'middlebury',
  description: 'Middlebury multi-view *_par.txt',
  detect: (files) => files.some((f) => f.role === 'camera' && /_par\.txt$/i.test(f.name)),
  parse(files): CameraSet {
    const list = files.filter((f) => f.role === 'camera' && /_par\.txt$/i.test(f.name));
    return { format: 'middlebury', files: list.map((f) => f.path), cameras: list.flatMap((f) => parseMiddleburyPar(textOf(f), f.path)), warnings: [] };
  },
};
