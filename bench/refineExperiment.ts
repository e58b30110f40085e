/**
 * `npx tsx bench/refineExperiment.ts --zip ff.zip --gt <capture dir> [--preset draft] [--variants '<json>' | --variants-file f.json] [--json out.json]`
 * Refinement settings on a real capture, each scored on the held-out views (report.json input.heldOut: never trained
 * on) as `npm run evaluate` scores them, and on geometry (Chamfer, when the capture has gt.json). The starting mesh is
 * the feed-forward model's in the zip (run `npm run reconstruct -- <capture> --models feedforward --holdout 8` once),
 * so that every setting starts from the same mesh and only the refinement runs per setting. The views are split as
 * the refine model splits them (splitValidation); working images are the ingest's size for the preset, the bake
 * photos the texture stage's (BAKE_LONG_SIDE), photos composited on black with alpha = mask.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import type { ReconstructClient } from '../src/app/client';
import { scaleK } from '../src/core/camera';
import type { Report } from '../src/core/report';
import { scoreGeometry, transformPositions } from '../src/eval/geometry';
import { parseMtl, parseObj } from '../src/export/parse';
import { keyOf } from '../src/io/files';
import { WORKING_LONG_SIDE } from '../src/io/ingest';
import { decodeRgbaPng } from '../src/io/objMesh';
import { splitValidation } from '../src/models/refine';
import type { RefineVariant } from '../src/bench/refineBench';
import type { RefineView } from '../src/stages/refine/problem';
import { BAKE_LONG_SIDE } from '../src/stages/texture/textureMesh';
import type { RgbaImage } from '../src/core/mesh';
import { openAppInChromium } from './browser';
import { loadTruthCameras } from './evaluate';

const argv = process.argv.slice(2);
const arg = (name: string, fallback?: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const zipPath = arg('--zip')!, gtDir = resolve(arg('--gt')!), preset = (arg('--preset', 'draft') as 'draft' | 'standard' | 'high');
const variants: RefineVariant[] = JSON.parse(arg('--variants-file') ? readFileSync(arg('--variants-file')!, 'utf8') : arg('--variants', '[]')!);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

/** Area-averaged downsampling to `side` on the long side (K follows), as the ingest's working images. */
function shrink(img: RgbaImage, K: number[], side: number): { img: RgbaImage; K: number[] } {
  const long = Math.max(img.width, img.height);
  if (long <= side) return { img, K };
  const s = side / long, W = Math.round(img.width * s), H = Math.round(img.height * s);
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const x0 = (x * img.width) / W, x1 = ((x + 1) * img.width) / W, y0 = (y * img.height) / H, y1 = ((y + 1) * img.height) / H;
    const acc = [0, 0, 0, 0];
    let wsum = 0;
    for (let yy = Math.floor(y0); yy < Math.ceil(y1); yy++) for (let xx = Math.floor(x0); xx < Math.ceil(x1); xx++) {
      const w = (Math.min(xx + 1, x1) - Math.max(xx, x0)) * (Math.min(yy + 1, y1) - Math.max(yy, y0));
      for (let c = 0; c < 4; c++) acc[c] += w * img.data[4 * (yy * img.width + xx) + c];
      wsum += w;
    }
    for (let c = 0; c < 4; c++) out[4 * (y * W + x) + c] = Math.round(acc[c] / wsum);
  }
  return { img: { width: W, height: H, data: out }, K: scaleK(K as never, W / img.width, H / img.height) as unknown as number[] };
}

