import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { cameraCentre, projectPoint, unprojectPixel } from '../../src/core/camera';
import { encodePng } from '../../src/export/png';
import { ingestCapture } from '../../src/io/ingest';
import { decodePngInNode } from './nodeDecoder';
import { sphereCapture } from './syntheticCapture';

const buf = (u: Uint8Array) => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
const text = (s: string) => buf(new TextEncoder().encode(s));

describe('ingest of an RGB-D capture with COLMAP cameras', () => {
  it('builds a CaptureSet whose depth back-projects onto the sphere', async () => {
    const cap = sphereCapture({ width: 80, height: 60 });
    const set = await ingestCapture(cap.files, { preset: 'draft', decodePhoto: decodePngInNode });
    expect(set.views).toHaveLength(4);
    expect(set.cameraFormat).toBe('colmap');
    expect(set.hasPoses && set.hasDepth).toBe(true);
    expect(set.hasMasks).toBe(false);
    expect(set.skipped).toEqual([]);
    for (const [i, view] of set.views.entries()) {
      expect(view.intrinsicsSource).toBe('file');
      expect(view.K[0]).toBeCloseTo(cap.K[0], 9);
      expect(view.K[2]).toBeCloseTo(cap.K[2], 9);
      view.camFromWorld!.forEach((v, k) => expect(v).toBeCloseTo(cap.poses[i][k], 9));
      let worst = 0, count = 0;
      for (let y = 0; y < view.height; y++) for (let x = 0; x < view.width; x++) {
        const d = view.depthMeters![y * view.width + x];
        if (d <= 0) continue;
        const p = unprojectPixel(view.K, view.camFromWorld!, x, y, d);
        worst = Math.max(worst, Math.abs(Math.hypot(...p) - cap.radius));
        count++;
      }
      expect(count).toBeGreaterThan(500);
      expect(worst).toBeLessThan(0.002); // millimetre quantisation
    }
  });

  it('downscales large photos once to the preset and scales K, and resamples depth given at a clean factor', async () => {
    const cap = sphereCapture({ width: 800, height: 600, views: 3, depthScale: 0.5 });
    const set = await ingestCapture(cap.files, { preset: 'draft', decodePhoto: decodePngInNode });
    const v = set.views[0];
    expect([v.width, v.height, v.fullWidth, v.fullHeight]).toEqual([640, 480, 800, 600]);
    expect(v.K[0]).toBeCloseTo(cap.K[0] * 0.8, 9);
    expect(v.K[2]).toBeCloseTo((cap.K[2] + 0.5) * 0.8 - 0.5, 9);
    expect(v.depthMeters).toHaveLength(640 * 480);
    // the centre pixel sees the sphere's near side
    const centre = v.depthMeters![240 * 640 + 320];
    const dist = Math.hypot(...cameraCentre(v.camFromWorld!));
    expect(centre).toBeGreaterThan(dist - cap.radius - 0.01);
    expect(centre).toBeLessThan(dist - cap.radius + 0.05);
  });

  it('takes masks from RGBA alpha and from masks/ files', async () => {
    const rgba = await ingestCapture(sphereCapture({ rgba: true, views: 3 }).files, { preset: 'draft', decodePhoto: decodePngInNode });
    expect(rgba.hasMasks).toBe(true);
    const m = rgba.views[0].mask!;
    expect(m[30 * 80 + 40]).toBe(255);
    expect(m[0]).toBe(0);
    const cap = sphereCapture({ views: 3 });
    const mask = new Uint8Array(80 * 60).fill(255);
    const withMask = [...cap.files, { path: 'capture/masks/view_001.png', bytes: buf(encodePng({ width: 80, height: 60, data: mask, channels: 1 })) }];
    const set = await ingestCapture(withMask, { preset: 'draft', decodePhoto: decodePngInNode });
    expect(set.views.map((v) => v.mask !== null)).toEqual([false, true, false]);
  });

  it('reads a dropped zip with subfolders', async () => {
    const cap = sphereCapture({ views: 3 });
    const zip = zipSync(Object.fromEntries(cap.files.map((f) => [f.path, new Uint8Array(f.bytes)])));
    const set = await ingestCapture([{ path: 'capture.zip', bytes: buf(zip) }], { preset: 'draft', decodePhoto: decodePngInNode });
    expect(set.views.map((v) => v.name)).toEqual(['view_000.png', 'view_001.png', 'view_002.png']);
    expect(set.hasDepth).toBe(true);
  });

  it('marks every k-th view held out', async () => {
    const set = await ingestCapture(sphereCapture({ views: 6 }).files, { preset: 'draft', holdout: 3, decodePhoto: decodePngInNode });
    expect(set.views.filter((v) => v.heldOut).map((v) => v.index)).toEqual([0, 3]);
  });
});

