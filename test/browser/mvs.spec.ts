import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

test('plane-sweep stereo recovers the depth of analytic shapes', async ({ page }) => {
  await openApp(page);
  for (const shape of ['box', 'sphere']) {
    const r = (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), { kind: 'mvs', shape, views: 16, size: [64, 48], depthCount: 48 })) as Record<string, number>;
    console.log(`[mvs] ${shape}: ${JSON.stringify(r)}`);
    expect(r.validFraction).toBeGreaterThan(0.3);
    expect(r.medianRelError).toBeLessThan(0.01);
  }
});
