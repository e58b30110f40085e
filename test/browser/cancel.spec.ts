/**
 * Cancellation latency and GPU-fault robustness (issue 9: "a cancel button that stops within a second and frees the
 * GPU"). The sample (24 views with depth) runs at the standard preset (a 256^3 volume) and is cancelled at several
 * points; each time we measure, in the page, the time from the click to the Run button being enabled again, the time
 * until the GPU answers a tiny kernel (i.e. the work left in flight has drained), and the live bytes afterwards.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import type { Report } from '../../src/core/report';
import { openApp, type WindowWithClient } from './helpers';

const check = (page: Page, spec: unknown) =>
  page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), spec) as Promise<Record<string, any>>;

async function loadSample(page: Page) {
  await page.goto('/');
  await expect(page.locator('#gpu-status')).toContainText('WebGPU ready', { timeout: 30_000 });
  await page.locator('#sample').click();
  await expect(page.locator('#file-summary')).toContainText('24 usable photos', { timeout: 60_000 });
}

/** The finished run's figures from report.json in the download: fusion's raw mesh and the exported mesh. */
async function meshFigures(page: Page): Promise<Record<string, unknown>> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
  const report = JSON.parse(strFromU8(unzipSync(readFileSync(await download.path()))['report.json'])) as Report;
  const details = report.models[0].details as { vertices: number; faces: number; volume: unknown; fusion: Record<string, number> };
  const { rawVertices, rawFaces, removedFaces, components } = details.fusion;
  return { volume: details.volume, rawVertices, rawFaces, removedFaces, components, vertices: details.vertices, faces: details.faces };
}

/** Clicks Cancel and resolves with ms until Run is enabled again (the page's "ready"), measured in the page. */
function cancelAndTime(page: Page): Promise<number> {
  return page.evaluate(() => new Promise<number>((resolve) => {
    const run = document.getElementById('run') as HTMLButtonElement;
    const t0 = performance.now();
    const observer = new MutationObserver(() => {
      if (!run.disabled) {
        observer.disconnect();
        resolve(performance.now() - t0);
      }
    });
    observer.observe(run, { attributes: true });
    (document.getElementById('cancel') as HTMLButtonElement).click();
  }));
}

/** ms until a one-element GPU prefix sum comes back: it queues behind whatever GPU work the cancelled job left. */
async function gpuDrainMs(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const t0 = performance.now();
    await (window as unknown as WindowWithClient).webrecon.api.kernelCheck({ kind: 'scan', sizes: [1] } as never);
    return performance.now() - t0;
  });
}

test('slabbed TSDF integration and marching cubes give exactly the unslabbed results', async ({ page }) => {
  await openApp(page);
  for (const hullFill of [false, true]) {
    const spec = { kind: 'integrate', dims: [23, 19, 17], views: 5, size: [61, 47], hullFill };
    const whole = await check(page, spec);
    // 997 grid points per slab: not a multiple of the workgroup size, so slab edges fall inside workgroups.
    const slabbed = await check(page, { ...spec, slabVoxels: 997 });
    console.log(`[integrate hull ${hullFill}] whole ${JSON.stringify(whole)} slabbed ${JSON.stringify(slabbed)}`);
    expect(slabbed.submissions).toBeGreaterThan(5);
    expect(slabbed.checksum).toBe(whole.checksum);
    expect(slabbed.observed).toBeGreaterThan(0.3 * slabbed.voxels);
  }
  for (const [dims, shape] of [[[33, 29, 31], 'sphere'], [[24, 24, 24], 'noise']] as const) {
    const r = await check(page, { kind: 'marching-cubes', dims, shape, slabVoxels: 1001 });
    const what = `${dims.join('x')} ${shape}: ${JSON.stringify(r)}`;
    console.log(`[marching-cubes slabbed] ${what}`);
    expect(r.submissions, what).toBeGreaterThan(10);
    expect(r.gpuVertices, what).toBe(r.cpuVertices);
    expect(r.gpuTriangles, what).toBe(r.cpuTriangles);
    expect(r.gpuTriangles, what).toBeGreaterThan(500);
    expect(r.indexMismatch, what).toBe(0);
    expect(r.positionWorst, what).toBeLessThan(1e-5);
  }
});

// On SwiftShader (CPU) what bounds the latency is the cost of JavaScript and Chromium's bookkeeping on a machine
// shared by several test runs, not the GPU work in flight: the bound below is what was measured there with margin
// (see the numbers the test prints). The goal on a real GPU is ~1 s.
const READY_BOUND_MS = 10_000;
const DRAIN_BOUND_MS = 15_000;

/**
 * Runs the loaded sample at `preset` and cancels, from inside the page, the moment the progress text first matches
 * `when` (a MutationObserver, not Playwright's polling: on a fast machine a step can show for less than a polling
 * interval, and CI once saw "marching cubes 2/54" followed by "10/54"). Then measures.
 */
