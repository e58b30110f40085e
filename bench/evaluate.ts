/**
 * `npm run evaluate -- --result out.zip --gt <capture or dataset dir> [--json scores.json] [--dump dir] [--mipmaps]`
 * Scores a result zip against ground truth: cameras (any camera format ingest reads), geometry (when the capture
 * has gt.json with its mesh), and appearance at held-out views (report.json input.heldOut; rendered in Chromium).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { encodePng } from '../src/export/png';
import { dirname, join, relative, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import type { Report } from '../src/core/report';
import { scoreCameras, type CameraPair, type CameraScore } from '../src/eval/cameras';
import { scoreGeometry, transformPositions, type GeometryScore } from '../src/eval/geometry';
import { parseObj } from '../src/export/parse';
import { indexFiles, keyOf } from '../src/io/files';
import { parseCameraFiles } from '../src/io/formats/registry';
import { sniffImage } from '../src/io/imageHeader';
import { makeK, scaleK } from '../src/core/camera';
import type { ReconstructClient } from '../src/app/client';
import { errorBreakdown, psnr, ssim, type ErrorBreakdown } from '../src/eval/image';
import { decodeRgbaPng } from '../src/io/objMesh';
import { openAppInChromium, pullBytes, type AppSession } from './browser';
import { ingestCapture } from '../src/io/ingest';
import { headerOnlyDecoder } from '../test/unit/nodeDecoder';

function arrayBufferOf(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export interface Scores {
  cameras: CameraScore | null;
  geometry: ({ model: string } & GeometryScore)[];
  /** coverage: for views without a mask, the share of the photo the mesh renders onto (where they are scored). */
  appearance: { model: string; psnr: number; ssim: number; views: number; coverage?: number; breakdown?: ErrorBreakdownSummary }[];
  /** The mesh's depth at the held-out views against the capture's depth maps (where it has them). */
  depth: ({ model: string } & HeldOutDepthScore)[];
  notes: string[];
}

/** Per-class error shares over all masked held-out views (errorBreakdown), and per view. */
export interface ErrorBreakdownSummary {
  /** class -> share of the summed squared error over all views, pixels, and the mean PSNR gained were it zero */
  classes: Record<string, { share: number; pixels: number; psnrGain: number }>;
  interiorLowShare: number;
  interiorHighShare: number;
  perView: { name: string; psnr: number; shares: Record<string, number> }[];
}