const files = unzipSync(readFileSync(zipPath));
const report = JSON.parse(new TextDecoder().decode(files['report.json'])) as Report;
const ff = report.meshes.find((m) => m.model === 'feedforward') ?? report.meshes[0];
const obj = parseObj(files[ff.obj]);
const folder = ff.obj.slice(0, ff.obj.lastIndexOf('/') + 1);
const mtl = parseMtl(files[folder + obj.mtllib[0]]);
const texture = decodeRgbaPng(files[folder + mtl.materials.find((m) => m.mapKd)!.mapKd!]);
// One vertex per (position, uv) pair, as the exporter split them.
const pairIndex = new Map<string, number>();
const positions: number[] = [], uvs: number[] = [], indices = new Uint32Array(obj.faceV.length);
for (let i = 0; i < obj.faceV.length; i++) {
  const key = `${obj.faceV[i]}/${obj.faceVt[i]}`;
  let v = pairIndex.get(key);
  if (v === undefined) {
    v = positions.length / 3;
    pairIndex.set(key, v);
    positions.push(...obj.positions.subarray(3 * obj.faceV[i], 3 * obj.faceV[i] + 3));
    uvs.push(obj.uvs[2 * obj.faceVt[i]], 1 - obj.uvs[2 * obj.faceVt[i] + 1]);
  }
  indices[i] = v;
}
const mesh = { positions: Float32Array.from(positions), indices, uvs: Float32Array.from(uvs), texture };

const truth = loadTruthCameras(gtDir);
const all = walk(gtDir);
const photos = new Map(all.filter((f) => /\.png$/i.test(f) && !/\/(depth|masks?)\//.test(f)).map((f) => [keyOf(f.split('/').pop()!), f]));
const maskFiles = new Map(all.filter((f) => /\/masks?\//.test(f)).map((f) => [keyOf(f.split('/').pop()!), f]));
const heldOutKeys = new Set(report.input.heldOut.map(keyOf));
let hasMasks = false;
function load(key: string): RefineView & { mask: Uint8Array } {
  const image = decodeRgbaPng(readFileSync(photos.get(key)!));
  const n = image.width * image.height;
  const mask = new Uint8Array(n);
  const maskFile = maskFiles.get(key);
  const m = maskFile ? decodeRgbaPng(readFileSync(maskFile)) : null;
  for (let i = 0; i < n; i++) {
    const a = m ? m.data[4 * i] : image.data[4 * i + 3];
    mask[i] = a >= 128 ? 255 : 0;
    if (!m) for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round((image.data[4 * i + c] * a) / 255);
    image.data[4 * i + 3] = mask[i];
  }
  if (m || image.data.some((v, i) => i % 4 === 3 && v < 255)) hasMasks = true;
  const cam = truth.get(key)!;
  return { width: image.width, height: image.height, K: cam.K, camFromWorld: cam.camFromWorld, rgba: image.data, mask };
}
const usedImages = report.input.used.filter((f) => !/\/(depth|masks?)\//.test(f) && /\.(png|jpe?g)$/i.test(f));
const posedKeys = usedImages.map((f) => keyOf(f.split('/').pop()!)).filter((k) => truth.has(k) && photos.has(k) && !heldOutKeys.has(k));
const posed = posedKeys.map(load);
const { train, validation } = splitValidation(posed);
const working = (v: RefineView): RefineView => {
  const s = shrink({ width: v.width, height: v.height, data: v.rgba }, v.K, WORKING_LONG_SIDE[preset]);
  return { width: s.img.width, height: s.img.height, K: s.K, camFromWorld: v.camFromWorld, rgba: s.img.data };
};
const bake = posed.map((v) => {
  const s = shrink({ width: v.width, height: v.height, data: v.rgba }, v.K, BAKE_LONG_SIDE[preset]);
  return { width: s.img.width, height: s.img.height, K: s.K, camFromWorld: v.camFromWorld, rgba: s.img.data };
});
const heldOut = [...heldOutKeys].filter((k) => photos.has(k) && truth.has(k)).map(load);
console.error(`mesh ${indices.length / 3} faces, texture ${texture.width}^2; ${train.length} train, ${validation.length} validation (${train[0].width}x${train[0].height}), ${bake.length} bake (${bake[0].width}x${bake[0].height}), ${heldOut.length} held out; masks ${hasMasks}`);

// Typed arrays cross into the page as base64 (tagged), and back the same way.
type Packed = { __t: string; b64: string };
function pack(x: unknown): unknown {
  if (ArrayBuffer.isView(x)) return { __t: x.constructor.name, b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
  if (Array.isArray(x)) return x.map(pack);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, pack(v)]));
  return x;
}
function unpack(x: unknown): unknown {
  if (x && typeof x === 'object' && '__t' in (x as object)) {
    const p = x as Packed, b = Buffer.from(p.b64, 'base64');
    const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    return p.__t === 'Float32Array' ? new Float32Array(ab) : p.__t === 'Uint32Array' ? new Uint32Array(ab) : new Uint8Array(ab);
  }
  if (Array.isArray(x)) return x.map(unpack);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, unpack(v)]));
  return x;
}

