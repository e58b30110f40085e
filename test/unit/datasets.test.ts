/**
 * Every real dataset in ../shared/datasets loads into a CaptureSet with the right counts, sizes, intrinsics and
 * poses, and the poses make geometric sense. Skipped (with a message) when ../shared is absent.
 * Pixels are not decoded here (Node has no JPEG decoder); the browser test decodes them in the worker.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cameraCentre, projectPoint, unprojectPixel, viewDirection } from '../../src/core/camera';
import { decodeDepthPng, reprojectDepthIntrinsics } from '../../src/io/depth';
import { SEVEN_SCENES_DEPTH_K } from '../../src/io/formats/sevenScenes';
import { ingestCapture } from '../../src/io/ingest';
import { decodePngInNode, headerOnlyDecoder } from './nodeDecoder';

const DATASETS = resolve(import.meta.dirname, '../../../shared/datasets');
const have = existsSync(DATASETS);
if (!have) console.warn(`[datasets] ${DATASETS} not found: dataset tests skipped`);

function load(dir: string, filter: (path: string) => boolean = () => true) {
  const root = join(DATASETS, dir);
  const out: { path: string; bytes: ArrayBuffer }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (filter(relative(root, full))) {
        const b = readFileSync(full);
        out.push({ path: `${dir}/${relative(root, full)}`, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer });
      }
    }
  };
  walk(root);
  return out;
}

const ingest = (files: { path: string; bytes: ArrayBuffer }[], preset: 'draft' | 'high' = 'high') => ingestCapture(files, { preset, decodePhoto: headerOnlyDecoder });

describe.skipIf(!have)('shared datasets', () => {
  it('middlebury-temple-sparse: 16 views; the README bounding box projects inside every image', async () => {
    const set = await ingest(load('middlebury-temple-sparse'));
    expect(set.views).toHaveLength(16);
    expect(set.cameraFormat).toBe('middlebury');
    expect(set.hasPoses).toBe(true);
    expect(set.skipped.map((s) => s.file).sort()).toEqual(['middlebury-temple-sparse/README.txt', 'middlebury-temple-sparse/templeSR_ang.txt']);
    const lo = [-0.073568, 0.021728, -0.012445], hi = [0.028855, 0.181892, 0.062736];
    for (const v of set.views) {
      expect([v.fullWidth, v.fullHeight]).toEqual([640, 480]);
      expect(v.intrinsicsSource).toBe('file');
      for (let c = 0; c < 8; c++) {
        const p = projectPoint(v.K, v.camFromWorld!, c & 1 ? hi[0] : lo[0], c & 2 ? hi[1] : lo[1], c & 4 ? hi[2] : lo[2]);
        expect(p.depth).toBeGreaterThan(0);
        expect(p.u).toBeGreaterThan(0);
        expect(p.u).toBeLessThan(640);
        expect(p.v).toBeGreaterThan(0);
        expect(p.v).toBeLessThan(480);
      }
    }
  });

  it('7scenes-redkitchen-rgbd: 50 RGB-D frames; depth of frame 150 lands on the surface seen from frame 151', async () => {
    const set = await ingest(load('7scenes-redkitchen-rgbd'));
    expect(set.views).toHaveLength(50);
    expect(set.cameraFormat).toBe('7scenes');
    expect(set.hasDepth && set.hasPoses).toBe(true);
    expect(set.skipped).toEqual([]);
    const a = set.views.find((v) => v.name === 'frame-000150.color.png')!;
    const b = set.views.find((v) => v.name === 'frame-000151.color.png')!;
    // camera-intrinsics.txt is the depth camera's: the photos get the Kinect colour K, the depth is reprojected into it.
    expect(a.K.slice(0, 6)).toEqual([525, 0, 320, 0, 525, 240]);
    expect(set.notes?.some((n) => /depth camera \(585 px\).*525 px/.test(n))).toBe(true);
    expect([a.width, a.height]).toEqual([640, 480]);
    // Independent decode of the raw millimetre PNGs.
    const raw = (n: number) => decodeDepthPng(readFileSync(join(DATASETS, '7scenes-redkitchen-rgbd', `frame-000${n}.depth.png`)).buffer as ArrayBuffer, 1000, 'd');
    expect(a.depthMeters).toEqual(reprojectDepthIntrinsics(raw(150), SEVEN_SCENES_DEPTH_K, a.K, 640, 480).meters);
    // The centre pixel is the same ray for both cameras; a pixel 200 px right of it is 200 * 585 / 525 px in the depth map.
    expect(a.depthMeters![240 * 640 + 320]).toBe(raw(150).meters[240 * 640 + 320]);
    expect(a.depthMeters![240 * 640 + 520]).toBe(raw(150).meters[240 * 640 + 320 + Math.round((200 * 585) / 525)]);
    const errors: number[] = [];
    for (let y = 0; y < 480; y += 8) for (let x = 0; x < 640; x += 8) {
      const d = a.depthMeters![y * 640 + x];
      if (d <= 0) continue;
      const p = unprojectPixel(a.K, a.camFromWorld!, x, y, d);
      const q = projectPoint(b.K, b.camFromWorld!, p[0], p[1], p[2]);
      const u = Math.round(q.u), v = Math.round(q.v);
      if (u < 0 || v < 0 || u >= 640 || v >= 480) continue;
      const db = b.depthMeters![v * 640 + u];
      if (db > 0) errors.push(Math.abs(db - q.depth) / q.depth);
    }
    errors.sort((x, y) => x - y);
    expect(errors.length).toBeGreaterThan(2000);
    expect(errors[Math.floor(errors.length / 2)]).toBeLessThan(0.02);
  });

  it('7scenes-redkitchen-rgbd: the photos agree with the poses and the sensor depth (colour K 525, not the depth K 585)', async () => {
    // Colour of a frame, carried through its own (reprojected) sensor depth and the poses into the frame 8 later, must
    // match there. With the depth camera's 585 px the mean grey difference is 9.7 (8.1 / 11.1 / 8.9 / 10.7 per pair),
    // with 525 px 6.7 (5.9 / 8.1 / 5.2 / 7.6); measured with an independent decoder, differences clipped at 40.
    const names = new Set([150, 158, 160, 168, 170, 178, 190, 198].map((n) => `frame-000${n}`));
    const set = await ingestCapture(load('7scenes-redkitchen-rgbd', (p) => p === 'camera-intrinsics.txt' || names.has(p.split('.')[0])), { preset: 'high', decodePhoto: decodePngInNode });
    expect(set.views[0].K.slice(0, 6)).toEqual([525, 0, 320, 0, 525, 240]);
    const byName = (n: number) => set.views.find((v) => v.name === `frame-000${n}.color.png`)!;
    const grey = (v: (typeof set.views)[number], x: number, y: number) => {
      // Bilinear grey level at a sub-pixel position.
      const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
      const g = (xx: number, yy: number) => {
        const i = 4 * (yy * v.width + xx), d = v.image.data;
        return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      };
      return (g(x0, y0) * (1 - fx) + g(x0 + 1, y0) * fx) * (1 - fy) + (g(x0, y0 + 1) * (1 - fx) + g(x0 + 1, y0 + 1) * fx) * fy;
    };
    const means: number[] = [];
    for (const [i, j] of [[150, 158], [160, 168], [170, 178], [190, 198]]) {
      const a = byName(i), b = byName(j);
      let sum = 0, n = 0;
      for (let y = 0; y < 480; y += 8) for (let x = 0; x < 640; x += 8) {
        const d = a.depthMeters![y * 640 + x];
        if (d <= 0) continue;
        const p = unprojectPixel(a.K, a.camFromWorld!, x, y, d);
        const q = projectPoint(b.K, b.camFromWorld!, p[0], p[1], p[2]);
        if (!(q.u >= 0 && q.v >= 0 && q.u < 639 && q.v < 479)) continue;
        sum += Math.min(40, Math.abs(grey(a, x, y) - grey(b, q.u, q.v)));
        n++;
      }
      expect(n).toBeGreaterThan(1500);
      means.push(sum / n);
    }
    const mean = means.reduce((s, m) => s + m, 0) / means.length;
    console.log(`[7scenes colour] per pair ${means.map((m) => m.toFixed(2)).join(' ')}, mean ${mean.toFixed(2)}`);
    expect(mean).toBeLessThan(8);
  });

  it('nerf-synthetic-lego: 100 RGBA renders; every camera looks at the origin', async () => {
    const set = await ingest(load('nerf-synthetic-lego'), 'draft');
    expect(set.views).toHaveLength(100);
    expect(set.cameraFormat).toBe('transforms.json');
    for (const v of set.views) {
      expect([v.fullWidth, v.fullHeight]).toEqual([800, 800]);
      expect(v.K[0]).toBeCloseTo((400 / Math.tan(0.6911112070083618 / 2)) * 0.8, 6); // draft: 640 px
      const c = cameraCentre(v.camFromWorld!);
      const dir = viewDirection(v.camFromWorld!);
      const toOrigin = c.map((x) => -x / Math.hypot(...c));
      expect(dir[0] * toOrigin[0] + dir[1] * toOrigin[1] + dir[2] * toOrigin[2]).toBeGreaterThan(0.999);
      const o = projectPoint(v.K, v.camFromWorld!, 0, 0, 0);
      expect(Math.abs(o.u - 319.5)).toBeLessThan(1);
    }
  });

  it('strecha-fountain-p11: 11 views of 3072x2048 whose optical axes meet in front of every camera', async () => {
    const set = await ingest(load('strecha-fountain-p11'), 'draft');
    expect(set.views).toHaveLength(11);
    expect(set.cameraFormat).toBe('strecha');
    // Least-squares point closest to all optical axes.
    const A = [0, 0, 0, 0, 0, 0, 0, 0, 0], bb = [0, 0, 0];
    for (const v of set.views) {
      expect([v.fullWidth, v.fullHeight, v.width, v.height]).toEqual([3072, 2048, 640, 427]);
      expect(v.K[0]).toBeCloseTo(2759.48 * (640 / 3072), 0);
      const c = cameraCentre(v.camFromWorld!), d = viewDirection(v.camFromWorld!);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const m = (i === j ? 1 : 0) - d[i] * d[j];
        A[i * 3 + j] += m;
        bb[i] += m * c[j];
      }
    }
    const det = (m: number[]) => m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    const D = det(A);
    const X = [0, 1, 2].map((k) => det(A.map((v, idx) => (idx % 3 === k ? bb[Math.floor(idx / 3)] : v))) / D);
    for (const v of set.views) {
      const p = projectPoint(v.K, v.camFromWorld!, X[0], X[1], X[2]);
      expect(p.depth).toBeGreaterThan(2);
      expect(p.u).toBeGreaterThan(0);
      expect(p.u).toBeLessThan(v.width);
    }
  });

  it('sceaux-castle: 11 phone JPEGs; K.txt intrinsics, and the EXIF prior is close to them', async () => {
    const withK = await ingest(load('sceaux-castle'), 'draft');
    expect(withK.views).toHaveLength(11);
    expect(withK.hasPoses).toBe(false);
    expect(withK.views.every((v) => v.intrinsicsSource === 'file' && v.fullWidth === 2832 && v.fullHeight === 2128)).toBe(true);
    const exifOnly = await ingest(load('sceaux-castle', (p) => !/K\.txt$/.test(p)), 'draft');
    for (const v of exifOnly.views) {
      expect(v.intrinsicsSource).toBe('exif');
      expect(v.exif?.focalLengthMm).toBeGreaterThan(0);
      // K.txt: 2905.88 px at full size.
      expect(Math.abs(v.K[0] / (640 / 2832) - 2905.88) / 2905.88).toBeLessThan(0.1);
    }
  });
});