function summarise(perView: { name: string; b: ErrorBreakdown }[]): ErrorBreakdownSummary {
  const names = Object.keys(perView[0].b.classes) as (keyof ErrorBreakdown['classes'])[];
  const total = perView.reduce((s, v) => s + Object.values(v.b.classes).reduce((t, c) => t + c.sse, 0), 0);
  const meanPsnr = perView.reduce((s, v) => s + v.b.psnr, 0) / perView.length;
  const classes: ErrorBreakdownSummary['classes'] = {};
  for (const k of names) {
    const sse = perView.reduce((s, v) => s + v.b.classes[k].sse, 0);
    const gain = perView.reduce((s, v) => s + v.b.classes[k].psnrWithout, 0) / perView.length - meanPsnr;
    classes[k] = { share: total ? sse / total : 0, pixels: perView.reduce((s, v) => s + v.b.classes[k].pixels, 0), psnrGain: gain };
  }
  const interiorSse = perView.reduce((s, v) => s + v.b.classes.interior.sse, 0);
  const weighted = (f: (b: ErrorBreakdown) => number) => (interiorSse ? perView.reduce((s, v) => s + f(v.b) * v.b.classes.interior.sse, 0) / interiorSse : 0);
  return {
    classes,
    interiorLowShare: weighted((b) => b.interiorLowShare),
    interiorHighShare: weighted((b) => b.interiorHighShare),
    perView: perView.map((v) => ({ name: v.name, psnr: v.b.psnr, shares: Object.fromEntries(names.map((k) => [k, v.b.classes[k].share])) })),
  };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

/** The ground truth's cameras with K for each photo's own size. */
export function loadTruthCameras(gtDir: string): Map<string, { K: number[]; camFromWorld: number[] }> {
  const all = walk(gtDir);
  const cameraLike = all.filter(isCameraFile);
  const files = indexFiles(cameraLike.map((f) => ({ path: relative(gtDir, f), bytes: arrayBufferOf(readFileSync(f)) }))).files;
  const set = parseCameraFiles(files);
  const out = new Map<string, { K: number[]; camFromWorld: number[] }>();
  if (!set) return out;
  const photos = new Map(all.filter(isPhoto).map((f) => [keyOf(f.split('/').pop()!), f]));
  for (const cam of set.cameras) {
    if (!cam.camFromWorld) continue;
    const key = keyOf(cam.image.includes('.') ? cam.image : `${cam.image}.x`);
    const photo = photos.get(key);
    const header = photo ? sniffImage(readFileSync(photo)) : null;
    let K = cam.K ?? set.sharedK?.K ?? null;
    if (!K && cam.fovXRadians !== undefined && header) {
      const fx = header.width / 2 / Math.tan(cam.fovXRadians / 2);
      K = makeK(fx, fx, (header.width - 1) / 2, (header.height - 1) / 2);
    }
    if (K && cam.width && header && header.width && cam.width !== header.width) K = scaleK(K, header.width / cam.width, header.height / cam.height!);
    if (K) out.set(key, { K, camFromWorld: cam.camFromWorld });
  }
  return out;
}

export function evaluateResult(zipPath: string, gtDir: string, samples = 20000): Scores {
  // A report.json alone (e.g. from the GPU machine, where the zip may be too large to bring back) scores the cameras.
  const reportOnly = zipPath.endsWith('.json');
  const files: Record<string, Uint8Array> = reportOnly ? {} : unzipSync(readFileSync(zipPath));
  const report = JSON.parse(reportOnly ? readFileSync(zipPath, 'utf8') : new TextDecoder().decode(files['report.json'])) as Report;
  const notes: string[] = [];
  // Cameras.
  const truth = loadTruthCameras(gtDir);
  let cameras: CameraScore | null = null;
  if (truth.size === 0) notes.push('cameras: the ground truth has no cameras');
  else {
    const pairs: CameraPair[] = [];
    for (const cam of report.cameras) {
      const t = truth.get(keyOf(cam.name));
      if (!t) continue;
      pairs.push({ name: cam.name, truth: t, estimated: cam.registered && cam.camFromWorld.length ? { K: cam.K.flat(), camFromWorld: cam.camFromWorld.flat() } : null });
    }
    cameras = scoreCameras(pairs);
  }
  // Geometry.
  const geometry: Scores['geometry'] = [];
  const gtJson = join(gtDir, 'gt.json');
  if (reportOnly) notes.push('geometry: only report.json given');
  else if (existsSync(gtJson)) {
    const gt = JSON.parse(readFileSync(gtJson, 'utf8')) as { mesh: string; worldFromMesh: number[][] };
    const meshPath = resolve(dirname(gtJson), gt.mesh);
    const obj = parseObj(readFileSync(meshPath));
    const gtMesh = { positions: transformPositions(obj.positions, gt.worldFromMesh.flat()), indices: obj.faceV };
    for (const m of report.meshes) {
      const result = parseObj(files[m.obj]);
      geometry.push({ model: m.model, ...scoreGeometry({ positions: result.positions, indices: result.faceV }, gtMesh, samples) });
    }
  } else notes.push('geometry: no gt.json (no ground-truth mesh)');
  if (!report.input.heldOut.length) notes.push('appearance: no held-out views (run reconstruct with --holdout k)');
  return { cameras, geometry, appearance: [], depth: [], notes };
}

/** Where the renderer drew the mesh (alpha > 0): the scored region of a view without a mask. */
export function coverageMask(rendered: Uint8Array): Uint8Array {
  const out = new Uint8Array(rendered.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = rendered[4 * i + 3] > 0 ? 255 : 0;
  return out;
}

/** A JPEG / WebP decoded by Chromium (createImageBitmap, no colour conversion, as the app decodes photos): RGBA8. */
async function decodeInBrowser(page: AppSession['page'], bytes: Buffer, mime: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const info = await page.evaluate(async ([b64, type]) => {
    const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type });
    const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    (window as unknown as { webreconDecoded: Uint8Array }).webreconDecoded = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  }, [bytes.toString('base64'), mime] as const);
  const data = new Uint8Array(await pullBytes(page, 'window.webreconDecoded', info.width * info.height * 4));
  return { ...info, data };
}

