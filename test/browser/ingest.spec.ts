import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const DATASETS = resolve(import.meta.dirname, '../../../shared/datasets');
test.skip(!existsSync(DATASETS), `${DATASETS} not found: dataset browser tests skipped`);

test('the worker decodes and reads temple-sparse (PNG + Middlebury cameras)', async ({ page }) => {
  await openApp(page);
  const { result } = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('middlebury-temple-sparse');
    return client.inspectCapture({ files, options: { preset: 'draft', models: [] } });
  });
  expect(result.status).toBe('success');
  if (result.status !== 'success') return;
  expect(result.capture.views).toHaveLength(16);
  expect(result.capture.cameraFormat).toBe('middlebury');
  expect(result.capture.views[0]).toMatchObject({ width: 640, height: 480, intrinsicsSource: 'file', depth: false, mask: false });
  expect(result.capture.skipped.map((s) => s.file).sort()).toEqual(['middlebury-temple-sparse/README.txt', 'middlebury-temple-sparse/templeSR_ang.txt']);
});

test('the worker reads lego RGBA renders with their alpha masks', async ({ page }) => {
  await openApp(page);
  const { result } = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('nerf-synthetic-lego', '^(transforms_train\\.json|train/r_[0-9]\\.png)$');
    return client.inspectCapture({ files, options: { preset: 'draft', models: [] } });
  });
  expect(result.status).toBe('success');
  if (result.status !== 'success') return;
  expect(result.capture.views).toHaveLength(10);
  expect(result.capture.hasMasks).toBe(true);
  expect(result.capture.views.every((v) => v.mask && v.width === 640)).toBe(true);
  // Every chosen photo has its camera, so the 90 unchosen entries are a note (a subset was picked), not a warning.
  expect(result.capture.notes.join(' ')).toMatch(/transforms_train.json names 90 image\(s\) that are not among the photos: r_10/);
  expect(result.capture.warnings.join(' ')).not.toMatch(/not among the photos/);
});

test('the worker decodes strecha-fountain-p11 (11 x 6 MP JPEG) and times it', async ({ page }) => {
  await openApp(page);
  const out = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('strecha-fountain-p11');
    const bytes = files.reduce((s, f) => s + f.bytes.byteLength, 0);
    const { result } = await client.inspectCapture({ files, options: { preset: 'standard', models: [] } });
    return { result, bytes };
  });
  expect(out.result.status).toBe('success');
  if (out.result.status !== 'success') return;
  const c = out.result.capture;
  expect(c.views).toHaveLength(11);
  expect(c.views.every((v) => v.fullWidth === 3072 && v.fullHeight === 2048 && v.width === 1024 && v.height === 683)).toBe(true);
  console.log(`[ingest] strecha-fountain-p11: ${c.views.length} photos, ${(out.bytes / 1e6).toFixed(1)} MB, read in the worker in ${c.ms.toFixed(0)} ms (standard preset)`);
});

test('bad input: a text file named .jpg and a truncated PNG get their messages and the rest still loads', async ({ page }) => {
  await openApp(page);
  const { result } = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('middlebury-temple-sparse', '^templeSR000[1-4]\\.png$|_par\\.txt$');
    const truncated = files[0].bytes.slice(0, 2000);
    files.push({ name: 'notes.jpg', path: 'extra/notes.jpg', bytes: new TextEncoder().encode('not a photo').buffer as ArrayBuffer });
    files.push({ name: 'broken.png', path: 'extra/broken.png', bytes: truncated });
    return client.inspectCapture({ files, options: { preset: 'draft', models: [] } });
  });
  expect(result.status).toBe('success');
  if (result.status !== 'success') return;
  expect(result.capture.views).toHaveLength(4);
  expect(result.capture.skipped).toEqual(expect.arrayContaining([
    { file: 'extra/notes.jpg', reason: expect.stringMatching(/cannot be decoded/) },
    { file: 'extra/broken.png', reason: expect.stringMatching(/cannot be decoded/) },
  ]));
});
