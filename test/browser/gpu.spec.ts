import { expect, test } from '@playwright/test';
import type { GpuStatus } from '../../workers/api';
import { openApp, type WindowWithClient } from './helpers';

test('the worker gets a WebGPU device and the page is cross-origin isolated', async ({ page }) => {
  await openApp(page);
  const status = await page.evaluate(async () => (await (window as unknown as WindowWithClient).webrecon.api.probeGpu()) as GpuStatus);
  expect(status.available, JSON.stringify(status)).toBe(true);
  expect(status.crossOriginIsolated).toBe(true);
  if (status.available) {
    expect(status.adapter.limits.maxBufferSize).toBeGreaterThan(0);
    expect(status.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  }
  await expect(page.locator('#gpu-status')).toContainText('WebGPU ready');
});

test('two ONNX models run in sequence on the shared device, with zero live bytes between and after them', async ({ page }) => {
  await openApp(page);
  const { result, events } = await page.evaluate(() =>
    (window as unknown as WindowWithClient).webrecon.selfTest({ models: 2, size: 12, steps: 3 }),
  );
  expect(result.status, JSON.stringify(result.error)).toBe('success');
  expect(result.outputs).toHaveLength(2);
  for (const output of result.outputs) {
    expect(output.executionProvider).toBe('webgpu');
    expect(output.outputDims).toEqual([1, 4, 12, 12]);
    expect(output.maxAbsDiff).toBeLessThan(1e-3);
  }
  // Each model held its own resources while it ran, and never the other's.
  expect(result.ownersDuringModels).toEqual([
    { model: 'selftest-1', owners: ['selftest-1'] },
    { model: 'selftest-2', owners: ['selftest-2'] },
  ]);
  // After each model's cleanup: no resource of ours is live.
  for (const after of result.afterEachModel) {
    expect(after.ownBytes).toBe(0);
    expect(after.owners).toEqual([]);
  }
  for (const report of result.models) {
    expect(report.status).toBe('success');
    expect(report.liveBytesAfterCleanup).toBe(0);
    expect(report.vramPeakBytes).toBeGreaterThan(0);
  }
  expect(result.vram.ownBytes).toBe(0);
  expect(result.vram.peakBytes).toBeGreaterThan(0);
  expect(result.uncapturedErrors).toEqual([]);
  // progress within each model only moves forward and ends at 100
  const byModel = new Map<string, number[]>();
  for (const e of events) if (e.type === 'model') byModel.set(e.model, [...(byModel.get(e.model) ?? []), e.progress]);
  for (const [, values] of byModel) {
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    expect(values[values.length - 1]).toBe(100);
  }
});

test('a job cancelled mid-run ends cancelled with zero live bytes', async ({ page }) => {
  await openApp(page);
  const outcome = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    let cancelledAt = -1;
    const run = client.selfTest({ models: 2, size: 12, steps: 40 }, (event) => {
      if (cancelledAt < 0 && event.type === 'model' && event.progress > 20) {
        cancelledAt = event.progress;
        void client.api.cancelJob();
      }
    });
    const { result } = await run;
    const usage = await client.api.getVramUsage();
    return { result, cancelledAt, usage };
  });
  expect(outcome.cancelledAt).toBeGreaterThan(0);
  expect(outcome.result.status).toBe('cancelled');
  expect(outcome.result.models[0].status).toBe('cancelled');
  expect(outcome.result.models[1].status).toBe('cancelled');
  expect(outcome.usage?.ownBytes).toBe(0);
  expect(outcome.result.uncapturedErrors).toEqual([]);
});

test('a lost device fails the job clearly and the next job gets a new device', async ({ page }) => {
  await openApp(page);
  const outcome = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    let lost = false;
    const first = await client.selfTest({ models: 1, size: 12, steps: 40 }, (event) => {
      if (!lost && event.type === 'model' && event.progress > 20) {
        lost = true;
        void client.api.simulateDeviceLoss();
      }
    });
    const second = await client.selfTest({ models: 1, size: 8, steps: 2 });
    return { first: first.result, second: second.result };
  });
  expect(outcome.first.status).not.toBe('success');
  expect(outcome.first.error?.message).toMatch(/lost|destroyed/i);
  expect(outcome.second.status).toBe('success');
});

test('uncaught GPU errors are counted past the 100 messages the device keeps', async ({ page }) => {
  await openApp(page);
  const r = (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), { kind: 'gpu-error-count', errors: 105 })) as { counted: number; listed: number; lastMentionsLast: boolean };
  console.log(`[gpu errors] ${JSON.stringify(r)}`);
  expect(r.counted).toBe(105);
  expect(r.listed).toBe(100);
  expect(r.lastMentionsLast).toBe(true);
});
