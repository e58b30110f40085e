/**
 * The user's selection as an index of files: zips expanded (fflate), paths normalised, each file given a role.
 * Roles come from folders (`images/`, `views/`, `depth/`, `masks/`), name suffixes (`.depth.png`, `_mask.png`),
 * extensions, and for PNGs in a flat folder, the header (16-bit single-channel = depth map).
 */
import { unzipSync } from 'fflate';
import { sniffImage, type ImageHeader } from './imageHeader';

export type FileRole = 'photo' | 'depth' | 'mask' | 'camera' | 'ignored';

export interface IndexedFile {
  path: string;
  name: string;
  /** Lower-case extension without the dot. */
  ext: string;
  /** Matching key shared by a photo, its depth map and its mask. */
  key: string;
  bytes: ArrayBuffer;
  role: FileRole;
  header: ImageHeader | null;
}

const PHOTO_EXT = new Set(['jpg', 'jpeg', 'png', 'webp', 'avif', 'bmp', 'gif']);
const CAMERA_NAMES = /^(cameras\.txt|images\.txt|points3d\.txt|camera-intrinsics\.txt|k\.txt|transforms.*\.json|.*_par\.txt|.*\.camera|.*\.pose\.txt)$/i;
const DEPTH_DIRS = new Set(['depth', 'depths', 'depth_maps', 'depthmaps']);
const MASK_DIRS = new Set(['mask', 'masks', 'alpha', 'segmentation']);
const ROLE_SUFFIX = /([._-](color|colour|rgb|image|depth|mask|alpha))+$/i;

export function keyOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return stem.replace(ROLE_SUFFIX, '');
}

function folders(path: string): string[] {
  return path.split('/').slice(0, -1).map((f) => f.toLowerCase());
}

export function normalisePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.?\//, '').replace(/\/{2,}/g, '/');
}

export interface FileIndex {
  files: IndexedFile[];
  skipped: { file: string; reason: string }[];
}

/** Whether a path names an image by its extension (a photo, a depth map or a mask). */
export function isImagePath(path: string): boolean {
  const name = path.split('/').pop()!;
  return name.includes('.') && PHOTO_EXT.has(name.slice(name.lastIndexOf('.') + 1).toLowerCase());
}

/**
 * The selection with zips expanded in place, paths normalised. A zip's folder entries, macOS resource forks
 * (__MACOSX/) and hidden files are left out; `keep` (given the normalised path) picks files and entries, and entries it
 * refuses are never decompressed. An unreadable zip lands in `skipped`.
 */
export function expandZips(input: { path: string; bytes: ArrayBuffer }[], keep: (path: string) => boolean = () => true): { files: { path: string; bytes: ArrayBuffer }[]; skipped: FileIndex['skipped'] } {
  const files: { path: string; bytes: ArrayBuffer }[] = [];
  const skipped: FileIndex['skipped'] = [];
  for (const file of input) {
    const path = normalisePath(file.path);
    if (!path.toLowerCase().endsWith('.zip')) {
      if (keep(path)) files.push({ path, bytes: file.bytes });
      continue;
    }
    try {
      const entries = unzipSync(new Uint8Array(file.bytes), {
        filter: ({ name }) => !(name.endsWith('/') || name.startsWith('__MACOSX/') || name.split('/').pop()!.startsWith('.')) && keep(normalisePath(name)),
      });
      for (const [name, data] of Object.entries(entries)) files.push({ path: normalisePath(name), bytes: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer });
    } catch (error) {
      skipped.push({ file: path, reason: `not a readable zip (${error instanceof Error ? error.message : String(error)})` });
    }
  }
  return { files, skipped };
}

/** Expands zips and classifies every file. Nothing is dropped silently: unusable files land in `skipped`. */
export function indexFiles(input: { path: string; bytes: ArrayBuffer }[]): FileIndex {
  const { files: flat, skipped } = expandZips(input);
  // A common top folder (a dropped "capture/" directory) is not a role folder.
  const files: IndexedFile[] = [];
  for (const { path, bytes } of flat) {
    const name = path.split('/').pop()!;
    const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
    const dirs = folders(path);
    let role: FileRole = 'ignored';
    let header: ImageHeader | null = null;
    if (name.startsWith('.')) {
      skipped.push({ file: path, reason: 'hidden file' });
      continue;
    }
    if (CAMERA_NAMES.test(name)) role = 'camera';
    else if (PHOTO_EXT.has(ext)) {
      header = sniffImage(new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 65536)));
      const stem = name.slice(0, name.lastIndexOf('.')).toLowerCase();
      if (dirs.some((d) => DEPTH_DIRS.has(d)) || /[._-]depth$/.test(stem)) role = 'depth';
      else if (dirs.some((d) => MASK_DIRS.has(d)) || /[._-](mask|alpha)$/.test(stem)) role = 'mask';
      else if (header?.format === 'png' && header.bitDepth === 16 && header.channels === 1) role = 'depth';
      else role = 'photo';
    }
    if (role === 'ignored') {
      skipped.push({ file: path, reason: ext === 'heic' || ext === 'heif' ? 'HEIC photos cannot be decoded by the browser: export them as JPEG' : 'not a photo, depth map, mask or camera file' });
      continue;
    }
    files.push({ path, name, ext, key: keyOf(name), bytes, role, header });
  }
  return { files, skipped };
}

export function textOf(file: IndexedFile): string {
  return new TextDecoder().decode(file.bytes);
}
