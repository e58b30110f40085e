/**
 * Ingest: the user's files -> one CaptureSet (src/core/capture.ts). Photos are decoded once at the working
 * resolution of the preset; depth maps, masks and cameras are matched to photos; every file is either used or listed
 * in `skipped` with the reason; problems that make the capture unusable throw InputError with a precise message.
 */
import { makeK, scaleK, type Mat3 } from '../core/camera';
import { IDENTITY4, type CaptureSet, type CaptureView, type IntrinsicsSource } from '../core/capture';
import { InputError, throwIfAborted } from '../core/errors';
import { decode as decodePng } from 'fast-png';
import { cleanFactor, decodeDepthPng, reprojectDepthIntrinsics, resampleDepth, resampleNearest } from './depth';
import { decodeAhead, mimeOf, type PhotoDecoder } from './decode';
import { DEFAULT_FOCAL_FACTOR, focalFromExif, readExif, summarizeExif } from './exif';
import { indexFiles, type IndexedFile } from './files';
import { parseCameraFiles } from './formats/registry';
import type { CameraSet, ParsedCamera } from './formats/types';

export type Preset = 'draft' | 'standard' | 'high';

/** Long side of the working images per preset (photos larger than this are downscaled once). */
export const WORKING_LONG_SIDE: Record<Preset, number> = { draft: 640, standard: 1024, high: 1600 };

export const MIN_VIEWS = 3;

export interface IngestOptions {
  preset: Preset;
  depthUnitsPerMeter?: number;
  holdout?: number;
  name?: string;
  decodePhoto: PhotoDecoder;
  signal?: AbortSignal;
  onProgress?(done: number, total: number, file: string): void;
  onWarning?(message: string, file?: string): void;
  /** Facts about the input that are not problems (CaptureSet.notes). */
  onInfo?(message: string): void;
}

/** Where a camera entry applies: by file name, then by key (name without extension and role suffix). */
function cameraFor(cameras: ParsedCamera[], view: IndexedFile): ParsedCamera | undefined {
  return cameras.find((c) => c.image === view.name) ?? cameras.find((c) => c.image === view.key || c.image.replace(/\.[^.]+$/, '') === view.key);
}

