/**
 * The SfM geometry on a real dataset from Node, for fast experiments on the back end (focal, distortion, thresholds):
 * features from the CPU SIFT reference (identical to the GPU kernels to ~0.001 px, browser-tested) and matches from
 * the CPU matcher (identical to the GPU matcher), both cached under --cache, then the same sfmInputOf + solveCameras
 * as the job stage, scored against the dataset's cameras (relative rotation, alignment-free; focal vs the file's K).
 *
 *   npx tsx bench/sfmGeometry.ts <dataset> [--distortion auto|on|off] [--true-focal [--centre-pp] [--fix-intrinsics]] [--opt=<SfmOptions key>:<number>]
 *     [--cache /tmp/sfmc] [--max-features 8000] [--subset k (every k-th view)] [--seed-views n] [--try-tracks n] [--per-camera] [--true-aspect]
 *     [--input report.json]
 *
 * --input replays a job's own reconstruction input instead (report.sfm.input of a run with `sfm={"dumpInput":true}`,
 * e.g. from the GPU machine: its GPU features and matches), with the focal guessed or not as the job had it.
 *
 * PNGs are decoded with fast-png; JPEGs (no Node decoder) by Debian's Chromium through Playwright, the same
 * createImageBitmap resize as the app (decodePhotoInBrowser), once per photo (cached).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { rotationAngleDeg, scaleK } from '../src/core/camera';
import type { RgbaImage } from '../src/core/mesh';
import { scoreCameras, type CameraPair } from '../src/eval/cameras';
import { workingSize, type PhotoDecoder } from '../src/io/decode';
import { ingestCapture } from '../src/io/ingest';
import { sniffImage } from '../src/io/imageHeader';
import { extractFeaturesCpu } from '../src/stages/sfm/features/siftCpu';
import { matchPairsCpu } from '../src/stages/sfm/matching/matchCpu';
import { FOCAL_SEED_VIEWS, FOCAL_TRY_TRACKS, parseSfmInput, sfmInputOf, solveCameras, type SerializedSfmInput } from '../src/stages/sfm/solve';

/** runSfm.ts's SFM_FEATURE_LONG_SIDE (that module imports the GPU kernels, which Node cannot load). */
const SFM_FEATURE_LONG_SIDE = 1600;
import type { ImageFeatures, PairMatches } from '../src/stages/sfm/types';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => { const k = args.indexOf(name); return k >= 0 ? args[k + 1] : fallback; };
const dataset = args[0];
const datasets = resolve(import.meta.dirname, '../../shared/datasets');
const cache = arg('--cache', '/tmp/sfmc');
const distortion = arg('--distortion', 'auto');
const maxFeatures = Number(arg('--max-features', '8000'));
mkdirSync(cache, { recursive: true });

function load(dir: string) {
  const root = join(datasets, dir);
  const out: { path: string; bytes: ArrayBuffer }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else { const b = readFileSync(full); out.push({ path: `${dir}/${relative(root, full)}`, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer }); }
    }
  };
  walk(root);
  return out;
}

/** Pixels are only needed for features (decoded separately below): ingest reads sizes from the headers. */
const headerDecoder: PhotoDecoder = async (bytes, _mime, maxLongSide) => {
  const h = sniffImage(new Uint8Array(bytes));
  if (!h || !h.width) throw new Error('not an image');
  const size = workingSize(h.width, h.height, maxLongSide);
  return { fullWidth: h.width, fullHeight: h.height, image: { width: size.width, height: size.height, data: new Uint8Array(size.width * size.height * 4) } };
};