async function cancelAt(page: Page, preset: string, name: string, when: RegExp) {
  await page.locator('#preset').selectOption(preset);
  const armed = page.evaluate(({ source, flags }) => new Promise<{ at: string; readyMs: number }>((resolve, reject) => {
    const re = new RegExp(source, flags);
    const text = document.getElementById('progress-text') as HTMLElement;
    const run = document.getElementById('run') as HTMLButtonElement;
    const watch = new MutationObserver(() => {
      const now = text.textContent ?? '';
      if (/^(Done|Failed|The worker stopped)/.test(now)) {
        watch.disconnect();
        reject(new Error(`the run ended before the progress matched ${re}: "${now}"`));
        return;
      }
      if (!re.test(now)) return;
      watch.disconnect();
      const t0 = performance.now();
      const ready = new MutationObserver(() => {
        if (!run.disabled) {
          ready.disconnect();
          resolve({ at: now, readyMs: performance.now() - t0 });
        }
      });
      ready.observe(run, { attributes: true });
      (document.getElementById('cancel') as HTMLButtonElement).click();
    });
    watch.observe(text, { childList: true, characterData: true, subtree: true });
  }), { source: when.source, flags: when.flags });
  await page.locator('#run').click();
  const { at, readyMs } = await armed;
  const drainMs = await gpuDrainMs(page);
  await expect(page.locator('#progress-text')).toContainText('Cancelled');
  await expect(page.locator('#vram-live')).toHaveText('0 B');
  const usage = await page.evaluate(() => (window as unknown as WindowWithClient).webrecon.api.getVramUsage());
  const m = { readyMs: Math.round(readyMs), drainMs: Math.round(drainMs), liveBytes: usage?.liveBytes ?? -1, at };
  console.log(`[cancel at ${name} (${preset})] ${JSON.stringify(m)}`);
  expect(at, name).toMatch(when);
  expect(m.liveBytes, name).toBe(0);
  expect(m.readyMs, name).toBeLessThan(READY_BOUND_MS);
  expect(m.drainMs, name).toBeLessThan(DRAIN_BOUND_MS);
}

test('cancel a standard-preset run during integration and marching cubes, a draft run during texturing: ready fast, 0 live bytes, the next run works', async ({ page }) => {
  test.setTimeout(1_500_000);
  await loadSample(page);
  // Compile the probe's kernels now, so that the drain times below do not include a shader compile.
  await gpuDrainMs(page);
  await cancelAt(page, 'standard', 'integration', /fusion: integrated ([4-9]|1\d|2[0-2])\/24/);
  await cancelAt(page, 'standard', 'marching cubes', /fusion: marching cubes ([3-9]|[1-4]\d)\/\d+/);
  // Texturing at the standard preset is out of reach of a test on SwiftShader (a standard run takes many minutes
  // there); the draft preset gets there sooner through the same code.
  await cancelAt(page, 'draft', 'texture', /feedforward: texture/);
  // A run right after the cancels (draft) completes, frees everything, and gives exactly what the same run gives in a
  // fresh page (a new worker and device): nothing of the cancelled jobs leaks into it.
  await page.locator('#run').click();
  await expect(page.locator('#progress-text')).toContainText('Done', { timeout: 600_000 });
  await expect(page.locator('#vram-live')).toHaveText('0 B');
  const afterCancels = await meshFigures(page);
  const fresh = await page.context().newPage();
  await loadSample(fresh);
  await fresh.locator('#preset').selectOption('draft');
  await fresh.locator('#run').click();
  await expect(fresh.locator('#progress-text')).toContainText('Done', { timeout: 600_000 });
  const inFreshPage = await meshFigures(fresh);
  console.log(`[after cancels] ${JSON.stringify(afterCancels)}\n[fresh page] ${JSON.stringify(inFreshPage)}`);
  expect(afterCancels.rawFaces as number).toBeGreaterThan(1000);
  expect(afterCancels).toEqual(inFreshPage);
});

test('a device lost during fusion fails the run clearly, quickly, and the GPU works again afterwards', async ({ page }) => {
  test.setTimeout(600_000);
  await loadSample(page);
  await page.locator('#preset').selectOption('standard');
  await page.locator('#run').click();
  await expect(page.locator('#progress-text')).toContainText(/fusion: integrated ([4-9]|1\d)\/24/, { timeout: 600_000 });
  const failMs = await page.evaluate(() => new Promise<number>((resolve) => {
    const run = document.getElementById('run') as HTMLButtonElement;
    const t0 = performance.now();
    const observer = new MutationObserver(() => {
      if (!run.disabled) {
        observer.disconnect();
        resolve(performance.now() - t0);
      }
    });
    observer.observe(run, { attributes: true });
    void (window as unknown as WindowWithClient).webrecon.api.simulateDeviceLoss();
  }));
  console.log(`[device lost] run button back after ${Math.round(failMs)} ms: ${await page.locator('#progress-text').textContent()}`);
  await expect(page.locator('#progress-text')).toContainText(/Failed: .*(lost|destroyed)/i);
  // The loss reaches the job through device.lost; on SwiftShader that came 6-18 s after destroy() on a heavily loaded
  // machine, like a cancel's drain (the GPU process seems to finish the work in flight first): the drain's bound.
  expect(failMs).toBeLessThan(DRAIN_BOUND_MS);
  // The next GPU call gets a new device and correct results.
  const r = await check(page, { kind: 'scan', sizes: [1000, 300_001] });
  for (const s of r.results) expect(s.mismatches).toBe(0);
});
