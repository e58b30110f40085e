import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { unprojectPixel } from '../../src/core/camera';
import { bboxDiagonal, TriangleGrid, transformPositions } from '../../src/eval/geometry';
import { parseObj } from '../../src/export/parse';
import { decodeDepthPng } from '../../src/io/depth';
import { indexFiles } from '../../src/io/files';
import { parseCameraFiles } from '../../src/io/formats/registry';
import { openApp, type WindowWithClient } from './helpers';

const SPOT = resolve(import.meta.dirname, '../../../shared/datasets/meshes/spot/spot.obj');
test.skip(!existsSync(SPOT), 'shared meshes not found');

test('synthetic capture: depth back-projected through its cameras lands on the GT mesh', async ({ page }) => {
  await openApp(page);
  const files = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const input = await client.fetchDataFiles('meshes/spot', '\\.(obj|mtl|png)$');
    const result = await client.synthesize({ files: input, objName: 'spot.obj', options: { views: 6, width: 160, height: 120, seed: 3, meshPath: 'spot.obj' } });
    return Object.fromEntries(Object.entries(result.files).map(([k, v]) => [k, Array.from(v)]));
  });
  const bytes = (name: string) => new Uint8Array(files[name]);
  expect(Object.keys(files).filter((f) => f.startsWith('images/'))).toHaveLength(6);
  const gt = JSON.parse(new TextDecoder().decode(bytes('gt.json')));
  const m = gt.worldFromMesh.flat();
  const obj = parseObj(readFileSync(SPOT));
  const mesh = { positions: transformPositions(obj.positions, m), indices: obj.faceV };
  const diag = bboxDiagonal(mesh.positions);
  expect(diag).toBeCloseTo(1, 2); // the stated metric size: a 1 m diagonal
  const cameraFiles = indexFiles(['cameras.txt', 'images.txt', 'transforms.json'].map((n) => ({ path: n, bytes: bytes(n).buffer as ArrayBuffer }))).files;
  const cams = parseCameraFiles(cameraFiles)!;
  expect(cams.format).toBe('colmap');
  const grid = new TriangleGrid(mesh);
  let sum = 0, count = 0;
  for (const cam of cams.cameras) {
    const depth = decodeDepthPng(bytes(`depth/${cam.image}`).buffer as ArrayBuffer, 1000, cam.image);
    expect([depth.width, depth.height]).toEqual([160, 120]);
    for (let y = 0; y < 120; y += 2) for (let x = 0; x < 160; x += 2) {
      const d = depth.meters[y * 160 + x];
      if (d <= 0) continue;
      sum += grid.distance(unprojectPixel(cam.K!, cam.camFromWorld!, x, y, d));
      count++;
    }
  }
  const mean = sum / count / diag;
  console.log(`[synth] ${count} depth samples, mean distance to the GT mesh ${(mean * 100).toFixed(4)}% of the bbox diagonal`);
  expect(count).toBeGreaterThan(1000);
  expect(mean).toBeLessThan(0.0003);
});

test('baking the GT mesh of spot from rendered views recovers its texture (texture space)', async ({ page }) => {
  await openApp(page);
  const r = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('meshes/spot', '\\.(obj|mtl|png)$');
    return client.api.bakeCheck({ files, objName: 'spot.obj', views: 12, size: [256, 192], atlasSize: 512 });
  });
  console.log(`[bake] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toBe(0);
  expect(r.coverage).toBeGreaterThan(0.9);
  expect(r.psnr).toBeGreaterThan(27); // 28.2 dB measured on SwiftShader (512^2 bake of the 1024^2 truth)
});

test('exposure compensation: views exposed x0.7 / x1.3 still bake the true texture', async ({ page }) => {
  await openApp(page);
  const run = (exposureCompensation: boolean) => page.evaluate(async (compensate) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('meshes/spot', '\\.(obj|mtl|png)$');
    return client.api.bakeCheck({ files, objName: 'spot.obj', views: 12, size: [256, 192], atlasSize: 512, exposureChange: true, exposureCompensation: compensate });
  }, exposureCompensation);
  const without = await run(false);
  const withComp = await run(true);
  console.log(`[bake-exposure] without ${JSON.stringify(without)} with ${JSON.stringify(withComp)}`);
  expect(withComp.gainSpread).toBeGreaterThan(1.6); // the true spread is 1.3 / 0.7 = 1.86 (clipped whites hide some)
  expect(withComp.gainSpread).toBeLessThan(2.1);
  expect(withComp.psnr).toBeGreaterThan(without.psnr + 4); // 17.97 -> 23.70 dB measured on SwiftShader
});