export async function ingestCapture(input: { path: string; bytes: ArrayBuffer }[], options: IngestOptions): Promise<CaptureSet> {
  const unitsPerMeter = options.depthUnitsPerMeter ?? 1000;
  if (!(unitsPerMeter > 0)) throw new InputError(`The depth scale must be positive (got ${unitsPerMeter} units per metre).`);
  const maxLongSide = WORKING_LONG_SIDE[options.preset];
  const index = indexFiles(input);
  const skipped = [...index.skipped];
  const warnings: string[] = [];
  const warn = (message: string, file?: string) => {
    warnings.push(file ? `${file}: ${message}` : message);
    options.onWarning?.(message, file);
  };
  const notes: string[] = [];
  const note = (message: string) => {
    notes.push(message);
    options.onInfo?.(message);
  };
  for (const s of index.skipped) options.onWarning?.(`skipped: ${s.reason}`, s.file);

  // Cameras.
  const cameraSet: CameraSet | null = parseCameraFiles(index.files);
  for (const w of cameraSet?.warnings ?? []) warn(w);
  for (const n of cameraSet?.notes ?? []) note(n);
  const unusedCameraFiles = index.files.filter((f) => f.role === 'camera' && !cameraSet?.files.includes(f.path));
  for (const f of unusedCameraFiles) {
    if (/^points3d\.txt$/i.test(f.name)) continue;
    skipped.push({ file: f.path, reason: cameraSet ? `camera file not used (the ${cameraSet.format} cameras were)` : 'camera file without its companion files' });
  }

  // Photos: duplicates by name are refused by name.
  const photos: IndexedFile[] = [];
  const seen = new Map<string, string>();
  for (const f of index.files.filter((f) => f.role === 'photo').sort((a, b) => a.path.localeCompare(b.path, undefined, { numeric: true }))) {
    const prior = seen.get(f.name.toLowerCase());
    if (prior) {
      skipped.push({ file: f.path, reason: `duplicate photo name: ${prior} has the same name` });
      warn(`duplicate photo name (also ${prior}); this copy is skipped`, f.path);
      continue;
    }
    seen.set(f.name.toLowerCase(), f.path);
    photos.push(f);
  }
  const depthByKey = new Map(index.files.filter((f) => f.role === 'depth').map((f) => [f.key, f]));
  const maskByKey = new Map(index.files.filter((f) => f.role === 'mask').map((f) => [f.key, f]));

  const views: CaptureView[] = [];
  const used: string[] = [];
  const usedAux = new Set<string>();
  let done = 0;
  const decodeOf = decodeAhead(photos.length, (k) => options.decodePhoto(photos[k].bytes, mimeOf(photos[k].ext), maxLongSide));
  for (const [k, photo] of photos.entries()) {
    throwIfAborted(options.signal);
    options.onProgress?.(done++, photos.length, photo.path);
    let decoded;
    try {
      decoded = await decodeOf(k)!;
    } catch (error) {
      const reason = `cannot be decoded as ${photo.ext.toUpperCase()} (corrupt, truncated or not an image)`;
      skipped.push({ file: photo.path, reason });
      warn(reason, photo.path);
      void error;
      continue;
    }
    const { fullWidth, fullHeight, image } = decoded;
    const sx = image.width / fullWidth, sy = image.height / fullHeight;

    // Intrinsics: camera file > shared K file > EXIF > default.
    const cam = cameraSet ? cameraFor(cameraSet.cameras, photo) : undefined;
    let Kfull: Mat3 | null = null;
    let source: IntrinsicsSource = 'default';
    const fromFile = (K: Mat3, w: number | undefined, h: number | undefined, what: string): Mat3 => {
      if (w === undefined || h === undefined || (w === fullWidth && h === fullHeight)) return K;
      if (Math.abs(w / h - fullWidth / fullHeight) > 0.01) {
        throw new InputError(`${photo.path} is ${fullWidth}x${fullHeight} but ${what} describes a ${w}x${h} image (a different aspect ratio): the cameras do not belong to these photos.`, photo.path);
      }
      return scaleK(K, fullWidth / w, fullHeight / h);
    };
    if (cam?.K) {
      Kfull = fromFile(cam.K, cam.width, cam.height, `the ${cameraSet!.format} camera`);
      source = 'file';
    } else if (cam?.fovXRadians !== undefined) {
      const fx = fullWidth / 2 / Math.tan(cam.fovXRadians / 2);
      const fy = cam.fovYRadians !== undefined ? fullHeight / 2 / Math.tan(cam.fovYRadians / 2) : fx;
      Kfull = makeK(fx, fy, (fullWidth - 1) / 2, (fullHeight - 1) / 2);
      source = 'file';
    } else if (cameraSet?.sharedK) {
      Kfull = fromFile(cameraSet.sharedK.K, cameraSet.sharedK.width, cameraSet.sharedK.height, cameraSet.files.at(-1)!);
      source = 'file';
    }
    const exifRaw = photo.ext === 'jpg' || photo.ext === 'jpeg' || photo.ext === 'webp' || photo.ext === 'avif' || photo.ext === 'png' ? await readExif(photo.bytes) : null;
    if (!Kfull) {
      const prior = focalFromExif(exifRaw, fullWidth, fullHeight);
      if (prior.focalPx !== null) {
        Kfull = makeK(prior.focalPx, prior.focalPx, (fullWidth - 1) / 2, (fullHeight - 1) / 2);
        source = 'exif';
      } else {
        if (prior.problem) warn(`${prior.problem}; using the default field of view`, photo.path);
        const f = DEFAULT_FOCAL_FACTOR * Math.max(fullWidth, fullHeight);
        Kfull = makeK(f, f, (fullWidth - 1) / 2, (fullHeight - 1) / 2);
      }
    }
    const K = scaleK(Kfull, sx, sy);

    // Depth.
    let depthMeters: Float32Array | null = null;
    const depthFile = depthByKey.get(photo.key);
    const depth = depthFile ? tryDecode(() => decodeDepthPng(depthFile.bytes, unitsPerMeter, depthFile.path), depthFile, skipped, warn) : null;
    if (depthFile && depth) {
      if (!cleanFactor(depth.width, depth.height, fullWidth, fullHeight)) {
        throw new InputError(`Depth map ${depthFile.path} is ${depth.width}x${depth.height} but its photo ${photo.path} is ${fullWidth}x${fullHeight}: sizes must match or differ by a clean factor.`, depthFile.path);
      }
      // A depth sensor with its own intrinsics (7-Scenes): into the photo's camera at the depth map's size first.
      const depthK = cameraSet?.depthK;
      const toDepthGrid = (K: Mat3) => scaleK(K, depth.width / fullWidth, depth.height / fullHeight);
      const aligned = depthK ? reprojectDepthIntrinsics(depth, toDepthGrid(fromFile(depthK.K, depthK.width, depthK.height, 'the depth intrinsics')), toDepthGrid(Kfull), depth.width, depth.height) : depth;
      depthMeters = resampleDepth(aligned, image.width, image.height);
      usedAux.add(depthFile.path);
    }

    // Mask: masks/ file, else the photo's alpha when it is not all opaque.
    let mask: Uint8Array | null = null;
    const maskFile = maskByKey.get(photo.key);
    const maskValues = maskFile ? await tryDecodeAsync(() => decodeMask(maskFile, options.decodePhoto, fullWidth, fullHeight, image.width, image.height, photo.path), maskFile, skipped, warn) : null;
    if (maskFile && maskValues) {
      mask = maskValues;
      for (let i = 0; i < mask.length; i++) image.data[4 * i + 3] = mask[i];
      usedAux.add(maskFile.path);
    } else {
      let opaque = true;
      for (let i = 3; i < image.data.length; i += 4) if (image.data[i] < 255) { opaque = false; break; }
      if (!opaque) {
        mask = new Uint8Array(image.width * image.height);
        for (let i = 0; i < mask.length; i++) mask[i] = image.data[4 * i + 3] >= 128 ? 255 : 0;
      }
    }
    views.push({
      index: views.length,
      name: photo.name,
      path: photo.path,
      key: photo.key,
      width: image.width,
      height: image.height,
      fullWidth,
      fullHeight,
      image,
      depthMeters,
      mask,
      K,
      distortion: cam?.distortion ?? null,
      intrinsicsSource: source,
      camFromWorld: cam?.camFromWorld ?? null,
      exif: summarizeExif(exifRaw),
      heldOut: false,
      source: { bytes: photo.bytes, mime: mimeOf(photo.ext) },
    });
    used.push(photo.path);
  }
  options.onProgress?.(photos.length, photos.length, '');

  // Depth maps and masks that matched no photo.
  for (const f of index.files.filter((f) => (f.role === 'depth' || f.role === 'mask') && !usedAux.has(f.path) && !skipped.some((s) => s.file === f.path))) {
    const reason = `no photo named like it (key "${f.key}")`;
    skipped.push({ file: f.path, reason: `${f.role === 'depth' ? 'depth map' : 'mask'} with ${reason}` });
    warn(`${f.role === 'depth' ? 'depth map' : 'mask'} with ${reason}; skipped`, f.path);
  }

  // Camera files naming missing photos, photos without cameras.
  if (cameraSet && cameraSet.cameras.length) {
    const missing = cameraSet.cameras.filter((c) => !photos.some((p) => cameraFor([c], p)));
    const unposed = views.filter((v) => !v.camFromWorld);
    if (missing.length) {
      const message = `${cameraSet.files.join(', ')} name${cameraSet.files.length > 1 ? '' : 's'} ${missing.length} image(s) that are not among the photos: ${missing.slice(0, 5).map((c) => c.image).join(', ')}${missing.length > 5 ? ', …' : ''}`;
      // Every photo found its camera: the user chose some photos of a larger capture (the temple's 16 of 47), which is
      // normal, so it is said, not warned. With photos left without a camera, the names the files do list are the
      // clue to a naming mismatch: then it is a warning.
      if (unposed.length) warn(message);
      else note(`${message} (fine when you chose some of the capture's photos)`);
    }
    if (unposed.length) warn(`${unposed.length} photo(s) have no camera in the ${cameraSet.format} files: ${unposed.slice(0, 5).map((v) => v.name).join(', ')}${unposed.length > 5 ? ', …' : ''}`);
  }

  if (views.length < MIN_VIEWS) {
    const why = skipped.length ? ` (${skipped.length} file(s) were skipped: ${skipped.slice(0, 3).map((s) => `${s.file}: ${s.reason}`).join('; ')})` : '';
    throw new InputError(`At least ${MIN_VIEWS} usable photos are needed; ${views.length === 0 ? 'none was' : `only ${views.length} ${views.length === 1 ? 'was' : 'were'}`} found${why}.`);
  }
  const sizes = new Set(views.map((v) => `${v.fullWidth}x${v.fullHeight}`));
  if (sizes.size > 1 && views.some((v) => v.intrinsicsSource === 'default')) {
    warn(`The photos have ${sizes.size} different sizes (${[...sizes].slice(0, 4).join(', ')}) and some have no intrinsics (no camera file, no EXIF focal length): each gets a default field of view, which structure from motion must refine.`);
  }
  if (options.holdout && options.holdout > 1) {
    for (const v of views) v.heldOut = v.index % options.holdout === 0;
  }
  const hasPoses = views.length > 0 && views.every((v) => v.camFromWorld !== null);
  return {
    name: options.name ?? 'capture',
    views,
    cameraFormat: cameraSet && cameraSet.cameras.length ? cameraSet.format : null,
    hasPoses,
    hasDepth: views.some((v) => v.depthMeters !== null),
    hasMasks: views.some((v) => v.mask !== null),
    depthUnitsPerMeter: unitsPerMeter,
    worldFromNormalized: [...IDENTITY4],
    used: [...used, ...usedAux, ...(cameraSet?.files ?? [])],
    skipped,
    warnings,
    notes,
  };
}