const isCameraFile = (f: string) => /(cameras\.txt|images\.txt|transforms.*\.json|_par\.txt|\.camera|\.pose\.txt|camera-intrinsics\.txt|K\.txt)$/i.test(f);
const isMask = (f: string) => /\/masks?\//.test(f);
/** Depth maps: in depth/ folders, or 7-Scenes' frame-N.depth.png beside frame-N.color.png (same key). */
const isDepth = (f: string) => /\/depth\//.test(f) || /[._-]depth\.png$/i.test(f);
const isDepthOrMask = (f: string) => isMask(f) || isDepth(f);
const isPhoto = (f: string) => /\.(png|jpe?g|webp)$/i.test(f) && !isDepthOrMask(f);

/**
 * The depth maps of the capture's views whose key is in `keys`, as ingest reads them (full-size working images): the
 * camera files, every photo (header only) and the depth maps and masks of those views.
 */
async function heldOutTruthDepth(gtDir: string, all: string[], keys: Set<string>): Promise<Map<string, { depth: Float32Array; width: number; height: number }>> {
  const wanted = all.filter((f) => isCameraFile(f) || isPhoto(f) || (isDepthOrMask(f) && keys.has(keyOf(f.split('/').pop()!))));
  const capture = await ingestCapture(wanted.map((f) => ({ path: relative(gtDir, f), bytes: arrayBufferOf(readFileSync(f)) })), { preset: 'high', decodePhoto: headerOnlyDecoder });
  const out = new Map<string, { depth: Float32Array; width: number; height: number }>();
  for (const v of capture.views) if (v.depthMeters) out.set(keyOf(v.name.split('/').pop()!), { depth: v.depthMeters, width: v.width, height: v.height });
  return out;
}

/** PSNR / SSIM of each model's mesh rendered (in Chromium, WebGPU) at the held-out views, inside the GT mask. */
/**
 * `mipmaps`: sample the texture through mip levels (trilinear), as the page's three.js viewer does, instead of level 0
 * (bilinear) at every footprint. The default stays level 0: our atlases hold 2-4 texels per photo pixel, and the
 * viewer's mip level blurs them below the photos' own sharpness (spot: 30.14 -> 27.62 dB).
 */