const spec = pack({ mesh, train: train.map(working), validation: validation.map(working), bake, heldOut, hasMasks, variants });
const session = await openAppInChromium({ log: (l) => console.error(l) });
let out: { results: Record<string, unknown>[] };
try {
  out = unpack(await session.page.evaluate(async (packed) => {
    const un = (x: unknown): unknown => {
      if (x && typeof x === 'object' && '__t' in (x as object)) {
        const p = x as { __t: string; b64: string };
        const bytes = Uint8Array.from(atob(p.b64), (c) => c.charCodeAt(0));
        return p.__t === 'Float32Array' ? new Float32Array(bytes.buffer) : p.__t === 'Uint32Array' ? new Uint32Array(bytes.buffer) : bytes;
      }
      if (Array.isArray(x)) return x.map(un);
      if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, un(v)]));
      return x;
    };
    const re = (x: unknown): unknown => {
      if (ArrayBuffer.isView(x)) {
        const b = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
        let s = '';
        for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
        return { __t: x.constructor.name, b64: btoa(s) };
      }
      if (Array.isArray(x)) return x.map(re);
      if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, re(v)]));
      return x;
    };
    const client = (window as unknown as { webrecon: ReconstructClient }).webrecon;
    return re(await client.api.benchmark({ kind: 'refine', experiment: un(packed) } as never));
  }, spec)) as { results: Record<string, unknown>[] };
} finally {
  await session.close();
}

// Geometry against gt.json (spot, bob), for every result.
const gtJson = join(gtDir, 'gt.json');
let gtMesh: { positions: Float32Array; indices: Uint32Array } | null = null;
if (existsSync(gtJson)) {
  const gt = JSON.parse(readFileSync(gtJson, 'utf8')) as { mesh: string; worldFromMesh: number[][] };
  const o = parseObj(readFileSync(resolve(dirname(gtJson), gt.mesh)));
  gtMesh = { positions: transformPositions(o.positions, gt.worldFromMesh.flat()), indices: o.faceV };
}
const rows: Record<string, unknown>[] = out.results.map((r) => {
  const chamfer = gtMesh ? scoreGeometry({ positions: (r.positions as Float32Array | undefined) ?? mesh.positions, indices: (r.indices as Uint32Array | undefined) ?? mesh.indices }, gtMesh, 20000) : null;
  const { positions: _p, indices: _i, ...rest } = r;
  return { ...rest, chamfer: chamfer ? (chamfer as unknown as Record<string, number>) : null };
});
for (const r of rows) {
  const c = r.chamfer as Record<string, number> | null;
  const refine = r.refine as { bestIteration: number; iterations: number } | null;
  console.log(`${String(r.name).padEnd(40)} PSNR ${(r.psnr as number).toFixed(2)} dB${r.psnrRefinedTexture != null ? ` (refined texture ${(r.psnrRefinedTexture as number).toFixed(2)})` : ''}${c ? ` chamfer ${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => /chamfer/i.test(k))))}` : ''}${refine ? ` best ${refine.bestIteration}/${refine.iterations}` : ''}`);
}
if (arg('--json')) writeFileSync(arg('--json')!, JSON.stringify(rows, null, 1));
