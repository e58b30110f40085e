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

type Run = { workers: number; workerBusyMs: number; verifyMs: number; calls: { pairs: number; ms: number }[]; reconstructionMs: number; verifiedPairs: number; registered: number; cameras: (number[] | null)[]; warnings: string[]; liveDuring: number };

function check(page: Page, views: string, spec: Record<string, unknown>) {
  return page.evaluate(async ({ views, spec }) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('middlebury-temple-sparse', `^templeSR(${views})\\.png$`);
    return client.api.kernelCheck({ ...spec, files } as never);
  }, { views, spec }) as Promise<Record<string, any>>;
}

test('pooled pair verification gives the in-process reconstruction, bit for bit', async ({ page }) => {
  test.skip(!existsSync(TEMPLE), 'shared datasets not found');
  test.setTimeout(900_000);
  await openApp(page);
  const r = await check(page, VIEWS, { kind: 'sfm-verify-pool', workers: [1, 2], maxFeatures: 3000 });
  const [serial, pooled1, pooled, serialAgain] = r.runs as Run[];
  const figures = (x: Run) => ({ workers: x.workers, workerBusyMs: Math.round(x.workerBusyMs), verifyMs: Math.round(x.verifyMs), calls: x.calls.map((c) => `${c.pairs} pairs ${Math.round(c.ms)} ms`), reconstructionMs: Math.round(x.reconstructionMs), verifiedPairs: x.verifiedPairs, registered: x.registered, warnings: x.warnings });
  console.log(`[verify-pool] temple ${r.views} views, ${r.pairs} pairs: serial ${JSON.stringify(figures(serial))} pooled x1 ${JSON.stringify(figures(pooled1))} pooled x2 ${JSON.stringify(figures(pooled))} serial again ${JSON.stringify(figures(serialAgain))}`);
  expect([serial, pooled1, pooled, serialAgain].map((x) => x.workers)).toEqual([0, 1, 2, 0]);
  expect(r.liveAfter).toBe(0);
  expect(serial.registered).toBeGreaterThanOrEqual(4);
  for (const x of [pooled1, pooled]) {
    expect(x.warnings).toEqual([]);
    expect(x.liveDuring).toBe(x.workers);
    expect(x.workerBusyMs).toBeGreaterThan(0);
    expect(x.calls.map((c) => c.pairs)).toEqual(serial.calls.map((c) => c.pairs));
    expect(x.verifiedPairs).toBe(serial.verifiedPairs);
    // The same pairs in the same order: the same reconstruction, to the bit.
    expect(x.cameras).toEqual(serial.cameras);
  }
});

test('cancel during pair verification leaves no verify workers and no GPU memory', async ({ page }) => {
  test.skip(!existsSync(TEMPLE), 'shared datasets not found');
  test.setTimeout(300_000);
  await openApp(page);
  const r = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = await client.fetchDataFiles('middlebury-temple-sparse', '^templeSR(0001|0002|0010|0011)\\.png$|_par\\.txt$');
    return client.api.kernelCheck({ kind: 'sfm-run', files, photoPattern: '\\.png$', maxFeatures: 3000, verifyWorkers: 2, cancelDuringVerify: true } as never);
  }) as { cancelled: boolean; error: string; cancelMs: number; liveWorkersDuring: number; liveWorkersAfter: number };
  const vram = await page.evaluate(() => (window as unknown as WindowWithClient).webrecon.api.getVramUsage());
  console.log(`[verify-pool] cancel during verification: ${JSON.stringify(r)}; VRAM live after ${vram?.liveBytes} B, owners ${JSON.stringify(vram?.owners)}`);
  expect(r.cancelled).toBe(true);
  expect(r.error).toBe('CancelledError');
  expect(r.liveWorkersDuring).toBe(2);
  expect(r.liveWorkersAfter).toBe(0);
  expect(r.cancelMs).toBeLessThan(1000);
  expect(vram?.liveBytes).toBe(0);
});