async function decodeMask(file: IndexedFile, decodePhoto: PhotoDecoder, fullWidth: number, fullHeight: number, width: number, height: number, photoPath: string): Promise<Uint8Array> {
  let mw: number, mh: number, values: Uint8Array;
  if (file.header?.format === 'png') {
    let png;
    try {
      png = decodePng(new Uint8Array(file.bytes));
    } catch (error) {
      throw new InputError(`${file.path}: not a readable PNG mask (${error instanceof Error ? error.message : String(error)})`, file.path);
    }
    mw = png.width;
    mh = png.height;
    values = new Uint8Array(mw * mh);
    const shift = png.depth === 16 ? 256 : 1;
    const c = png.channels;
    for (let i = 0; i < values.length; i++) {
      const v = c === 4 || c === 2 ? png.data[i * c + c - 1] : png.data[i * c];
      values[i] = v / shift >= 128 ? 255 : 0;
    }
  } else {
    const decoded = await decodePhoto(file.bytes, mimeOf(file.ext), Math.max(fullWidth, fullHeight));
    mw = decoded.image.width;
    mh = decoded.image.height;
    values = new Uint8Array(mw * mh);
    for (let i = 0; i < values.length; i++) values[i] = decoded.image.data[4 * i] >= 128 ? 255 : 0;
  }
  if (!cleanFactor(mw, mh, fullWidth, fullHeight)) {
    throw new InputError(`Mask ${file.path} is ${mw}x${mh} but its photo ${photoPath} is ${fullWidth}x${fullHeight}: sizes must match or differ by a clean factor.`, file.path);
  }
  return resampleNearest(values, mw, mh, width, height);
}

type Skipped = { file: string; reason: string }[];

/** Decodes an auxiliary file; an undecodable one is skipped with a warning (size mismatches still throw). */
function tryDecode<T>(decode: () => T, file: IndexedFile, skipped: Skipped, warn: (m: string, f?: string) => void): T | null {
  try {
    return decode();
  } catch (error) {
    if (error instanceof InputError && /sizes must match/.test(error.message)) throw error;
    const reason = error instanceof Error ? error.message.replace(`${file.path}: `, '') : String(error);
    skipped.push({ file: file.path, reason });
    warn(`${reason}; skipped`, file.path);
    return null;
  }
}

async function tryDecodeAsync<T>(decode: () => Promise<T>, file: IndexedFile, skipped: Skipped, warn: (m: string, f?: string) => void): Promise<T | null> {
  try {
    return await decode();
  } catch (error) {
    return tryDecode(() => { throw error; }, file, skipped, warn);
  }
}