export async function scoreAppearance(zipPath: string, gtDir: string, scores: Scores, dumpDir?: string, mipmaps = false): Promise<void> {
  const files = unzipSync(readFileSync(zipPath));
  const report = JSON.parse(new TextDecoder().decode(files['report.json'])) as Report;
  if (!report.input.heldOut.length || !report.meshes.length) return;
  const truth = loadTruthCameras(gtDir);
  // Given cameras the job adjusted to its photos (refineCameras): the held-out views are scored at the poses the job
  // carried into its frame (their neighbours' correction, refineGiven.ts carryToHeldOut), not at the dataset's.
  if (report.cameraRefinement?.accepted) {
    for (const cam of report.cameras) if (cam.registered && cam.camFromWorld.length && report.input.heldOut.includes(cam.name)) truth.set(keyOf(cam.name), { K: cam.K.flat(), camFromWorld: cam.camFromWorld.flat() });
    scores.notes.push('appearance / depth: the job adjusted the given cameras; the held-out views are scored at the poses it carried into its frame');
  }
  const all = walk(gtDir);
  const photos = new Map(all.filter(isPhoto).map((f) => [keyOf(f.split('/').pop()!), f]));
  const masks = new Map(all.filter(isMask).map((f) => [keyOf(f.split('/').pop()!), f]));
  const views: { name: string; K: number[]; camFromWorld: number[]; width: number; height: number; rgba: Uint8Array; mask: Uint8Array | null }[] = [];
  const pending: { name: string; key: string; photo: string; cam: { K: number[]; camFromWorld: number[] } }[] = [];
  for (const name of report.input.heldOut) {
    const key = keyOf(name);
    const cam = truth.get(key), photo = photos.get(key);
    if (cam && photo) pending.push({ name, key, photo, cam });
  }
  if (!pending.length) return;
  // The truth's depth maps at the held-out views, as the app reads them (7-Scenes: reprojected into the colour camera).
  // (Not for cameras the job found itself: its model is in its own frame, the dataset's cameras are not.)
  let truthDepth: Awaited<ReturnType<typeof heldOutTruthDepth>> | null = null;
  if (report.input.cameras === 'sfm') scores.notes.push('depth: not scored (the job found its own cameras; its frame is not the dataset\'s)');
  else if (all.some(isDepth)) {
    try {
      truthDepth = await heldOutTruthDepth(gtDir, all, new Set(pending.map((p) => p.key)));
    } catch (error) {
      scores.notes.push(`depth: the truth's depth maps could not be read (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  process.env.WEBRECON_DATA_DIR ??= gtDir;
  const session = await openAppInChromium({});
  try {
    for (const { name, key, photo, cam } of pending) {
      // PNG in Node (exact 8-bit); JPEG / WebP decoded by Chromium, the decoder the app itself reads photos with.
      const image = /\.png$/i.test(photo) ? decodeRgbaPng(readFileSync(photo)) : await decodeInBrowser(session.page, readFileSync(photo), /\.webp$/i.test(photo) ? 'image/webp' : 'image/jpeg');
      let mask: Uint8Array | null = null;
      const maskFile = masks.get(key);
      if (maskFile) {
        const m = decodeRgbaPng(readFileSync(maskFile));
        mask = new Uint8Array(m.width * m.height).map((_, i) => (m.data[4 * i] >= 128 ? 255 : 0));
      } else if (image.data.some((v, i) => i % 4 === 3 && v < 255)) {
        mask = new Uint8Array(image.width * image.height).map((_, i) => (image.data[4 * i + 3] >= 128 ? 255 : 0));
        // Composite RGBA ground truth on black, as the renderer's background.
        for (let i = 0; i < image.width * image.height; i++) for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round((image.data[4 * i + c] * image.data[4 * i + 3]) / 255);
      }
      views.push({ name, K: cam.K, camFromWorld: cam.camFromWorld, width: image.width, height: image.height, rgba: image.data, mask });
    }
    const unmasked = views.filter((v) => !v.mask).length;
    if (unmasked) scores.notes.push(`appearance: ${unmasked} held-out view(s) without a mask are scored where the mesh renders (coverage = that share of the photo): the background has no geometry to match`);
    for (const m of report.meshes) {
      const folder = m.obj.slice(0, m.obj.lastIndexOf('/') + 1);
      const meshFiles = Object.entries(files).filter(([n]) => n.startsWith(folder) && !n.slice(folder.length).includes('/'));
      const payload = meshFiles.map(([n, b]) => [n.slice(folder.length), Buffer.from(b).toString('base64')] as const);
      const sizes = await session.page.evaluate(async ([entries, objName, cams, mip, withDepth]) => {
        const client = (window as unknown as { webrecon: ReconstructClient }).webrecon;
        const input = (entries as (readonly [string, string])[]).map(([name, b64]) => ({ name, path: name, bytes: Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer }));
        const images = await client.api.renderViews({ files: input, objName: objName as string, views: cams as never, mipmaps: mip as boolean, depth: withDepth as boolean });
        (window as unknown as { webreconRendered: Record<string, Uint8Array> }).webreconRendered = images;
        return Object.fromEntries(Object.entries(images).map(([k, v]) => [k, v.length]));
      }, [payload, m.obj.slice(folder.length), views.map(({ rgba: _r, mask: _m, ...v }) => v), mipmaps, Boolean(truthDepth?.size)] as const);
      let psnrSum = 0, ssimSum = 0, count = 0, coverageSum = 0;
      const depthViews: Parameters<typeof scoreHeldOutDepth>[0] = [];
      const breakdowns: { name: string; b: ErrorBreakdown }[] = [];
      for (const v of views) {
        const rendered = new Uint8Array(await pullBytes(session.page, `window.webreconRendered[${JSON.stringify(v.name)}]`, sizes[v.name]));
        const truth = truthDepth?.get(keyOf(v.name));
        const key = `${v.name}#depth`;
        if (truth && sizes[key]) {
          const bytes = new Uint8Array(await pullBytes(session.page, `window.webreconRendered[${JSON.stringify(key)}]`, sizes[key]));
          depthViews.push({ rendered: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), width: v.width, height: v.height, truth: truth.depth, truthWidth: truth.width, truthHeight: truth.height, mask: v.mask });
        }
        if (dumpDir) {
          // rendered | photo, side by side, for a person to look at
          const both = new Uint8Array(v.width * 2 * v.height * 4);
          for (let y = 0; y < v.height; y++) {
            both.set(rendered.subarray(y * v.width * 4, (y + 1) * v.width * 4), y * v.width * 8);
            both.set(v.rgba.subarray(y * v.width * 4, (y + 1) * v.width * 4), y * v.width * 8 + v.width * 4);
          }
          for (let i = 3; i < both.length; i += 4) both[i] = 255;
          mkdirSync(dumpDir, { recursive: true });
          writeFileSync(join(dumpDir, `${m.model}-${v.name.replace(/[^\w.-]+/g, '_')}`), encodePng({ width: v.width * 2, height: v.height, data: both, channels: 4 }));
          // the render alone with its coverage alpha, for error maps made elsewhere
          writeFileSync(join(dumpDir, `${m.model}-render-${v.name.replace(/[^\w.-]+/g, '_')}`), encodePng({ width: v.width, height: v.height, data: rendered, channels: 4 }));
        }
        const mask = v.mask ?? coverageMask(rendered);
        if (!v.mask) coverageSum += mask.reduce((s, x) => s + (x ? 1 : 0), 0) / mask.length;
        const p = psnr(rendered, v.rgba, mask);
        if (!Number.isFinite(p)) continue;
        psnrSum += p;
        ssimSum += ssim(rendered, v.rgba, v.width, v.height, mask);
        if (v.mask) breakdowns.push({ name: v.name, b: errorBreakdown(rendered, v.rgba, v.mask, v.width, v.height) });
        count++;
      }
      if (depthViews.length) scores.depth.push({ model: m.model, ...scoreHeldOutDepth(depthViews) });
      if (count) scores.appearance.push({ model: m.model, psnr: psnrSum / count, ssim: ssimSum / count, views: count, ...(unmasked ? { coverage: coverageSum / unmasked } : {}), ...(breakdowns.length ? { breakdown: summarise(breakdowns) } : {}) });
    }
  } finally {
    await session.close();
  }
}

