import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { validateMeshOutput } from '../../src/export/validate';

const SHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');
mkdirSync(SHOTS, { recursive: true });
const TEMPLE = resolve(import.meta.dirname, '../../../shared/datasets/middlebury-temple-sparse');

async function loadSample(page: Page) {
  await page.goto('/');
  await expect(page.locator('#gpu-status')).toContainText('WebGPU ready', { timeout: 30_000 });
  await page.screenshot({ path: `${SHOTS}/01-empty.png` });
  await page.locator('#sample').click();
  await expect(page.locator('#file-summary')).toContainText('24 usable photos', { timeout: 60_000 });
  await expect(page.locator('#detected')).toContainText('depth maps');
  await expect(page.locator('#detected')).toContainText('cameras: colmap');
  await expect(page.locator('#thumbnails img')).toHaveCount(24);
}

test('try the sample: run, progress only forward, the viewer shows the mesh, the download validates', async ({ page }) => {
  const foreign: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && !url.protocol.startsWith('blob') && !url.protocol.startsWith('data')) foreign.push(r.url());
  });
  await loadSample(page);
  await page.locator('#preset').selectOption('draft');
  await page.screenshot({ path: `${SHOTS}/02-sample-loaded.png` });
  const before = await page.locator('#viewer').screenshot();
  // Record the progress bar as it moves.
  await page.evaluate(() => {
    const bar = document.getElementById('progress') as HTMLProgressElement;
    const values: number[] = [];
    (window as unknown as { progressValues: number[] }).progressValues = values;
    new MutationObserver(() => values.push(bar.value)).observe(bar, { attributes: true });
    setInterval(() => values.push(bar.value), 20);
  });
  await page.locator('#run').click();
  await expect(page.locator('#progress-text')).toContainText('Done', { timeout: 170_000 });
  await page.waitForTimeout(500);
  const values = await page.evaluate(() => (window as unknown as { progressValues: number[] }).progressValues);
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
  expect(values.at(-1)).toBe(100);
  await expect(page.locator('#mesh-info')).toContainText('faces');
  await expect(page.locator('#stages li.done')).toContainText(['reading photos', 'fusion', 'texture']);
  const after = await page.locator('#viewer').screenshot();
  expect(after.equals(before)).toBe(false);
  await page.screenshot({ path: `${SHOTS}/03-result.png`, fullPage: true });
  await page.locator('button[data-mode="wireframe"]').click();
  await page.waitForTimeout(300);
  await page.locator('#viewer').screenshot({ path: `${SHOTS}/04-wireframe.png` });
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
  expect(download.suggestedFilename()).toBe('vase-sample-mesh.zip');
  const zip = readFileSync(await download.path());
  const validation = validateMeshOutput(zip);
  expect(validation.errors).toEqual([]);
  expect(validation.meshes[0].faces).toBeGreaterThan(1000);
  await expect(page.locator('#vram-live')).toHaveText('0 B');
  expect(foreign).toEqual([]);
});

test('cancel mid-run: the page returns to ready and the GPU panel shows zero live bytes', async ({ page }) => {
  await loadSample(page);
  await page.locator('#preset').selectOption('standard');
  await page.locator('#run').click();
  await expect(page.locator('#progress-text')).toContainText('feedforward', { timeout: 60_000 });
  await page.locator('#cancel').click();
  await expect(page.locator('#progress-text')).toContainText('Cancelled', { timeout: 30_000 });
  await expect(page.locator('#run')).toBeEnabled();
  await expect(page.locator('#vram-live')).toHaveText('0 B');
  await page.screenshot({ path: `${SHOTS}/05-cancelled.png` });
});

test('bad input: a text file named .jpg and a truncated PNG show their messages and the rest still loads', async ({ page }) => {
  test.skip(!existsSync(TEMPLE), 'shared datasets not found');
  await page.goto('/');
  await expect(page.locator('#gpu-status')).toContainText('WebGPU ready', { timeout: 30_000 });
  const good = ['templeSR0001.png', 'templeSR0002.png', 'templeSR0003.png'].map((f) => ({ name: f, mimeType: 'application/octet-stream', buffer: readFileSync(resolve(TEMPLE, f)) }));
  const bad = [
    { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not a photo') },
    { name: 'broken.png', mimeType: 'image/png', buffer: readFileSync(resolve(TEMPLE, 'templeSR0004.png')).subarray(0, 3000) },
  ];
  await page.locator('#file-input').setInputFiles([...good, ...bad]);
  await expect(page.locator('#file-summary')).toContainText('3 usable photos, 2 skipped', { timeout: 30_000 });
  await expect(page.locator('#detected')).toContainText('no cameras');
  await expect(page.locator('#thumbnails figure.skipped')).toHaveCount(2);
  await page.locator('#file-details summary').click();
  await expect(page.locator('#file-list')).toContainText('notes.jpg — skipped: cannot be decoded');
  await expect(page.locator('#file-list')).toContainText('broken.png — skipped: cannot be decoded');
  await page.screenshot({ path: `${SHOTS}/06-bad-input.png`, fullPage: true });
  await page.locator('#run').click();
  // Without depth maps or cameras (structure from motion is not there yet) the job ends with the explanation.
  await expect(page.locator('#progress-text')).toContainText('neither depth maps nor cameras', { timeout: 60_000 });
  await expect(page.locator('#run')).toBeEnabled();
});