describe('bad input gets a precise message and loses nothing else', () => {
  const base = () => sphereCapture({ views: 4 }).files;
  const ingest = (files: { path: string; bytes: ArrayBuffer }[]) => ingestCapture(files, { preset: 'draft', decodePhoto: decodePngInNode });

  it('skips a corrupt photo, a text file named .jpg and a stray file, with reasons', async () => {
    const files = [
      ...base(),
      { path: 'capture/images/broken.png', bytes: buf(new Uint8Array(base()[0].bytes).slice(0, 100)) },
      { path: 'capture/images/notes.jpg', bytes: text('hello, not a photo') },
      { path: 'capture/README.md', bytes: text('# readme') },
    ];
    const warnings: string[] = [];
    const set = await ingestCapture(files, { preset: 'draft', decodePhoto: decodePngInNode, onWarning: (m, f) => warnings.push(`${f}: ${m}`) });
    expect(set.views).toHaveLength(4);
    expect(set.skipped).toEqual(expect.arrayContaining([
      { file: 'capture/images/broken.png', reason: expect.stringMatching(/cannot be decoded/) },
      { file: 'capture/images/notes.jpg', reason: expect.stringMatching(/cannot be decoded/) },
      { file: 'capture/README.md', reason: 'not a photo, depth map, mask or camera file' },
    ]));
    expect(warnings.some((w) => w.startsWith('capture/images/broken.png'))).toBe(true);
  });

  it('names both files when a depth map has the wrong size', async () => {
    const files = base().filter((f) => f.path !== 'capture/depth/view_002.png');
    files.push({ path: 'capture/depth/view_002.png', bytes: buf(encodePng({ width: 77, height: 60, data: new Uint16Array(77 * 60), channels: 1 })) });
    await expect(ingest(files)).rejects.toThrow(/Depth map capture\/depth\/view_002.png is 77x60 but its photo capture\/images\/view_002.png is 80x60/);
  });

  it('refuses fewer than 3 usable photos', async () => {
    const files = base().filter((f) => !/view_00[23]/.test(f.path));
    await expect(ingest(files)).rejects.toThrow(/At least 3 usable photos are needed; only 2 were found/);
    await expect(ingest([{ path: 'x.txt', bytes: text('x') }])).rejects.toThrow(/none was found.*x.txt: not a photo/);
  });

  it('reports duplicate names and camera entries for missing photos', async () => {
    const files = [...base(), { ...base()[0], path: 'other/view_000.png' }];
    files.splice(files.findIndex((f) => f.path === 'capture/images/view_003.png'), 1);
    const set = await ingest(files);
    expect(set.skipped).toContainEqual({ file: 'other/view_000.png', reason: 'duplicate photo name: capture/images/view_000.png has the same name' });
    // Every chosen photo has its camera: a subset of the capture, said as a note, not a warning.
    expect(set.notes?.join('\n')).toMatch(/capture\/cameras.txt, capture\/images.txt name 1 image\(s\) that are not among the photos: view_003.png/);
    expect(set.warnings.join('\n')).not.toMatch(/not among the photos/);
    expect(set.skipped).toContainEqual({ file: 'capture/depth/view_003.png', reason: 'depth map with no photo named like it (key "view_003")' });
  });

  it('warns about camera entries for missing photos when a photo has no camera (a naming mismatch)', async () => {
    const files = base().map((f) => (f.path === 'capture/images/view_003.png' ? { ...f, path: 'capture/images/view_03.png' } : f));
    const notes: string[] = [];
    const set = await ingestCapture(files, { preset: 'draft', decodePhoto: decodePngInNode, onInfo: (m) => notes.push(m) });
    expect(set.warnings.join('\n')).toMatch(/name 1 image\(s\) that are not among the photos: view_003.png/);
    expect(set.warnings.join('\n')).toMatch(/1 photo\(s\) have no camera in the colmap files: view_03.png/);
    expect(set.notes).toEqual([]);
    expect(notes).toEqual([]);
  });

  it('refuses cameras made for another aspect ratio, naming the photo', async () => {
    const files = base().map((f) => (f.path.endsWith('cameras.txt') ? { ...f, bytes: text('1 PINHOLE 100 100 90 90 50 50\n') } : f));
    await expect(ingest(files)).rejects.toThrow(/capture\/images\/view_000.png is 80x60 but the colmap camera describes a 100x100 image/);
  });

  it('skips a corrupt depth map with a warning and keeps its photo', async () => {
    const files = base().map((f) => (f.path === 'capture/depth/view_001.png' ? { ...f, bytes: f.bytes.slice(0, 50) } : f));
    const set = await ingest(files);
    expect(set.views).toHaveLength(4);
    expect(set.views[1].depthMeters).toBeNull();
    expect(set.skipped.find((s) => s.file === 'capture/depth/view_001.png')?.reason).toMatch(/not a readable PNG depth map/);
  });

  it('uses the default field of view without cameras or EXIF, and says why for absurd EXIF-free mixes', async () => {
    const files = base().filter((f) => !/cameras.txt|images.txt/.test(f.path));
    const set = await ingest(files);
    expect(set.hasPoses).toBe(false);
    expect(set.views[0].intrinsicsSource).toBe('default');
    expect(set.views[0].K[0]).toBeCloseTo(1.2 * 80);
    expect(projectPoint(set.views[0].K, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], 0, 0, 1).u).toBeCloseTo(39.5);
  });
});
