/**
 * SfM pair verification on the worker pool (verifyPool.ts): the pooled stage finds the same cameras as the in-process
 * one, and a cancel during verification leaves no verify worker and no GPU memory behind. Temple photos at reduced
 * size (SwiftShader is slow); the pool is forced to 2 workers so that it runs even on a 2-core machine, where
 * VERIFY_POOL_RULE would give 1.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const TEMPLE = resolve(import.meta.dirname, '../../../shared/datasets/middlebury-temple-sparse');
const VIEWS = process.env.WEBRECON_VERIFY_VIEWS ?? '0001|0002|0003|0004|0010|0011';

type SfmRun = { registered: number; views: number; cameras: (number[] | null)[]; warnings: string[]; liveWorkersAfter: number; ms: number; stats: { verifyMs: number; verifyWorkers: number; verifiedPairs: number; pairs: number; reconstructionMs: number } };

function sfmRun(page: Page, extra: Record<string, unknown>) {
  return page.evaluate(async ({ views, extra }) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('middlebury-temple-sparse', `^templeSR(${views})\\.png$|_par\\.txt$`);
    return client.api.kernelCheck({ kind: 'sfm-run', files, photoPattern: '\\.png$', maxFeatures: 3000, ...extra } as never);
  }, { views: VIEWS, extra });
}

test('pooled pair verification gives the in-process cameras; cancel during verification leaves no workers or GPU memory', async ({ page }) => {
  test.skip(!existsSync(TEMPLE), 'shared datasets not found');
  test.setTimeout(600_000);
  await openApp(page);
  const serial = (await sfmRun(page, { verifyWorkers: 0 })) as SfmRun;
  const pooled = (await sfmRun(page, { verifyWorkers: 2 })) as SfmRun;
  const figures = (r: SfmRun) => ({ registered: r.registered, pairs: r.stats.pairs, verifiedPairs: r.stats.verifiedPairs, verifyWorkers: r.stats.verifyWorkers, verifyMs: Math.round(r.stats.verifyMs), reconstructionMs: Math.round(r.stats.reconstructionMs), ms: Math.round(r.ms), warnings: r.warnings });
  console.log(`[verify-pool] temple ${VIEWS}: serial ${JSON.stringify(figures(serial))} pooled ${JSON.stringify(figures(pooled))}`);
  expect(serial.stats.verifyWorkers).toBe(0);
  expect(pooled.stats.verifyWorkers).toBe(2);
  expect(pooled.warnings.filter((w) => /verification workers|cannot start workers/.test(w))).toEqual([]);
  expect(serial.registered).toBeGreaterThanOrEqual(4);
  expect(pooled.stats.verifiedPairs).toBe(serial.stats.verifiedPairs);
  // The same pairs in the same order: the same reconstruction, to the bit.
  expect(pooled.cameras).toEqual(serial.cameras);
  expect(pooled.liveWorkersAfter).toBe(0);

  const cancelled = (await sfmRun(page, { verifyWorkers: 2, cancelDuringVerify: true })) as { cancelled: boolean; error: string; cancelMs: number; liveWorkersDuring: number; liveWorkersAfter: number };
  const vram = await page.evaluate(() => (window as unknown as WindowWithClient).webrecon.api.getVramUsage());
  console.log(`[verify-pool] cancel during verification: ${JSON.stringify(cancelled)}; VRAM live after ${vram?.liveBytes} B, owners ${JSON.stringify(vram?.owners)}`);
  expect(cancelled.cancelled).toBe(true);
  expect(cancelled.error).toBe('CancelledError');
  expect(cancelled.liveWorkersDuring).toBe(2);
  expect(cancelled.liveWorkersAfter).toBe(0);
  expect(cancelled.cancelMs).toBeLessThan(1000);
  const sfmOwners = Object.entries(vram?.owners ?? {}).filter(([name, o]) => name.startsWith('check:sfm') && o.liveBytes > 0);
  expect(sfmOwners).toEqual([]);
});