export interface HeldOutDepthScore {
  views: number;
  /** Share of the truth's valid pixels (inside the mask where there is one) the mesh covers. */
  coverage: number;
  absRel: number;
  delta125: number;
  /** Median of rendered / true depth: a scale error of the whole model shows here. */
  medianRatio: number;
}

/**
 * The mesh's camera-space depth rendered at a held-out view against the truth's: AbsRel, delta < 1.25 and the median
 * ratio where both have depth (inside the mask where there is one), and the share of the truth the mesh covers. The
 * truth is at its own size (a working-image size): each rendered pixel takes the truth pixel under its centre.
 */
export function scoreHeldOutDepth(views: { rendered: Float32Array; width: number; height: number; truth: Float32Array; truthWidth: number; truthHeight: number; mask: Uint8Array | null }[]): HeldOutDepthScore {
  let valid = 0, covered = 0, sum = 0, d125 = 0;
  const ratios: number[] = [];
  for (const v of views) {
    for (let y = 0; y < v.height; y++) for (let x = 0; x < v.width; x++) {
      const i = y * v.width + x;
      if (v.mask && !v.mask[i]) continue;
      const tx = Math.min(v.truthWidth - 1, Math.floor(((x + 0.5) * v.truthWidth) / v.width)), ty = Math.min(v.truthHeight - 1, Math.floor(((y + 0.5) * v.truthHeight) / v.height));
      const t = v.truth[ty * v.truthWidth + tx];
      if (!(t > 0)) continue;
      valid++;
      const d = v.rendered[i];
      if (!(d > 0)) continue;
      covered++;
      sum += Math.abs(d - t) / t;
      if (Math.max(d / t, t / d) < 1.25) d125++;
      ratios.push(d / t);
    }
  }
  ratios.sort((a, b) => a - b);
  return { views: views.length, coverage: covered / Math.max(1, valid), absRel: sum / Math.max(1, covered), delta125: d125 / Math.max(1, covered), medianRatio: ratios.length ? ratios[ratios.length >> 1] : NaN };
}

