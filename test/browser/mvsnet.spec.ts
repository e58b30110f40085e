import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/mvsnet-fixture.json', import.meta.url), 'utf8')) as unknown;
const check = (page: import('@playwright/test').Page, spec: unknown) =>
  page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), spec) as Promise<Record<string, number>>;

test('MVS cost-volume kernel matches its CPU reference (both stages)', async ({ page }) => {
  await openApp(page);
  for (const mode of [0, 1] as const) {
    const r = await check(page, { kind: 'mvs-cost-volume', size: [24, 16], channels: 16, groups: 8, depthCount: mode === 0 ? 12 : 8, sources: mode === 0 ? 4 : 3, mode });
    console.log(`[mvsnet] cost volume mode ${mode}: ${JSON.stringify(r)}`);
    expect(r.nonZeroFraction).toBeGreaterThan(0.3);
    expect(r.maxAbsDiff).toBeLessThan(1e-4 * Math.max(1, r.maxAbs));
  }
});

test('ORT-web + WGSL reproduce PyTorch on the exported fixture (random CI model and shipped model)', async ({ page }) => {
  await openApp(page);
  for (const model of ['mvsnet-random', 'mvsnet']) {
    const r = await check(page, { kind: 'mvs-net-fixture', model, fixture });
    console.log(`[mvsnet] fixture ${model}: ${JSON.stringify(r)}`);
    expect(r.executionProvider).toBe('webgpu');
    // Inverse depths are compared relative to the sweep's inverse-depth range.
    expect(r.inv1MaxAbsDiff).toBeLessThan(1e-3 * r.invRange);
    expect(r.inv2MaxRelDiff).toBeLessThan(1e-3);
  }
});

test('the shipped network loads (hash checked) and recovers an analytic shape; a wrong hash is refused', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'mvs-net', model: 'mvsnet', shape: 'sphere', views: 10, size: [96, 64] });
  console.log(`[mvsnet] shipped network on the sphere: ${JSON.stringify(r)}`);
  expect(r.executionProvider).toBe('webgpu');
  expect(r.progressEvents).toBeGreaterThan(0);
  expect(r.validFraction).toBeGreaterThan(0.3);
  expect(r.medianRelError).toBeLessThan(0.02);
  const refused = await check(page, { kind: 'mvs-net', model: 'mvsnet-random', shape: 'sphere', views: 4, size: [64, 48], corruptManifest: true }).then(() => 'loaded', (e: Error) => e.message);
  expect(refused).toMatch(/does not match the manifest/);
});