let browser: import('@playwright/test').Browser | null = null;
async function decodeForFeatures(bytes: ArrayBuffer, mime: string, longSide: number): Promise<RgbaImage> {
  if (mime === 'image/png') {
    const png = decodePng(new Uint8Array(bytes));
    const size = workingSize(png.width, png.height, longSide);
    if (size.width !== png.width) throw new Error('PNG downscaling is not needed for the datasets used here');
    const data = new Uint8Array(png.width * png.height * 4), c = png.channels;
    for (let i = 0; i < png.width * png.height; i++) {
      for (let k = 0; k < 3; k++) data[4 * i + k] = png.data[i * c + (c >= 3 ? k : 0)];
      data[4 * i + 3] = c === 4 ? png.data[i * c + 3] : 255;
    }
    return { width: png.width, height: png.height, data };
  }
  if (!browser) {
    const { chromium } = await import('@playwright/test');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  }
  const page = await browser.newPage();
  try {
    const r = await page.evaluate(async ({ b64, mime, longSide }) => {
      const bin = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const full = await createImageBitmap(new Blob([bin], { type: mime }), { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      const s = Math.min(1, longSide / Math.max(full.width, full.height));
      const w = Math.max(1, Math.round(full.width * s)), h = Math.max(1, Math.round(full.height * s));
      const bm = await createImageBitmap(full, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high', premultiplyAlpha: 'none' });
      const ctx = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(bm, 0, 0);
      const d = ctx.getImageData(0, 0, w, h).data;
      let out = '';
      for (let i = 0; i < d.length; i += 0x8000) out += String.fromCharCode(...d.subarray(i, i + 0x8000));
      return { w, h, data: btoa(out) };
    }, { b64: Buffer.from(bytes).toString('base64'), mime, longSide });
    return { width: r.w, height: r.h, data: new Uint8Array(Buffer.from(r.data, 'base64')) };
  } finally {
    await page.close();
  }
}

function saveFeatures(path: string, f: ImageFeatures[], scale: number[]) {
  writeFileSync(path, JSON.stringify(f.map((x, i) => ({ width: x.width, height: x.height, count: x.count, scale: scale[i], kp: Buffer.from(x.keypoints.buffer).toString('base64'), d: Buffer.from(x.descriptors).toString('base64') }))));
}
function loadFeatures(path: string): { features: ImageFeatures[]; scale: number[] } {
  const j = JSON.parse(readFileSync(path, 'utf8')) as { width: number; height: number; count: number; scale: number; kp: string; d: string }[];
  return {
    features: j.map((x) => { const kb = Buffer.from(x.kp, 'base64'); return { width: x.width, height: x.height, count: x.count, keypoints: new Float32Array(kb.buffer.slice(kb.byteOffset, kb.byteOffset + kb.byteLength)), descriptors: new Uint8Array(Buffer.from(x.d, 'base64')) }; }),
    scale: j.map((x) => x.scale),
  };
}

const mul3 = (a: number[], b: number[]) => Array.from({ length: 9 }, (_, i) => a[Math.floor(i / 3) * 3] * b[i % 3] + a[Math.floor(i / 3) * 3 + 1] * b[3 + (i % 3)] + a[Math.floor(i / 3) * 3 + 2] * b[6 + (i % 3)]);
const transpose3 = (a: number[]) => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];

async function main() {
  const files = load(dataset);
  const cameraFile = /(_par\.txt|\.camera|K\.txt|transforms_.*\.json|cameras\.txt|images\.txt)$/;
  const truthSet = await ingestCapture(files, { preset: 'high', decodePhoto: headerDecoder });
  const set = await ingestCapture(files.filter((f) => !cameraFile.test(f.path)), { preset: 'high', decodePhoto: headerDecoder });
  // --subset k: every k-th view only (CPU SIFT on 100 views is slow on a small machine).
  const subset = Number(arg('--subset', '1'));
  const keep = (_: unknown, i: number) => i % subset === 0;
  const views = set.views.filter(keep);
  truthSet.views = truthSet.views.filter(keep);
  const tag = `${dataset}-${maxFeatures}${subset > 1 ? `-every${subset}` : ''}`;
  const featPath = join(cache, `${tag}.features.json`), matchPath = join(cache, `${tag}.matches.json`);
  let features: ImageFeatures[] = [], scale: number[] = [];
  let matches: PairMatches[] = [];
  const t0 = performance.now();
  const replay = args.includes('--input') ? parseSfmInput((JSON.parse(readFileSync(arg('--input', ''), 'utf8')) as { sfm: { input: SerializedSfmInput } }).sfm.input) : null;
  if (replay) {
    if (replay.input.images.length !== views.length) throw new Error(`--input has ${replay.input.images.length} images, the dataset ${views.length}`);
    scale = replay.input.images.map((im, i) => im.width / views[i].width);
  } else if (existsSync(featPath)) ({ features, scale } = loadFeatures(featPath));
  else {
    // Per view files first (an interrupted extraction resumes), assembled into one file at the end.
    const viewDir = join(cache, `${dataset}-${maxFeatures}.views`);
    mkdirSync(viewDir, { recursive: true });
    features = []; scale = [];
    for (const v of views) {
      const vp = join(viewDir, `${v.name.replace(/[^\w.-]/g, '_')}.json`);
      if (existsSync(vp)) { const r = loadFeatures(vp); features.push(r.features[0]); scale.push(r.scale[0]); continue; }
      const img = await decodeForFeatures(v.source.bytes, v.source.mime, SFM_FEATURE_LONG_SIDE);
      features.push(extractFeaturesCpu(img, { maxFeatures }));
      scale.push(img.width / v.width);
      saveFeatures(vp, [features.at(-1)!], [scale.at(-1)!]);
      console.log(`features ${v.name}: ${features.at(-1)!.count} (${img.width}x${img.height}) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    saveFeatures(featPath, features, scale);
  }
  if (browser) await (browser as import('@playwright/test').Browser).close();
  if (args.includes('--features-only')) return;
  if (replay) { /* the job's matches */ } else if (existsSync(matchPath)) matches = (JSON.parse(readFileSync(matchPath, 'utf8')) as { i: number; j: number; m: number[] }[]).map((x) => ({ i: x.i, j: x.j, matches: Uint32Array.from(x.m) }));
  else {
    // Exhaustive, as selectPairs does up to 60 images (pairs.ts imports the GPU kernels, which Node cannot load).
    if (features.length > 60) throw new Error('more than 60 images: pair selection needs the GPU retrieval');
    const all: [number, number][] = [];
    for (let i = 0; i < features.length; i++) for (let j = i + 1; j < features.length; j++) all.push([i, j]);
    matches = matchPairsCpu(features, all);
    writeFileSync(matchPath, JSON.stringify(matches.map((m) => ({ i: m.i, j: m.j, m: Array.from(m.matches) }))));
    console.log(`matched ${matches.length} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (args.includes('--true-focal')) {
    // The file's K as a trusted prior (K.txt / par file), to separate focal errors from feature and BA errors.
    // --centre-pp: the true focal with the principal point at the image centre (what SfM assumes), to separate the two.
    const centre = args.includes('--centre-pp');
    views.forEach((v, i) => {
      const K = truthSet.views[i].K;
      v.K = centre ? [K[0], 0, v.K[2], 0, K[0], v.K[5], 0, 0, 1] : K.slice();
      v.intrinsicsSource = 'file';
    });
  }
  const input = replay ? replay.input : sfmInputOf(views, features, scale, matches);
  if (args.includes('--dump')) writeFileSync(arg('--dump', ''), JSON.stringify({ ...input, images: input.images.map((im) => ({ ...im, points: Array.from(im.points) })), pairs: input.pairs.map((p) => ({ i: p.i, j: p.j, matches: Array.from(p.matches) })) }));
  if (args.includes('--true-aspect')) {
    // Experiment: the file's fy/fx folded into the keypoints (v' = cy + (v - cy) fx/fy), to measure what square pixels cost.
    input.images.forEach((im, i) => {
      const K = truthSet.views[i].K, a = K[0] / K[4], cy = K[5] * scale[i];
      const p = new Float32Array(im.points);
      for (let k = 1; k < p.length; k += 2) p[k] = cy + (p[k] - cy) * a;
      im.points = p;
    });
  }
  input.refineDistortion = distortion === 'on' ? true : distortion === 'off' ? false : 'auto';
  if (args.includes('--fix-intrinsics')) input.options = { ...input.options, fixIntrinsics: true };
  for (const kv of args.filter((a) => a.startsWith('--opt='))) { const [k, v] = kv.slice(6).split(':'); input.options = { ...input.options, [k]: Number(v) }; }
  const guessed = replay ? replay.guessed : views.every((v) => v.intrinsicsSource === 'default');
  const t1 = performance.now();
  // CPU time as well: the geometry is single-threaded, and on a shared machine the wall time measures the neighbours.
  const cpu0 = process.cpuUsage();
  // --seed-views n: focal tries on seed reconstructions of n views (0: full reconstructions, the old search).
  const seedViews = Number(arg('--seed-views', String(FOCAL_SEED_VIEWS)));
  const tryTracks = Number(arg('--try-tracks', String(FOCAL_TRY_TRACKS)));
  const { result, focalTries } = await solveCameras(input, guessed, undefined, seedViews > 0 ? seedViews : Infinity, tryTracks);
  const seconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu0), cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const pairs: CameraPair[] = views.map((v, i) => {
    const c = result.cameras[i];
    const t = truthSet.views[i];
    return { name: v.name, estimated: c ? { K: scaleK(c.K, 1 / scale[i], 1 / scale[i]), camFromWorld: c.camFromWorld } : null, truth: { K: t.K, camFromWorld: t.camFromWorld ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] } };
  });
  const haveGtPoses = truthSet.views.every((v) => v.camFromWorld);
  const score = scoreCameras(pairs);
  const cams = result.cameras.filter((c): c is NonNullable<typeof c> => Boolean(c));
  const focal = cams.map((c, i) => c.K[0] / scale[i]).sort((a, b) => a - b)[cams.length >> 1];
  // Views registered at the mirror image of their pose (issue #6): relative rotation error > 90 deg against most
  // other registered views (lego's flipped views are ~180 deg off).
  const Rof = (p: number[]) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
  const flipped = haveGtPoses ? pairs.map((a, i) => {
    if (!a.estimated) return -1;
    const e: number[] = [];
    pairs.forEach((q, j) => {
      if (j === i || !q.estimated) return;
      const rel = (x: number[], y: number[]) => mul3(Rof(y), transpose3(Rof(x)));
      e.push(rotationAngleDeg(rel(a.estimated!.camFromWorld, q.estimated.camFromWorld), rel(a.truth.camFromWorld, q.truth.camFromWorld)));
    });
    return e.sort((x, y) => x - y)[e.length >> 1] > 90 ? i : -1;
  }).filter((i) => i >= 0) : [];
  if (args.includes('--per-camera')) {
    // Per view: rotation and centre error after the similarity alignment, and how many points it observes in the model.
    const obs = new Uint32Array(views.length);
    for (let k = 0; k < result.pointObservations.length; k += 2) obs[result.pointObservations[k]]++;
    // Alignment-free too: the median relative-rotation error of the view against every other registered view.
    const R = (p: number[]) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
    const relMedian = (i: number) => {
      const e: number[] = [];
      pairs.forEach((q, j) => {
        const a = pairs[i];
        if (j === i || !q.estimated || !a.estimated) return;
        const rel = (x: number[], y: number[]) => mul3(R(y), transpose3(R(x)));
        e.push(rotationAngleDeg(rel(a.estimated.camFromWorld, q.estimated.camFromWorld), rel(a.truth.camFromWorld, q.truth.camFromWorld)));
      });
      return e.sort((x, y) => x - y)[e.length >> 1];
    };
    for (const c of score.perCamera) {
      const i = views.findIndex((v) => v.name === c.name);
      console.log(`${c.name}: rot ${c.rotationErrorDeg.toFixed(3)} deg, centre ${(100 * c.centreErrorRel).toFixed(2)}%, relative median ${relMedian(i).toFixed(3)} deg, obs ${obs[i]}`);
    }
  }
  console.log(JSON.stringify({
    dataset, distortion, trueFocal: args.includes('--true-focal'), centrePp: args.includes('--centre-pp'), fixIntrinsics: args.includes('--fix-intrinsics'), opts: args.filter((a) => a.startsWith('--opt=')), registered: `${cams.length}/${views.length}`, flippedViews: haveGtPoses ? flipped.length : null,
    relRotMedianDeg: haveGtPoses ? +score.relativeRotationErrorDeg.median.toFixed(3) : null,
    relRotMaxDeg: haveGtPoses ? +score.relativeRotationErrorDeg.max.toFixed(3) : null,
    centreErrPct: haveGtPoses ? +(100 * score.centreErrorRel.median).toFixed(4) : null,
    focalErrorPct: +(100 * score.focalErrorRel.median).toFixed(2), focal: +focal.toFixed(1), trueFocal_px: truthSet.views[0].K[0],
    pp: cams[0] ? [+((cams[0].K[2] + 0.5) / scale[result.cameras.indexOf(cams[0])] - 0.5).toFixed(1), +((cams[0].K[5] + 0.5) / scale[result.cameras.indexOf(cams[0])] - 0.5).toFixed(1)] : null,
    truePp: [truthSet.views[0].K[2], truthSet.views[0].K[5]],
    k1: +(cams[0]?.k1 ?? 0).toFixed(4), k2: +(cams[0]?.k2 ?? 0).toFixed(4),
    reprojPx: +result.meanReprojectionError.toFixed(3), points: result.points.length / 3,
    focalTries, stats: { noiseThresholdPx: +result.stats.noiseThresholdPx?.toFixed(3), noiseObsRemoved: result.stats.noiseObsRemoved, tracksDropped: result.stats.tracksDropped, tracks: result.stats.tracks, distortionTerms: result.stats.distortionTerms, verifiedPairs: result.stats.verifiedPairs, pairsSkippedByF: result.stats.pairsSkippedByF, pairsMirrorRejected: result.stats.pairsMirrorRejected, mirrorFlaggedViews: result.stats.mirrorFlaggedViews, mirrorGroups: result.stats.mirrorGroups, mirrorClosePairs: result.stats.mirrorClosePairs, mirrorConflictPairs: result.stats.mirrorConflictPairs, mirrorMinCloseRatio: +(result.stats.mirrorMinCloseRatio ?? 0).toFixed(3), mirrorRepairRounds: result.stats.mirrorRepairRounds, mirrorPairsExcluded: result.stats.mirrorPairsExcluded, mirrorRepairSeconds: +(result.stats.mirrorRepairSeconds ?? 0).toFixed(2), verifySeconds: +result.stats.verifySeconds.toFixed(1) },
    geometrySeconds: +seconds.toFixed(1), geometryCpuSeconds: +cpuSeconds.toFixed(1),
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