export function formatScores(s: Scores): string {
  const lines: string[] = [];
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  if (s.cameras) {
    const c = s.cameras;
    lines.push('cameras   registered  rot err median/max (deg)  centre err median/max (% extent)  relative rot median (deg)  focal err median (%)');
    lines.push(`          ${c.registered}/${c.total}`.padEnd(22) + `${f(c.rotationErrorDeg.median)} / ${f(c.rotationErrorDeg.max)}`.padEnd(26) + `${f(c.centreErrorRel.median * 100)} / ${f(c.centreErrorRel.max * 100)}`.padEnd(34) + `${f(c.relativeRotationErrorDeg.median)}`.padEnd(27) + f(c.focalErrorRel.median * 100, 2));
  }
  if (s.geometry.length) {
    lines.push('geometry  model        accuracy (%)  completeness (%)  chamfer (%)  F@0.5%  F@1%');
    for (const g of s.geometry) lines.push(`          ${g.model.padEnd(13)}${f(g.accuracy * 100).padEnd(14)}${f(g.completeness * 100).padEnd(18)}${f(g.chamfer * 100).padEnd(13)}${f(g.fscore005).padEnd(8)}${f(g.fscore01)}`);
  }
  for (const a of s.appearance) {
    lines.push(`appearance ${a.model}: PSNR ${f(a.psnr, 2)} dB, SSIM ${f(a.ssim)} over ${a.views} held-out views${a.coverage !== undefined ? ` (unmasked views: scored on the ${f(a.coverage * 100, 1)}% the mesh covers)` : ''}`);
    const b = a.breakdown;
    if (b) {
      lines.push(`  error share (of the masked SSE) / mean PSNR gain were it zero: ${Object.entries(b.classes).map(([k, c]) => `${k} ${f(c.share * 100, 1)}% / +${f(c.psnrGain, 2)} dB`).join(', ')}`);
      lines.push(`  interior error: ${f(b.interiorLowShare * 100, 1)}% low-frequency (9 px box), ${f(b.interiorHighShare * 100, 1)}% detail`);
    }
  }
  for (const d of s.depth) lines.push(`depth      ${d.model}: AbsRel ${f(d.absRel, 4)}, delta<1.25 ${f(d.delta125)}, median ratio ${f(d.medianRatio)}, coverage ${f(d.coverage * 100, 1)}% over ${d.views} held-out views`);
  for (const n of s.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const result = get('--result'), gt = get('--gt'), json = get('--json'), dump = get('--dump');
  if (!result || !gt) throw new Error('usage: npm run evaluate -- --result out.zip --gt <capture or dataset dir> [--json scores.json] [--dump dir] [--mipmaps]');
  const scores = evaluateResult(result, gt);
  if (!result.endsWith('.json')) await scoreAppearance(result, gt, scores, dump, argv.includes('--mipmaps'));
  console.log(formatScores(scores));
  if (json) {
    const c = scores.cameras;
    writeFileSync(json, JSON.stringify({
      cameras: c ? { registered: c.registered, total: c.total, rotationErrorDeg: c.rotationErrorDeg, centreErrorRel: c.centreErrorRel, relativeRotationErrorDeg: c.relativeRotationErrorDeg, focalErrorRel: c.focalErrorRel, extent: c.extent } : null,
      geometry: scores.geometry.map((g) => ({ model: g.model, accuracy: g.accuracy, completeness: g.completeness, chamfer: g.chamfer, fscore005: g.fscore005, fscore01: g.fscore01 })),
      appearance: scores.appearance,
      depth: scores.depth,
      notes: scores.notes,
    }, null, 2));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
