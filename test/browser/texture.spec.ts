import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

// A wall in front of a sky-blue backdrop, baked onto a mesh 0.03 too large and 0.02 in front (about 2.3 and 1.3 pixels
// at 256 px in the oblique views): the former rule (2-pixel cross, weight x0.02) against exclusion within a margin of
// the geometry's error (0.05). SwiftShader, 2026-11-24: overshoot error 91.4 -> 1.5, border band 3.4 -> 0.3 (of 255);
// a margin of 0.04, below the error, leaves 16.6 in the overshoot, 0.07 leaves 0.1.
test('depth-edge fringe: views near a depth edge give no weight, the backdrop stays off the wall', async ({ page }) => {
  await openApp(page);
  const spec = { kind: 'bake-fringe', views: 8, size: [256, 192], atlasSize: 128, overshoot: 0.03, offset: 0.02, settings: [{ edgeRule: 'downweight' }, { edgeRule: 'exclude', edgeMargin: 0.05 }] };
  const r = (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), spec)) as { uncapturedErrors: number; results: { insideError: number; bandError: number; overshootError: number; coverage: number }[] };
  console.log(`[bake-fringe] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toBe(0);
  const [before, after] = r.results;
  // The interior is clean either way (uniform colour, exact cameras).
  expect(before.insideError).toBeLessThan(2);
  expect(after.insideError).toBeLessThan(2);
  // The former rule lets the backdrop in near the border; exclusion keeps the band and the overshoot near the wall's colour.
  expect(before.bandError + before.overshootError).toBeGreaterThan(15);
  expect(after.bandError).toBeLessThan(3);
  expect(after.overshootError).toBeLessThan(Math.min(6, before.overshootError / 4));
});
