import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

test('plane-sweep stereo recovers the depth of analytic shapes', async ({ page }) => {
  await openApp(page);
  for (const shape of ['box', 'sphere']) {
    const r = (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), { kind: 'mvs', shape, views: 16, size: [64, 48], depthCount: 48 })) as Record<string, number>;
    console.log(`[mvs] ${shape}: ${JSON.stringify(r)}`);
    expect(r.validFraction).toBeGreaterThan(0.3);
    expect(r.medianRelError).toBeLessThan(0.01);
    // The sweep kernel against its CPU reference, and the tiled kernel (the default) against the per-pixel one.
    expect(r.cpuGpuAgreement).toBeGreaterThan(0.95);
    expect(r.tiledCompared).toBeGreaterThan(1000);
    expect(r.tiledAgreement).toBeGreaterThan(0.99);
    expect(r.tiledTwoPassR7Compared).toBeGreaterThan(1000);
    expect(r.tiledTwoPassR7Agreement).toBeGreaterThan(0.98);
    // The consistency filter on the GPU keeps what its CPU reference keeps (float32 rounding at the tolerances aside).
    for (const [label, a] of Object.entries(r.filterAgreement as unknown as Record<string, { cpuKept: number; gpuKept: number; mismatched: number }>)) {
      expect(a.cpuKept, label).toBeGreaterThan(100);
      expect(a.mismatched, label).toBeLessThanOrEqual(Math.max(2, 0.002 * a.cpuKept));
    }
    // the hole fill adds depth (on the GPU as on the CPU)
    const agreement = r.filterAgreement as unknown as Record<string, { cpuKept: number; gpuKept: number }>;
    expect(agreement.holeFill.gpuKept).toBeGreaterThan(agreement.default.gpuKept);
    // The network-guided pass (NETWORK_NCC_RULE): a true prior adds matches, a wrong one loses none of the sweep's.
    const fine = r.fineRaw as unknown as Record<string, number>, guidedTrue = r.guidedTrue as unknown as Record<string, number>, guidedWrong = r.guidedWrong as unknown as Record<string, number>;
    expect(guidedTrue.within1pct * guidedTrue.validFraction).toBeGreaterThan(fine.within1pct * fine.validFraction);
    expect(guidedWrong.within1pct * guidedWrong.validFraction).toBeGreaterThan(0.9 * fine.within1pct * fine.validFraction);
  }
});

test('the depth stage\'s inputs made on the GPU match their CPU references', async ({ page }) => {
  await openApp(page);
  const cases = [{ source: [643, 481], target: [320, 240] }, { source: [64, 48], target: [64, 48] }, { source: [200, 200], target: [160, 160] }, { source: [301, 227], target: [97, 73] }];
  const r = (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), { kind: 'image-prep', cases })) as { cases: { lumaMismatch: number; mipMismatch: number; planeDiff: number; lumaMean: number }[] };
  console.log(`[image-prep] ${JSON.stringify(r.cases)}`);
  expect(r.cases).toHaveLength(cases.length);
  for (const c of r.cases) {
    // integer boxes and rounding on both sides: the luma and its mip are exact; the planes differ by float division
    expect(c.lumaMismatch).toBe(0);
    expect(c.mipMismatch).toBe(0);
    expect(c.planeDiff).toBeLessThan(1e-6);
    expect(c.lumaMean).toBeGreaterThan(100);
  }
});
