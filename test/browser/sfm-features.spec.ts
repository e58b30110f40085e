import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const DATASETS = resolve(import.meta.dirname, '../../../shared/datasets');

async function check(page: Page, spec: Record<string, unknown>): Promise<Record<string, any>> {
  const r = (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), spec)) as Record<string, any>;
  console.log(`[sfm] ${spec.kind}: ${JSON.stringify(r)}`);
  return r;
}

test('GPU SIFT agrees with the CPU reference on a synthetic texture', async ({ page }) => {
  await openApp(page);
  // Default (2x upsampled first octave for small images; direct blur on SwiftShader), the box-filtered downscale
  // without upsampling, and the workgroup-memory blur that real GPUs use.
  for (const [size, options] of [[[160, 120], {}], [[200, 150], { upsample: false, maxLongSide: 160 }], [[160, 120], { upsample: false, tiledBlur: true }]] as const) {
    const r = await check(page, { kind: 'sift', size, seed: 1, options });
    expect(r.cpuCount).toBeGreaterThan(50);
    expect(r.repeatIdentical).toBe(true);
    expect(Math.abs(r.gpuCount - r.cpuCount)).toBeLessThanOrEqual(Math.max(2, 0.03 * r.cpuCount));
    expect(r.matchedFraction).toBeGreaterThan(0.95);
    expect(r.positionErrorMax).toBeLessThan(0.05);
    expect(r.scaleErrorMax).toBeLessThan(0.01);
    expect(r.descriptorsAbove095).toBeGreaterThan(0.95);
  }
});

test('SIFT features survive a 30 degree rotation and a 0.7 scale', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'sift-invariance', size: [240, 180], angleDeg: 30, scale: 0.7, seed: 2 });
  expect(r.matches).toBeGreaterThan(40);
  expect(r.correctFraction).toBeGreaterThan(0.6);
  expect(r.meanAngleErrorDeg).toBeLessThan(5);
  expect(Math.abs(r.meanScaleRatio - 0.7)).toBeLessThan(0.07);
});

test('GPU matcher (tiled and direct kernels) equals the CPU matcher on random descriptors', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'match', counts: [300, 221], seed: 3 });
  console.log(`[match] ${JSON.stringify(r)}`);
  expect(r.mismatches).toBe(0);
  expect(r.directMismatches).toBe(0);
  expect(r.matchMismatch).toBe(0);
  expect(r.entryMismatch).toBe(0);
  expect(r.bowWorst).toBeLessThan(1e-6);
  expect(r.matches).toBeGreaterThan(50);
});

test('temple-sparse: matches of two views agree with the true epipolar geometry', async ({ page }) => {
  test.skip(!existsSync(resolve(DATASETS, 'middlebury-temple-sparse')), `${DATASETS}/middlebury-temple-sparse not found: dataset test skipped`);
  await openApp(page);
  const r = await check(page, { kind: 'sfm-pair', dataset: 'middlebury-temple-sparse', pattern: '^templeSR000[123]\\.png$|_par\\.txt$', views: [0, 1] });
  expect(r.matches).toBeGreaterThan(100);
  expect(r.within2px).toBeGreaterThan(0.8);
});
