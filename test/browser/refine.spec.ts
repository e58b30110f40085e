import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

type Group = { compared: number; maxRelError: number; scale: number };

async function check(page: import('@playwright/test').Page, spec: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await page.evaluate((s) => (window as unknown as WindowWithClient).webrecon.api.kernelCheck(s as never), spec)) as Record<string, unknown>;
}

test('refinement gradients match finite differences of the CPU forward', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-gradients', size: 32, texSize: 64 });
  console.log(`[refine-gradients] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  expect(r.coveredPixels as number).toBeGreaterThan(100);
  // The visibility pass's barycentrics agree with the kernels' ray/triangle ones (projection conventions).
  expect(r.rasterBaryMaxDiff as number).toBeLessThan(2e-2);
  expect(Math.abs((r.lossGpu as number) - (r.lossCpu as number)) / (r.lossCpu as number)).toBeLessThan(1e-4);
  expect(Math.abs((r.silLossGpu as number) - (r.silLossCpu as number)) / (r.silLossCpu as number)).toBeLessThan(1e-4);
  for (const name of ['texture', 'positions', 'gains', 'light', 'silhouette', 'laplacian']) {
    const g = r[name] as Group;
    // (one of the light's four may fall under the comparison's floor, 1e-3 of the largest)
    expect(g.compared, name).toBeGreaterThan(name === 'gains' ? 1 : name === 'light' ? 2 : 3);
    expect(g.maxRelError, name).toBeLessThan(1e-2);
  }
  // The texture is finer than the pixels: most pixels sample mip level 1 or 2, whose gradients reach the texels.
  const levels = r.pixelsPerLevel as number[];
  expect((levels[1] ?? 0) + (levels[2] ?? 0)).toBeGreaterThan(0.5 * (r.colorPixels as number));
  // The seam's split vertices are welded: 16 grid points, 20 mesh vertices.
  expect(r.weldedVertices).toBe(16);
  expect(r.meshVertices).toBe(20);
});

test('refinement gradients match finite differences across occlusion edges', async ({ page }) => {
  // A patch in front of the bent grid: its edges are occlusion edges inside the rendered surface, where the colour
  // term's edge blend mixes the patch with the grid behind it (refine_forward.wgsl, occlusionBlend).
  await openApp(page);
  const r = await check(page, { kind: 'refine-gradients', size: 32, texSize: 64, occluder: true });
  console.log(`[refine-gradients occluder] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  // both sides of the occlusion edges are exercised: pixels of the patch blending with the photo beyond its edge, and
  // grid pixels that the patch's edge covers in part
  expect(r.occludingPixels as number).toBeGreaterThan(5);
  expect(r.occludedPixels as number).toBeGreaterThan(5);
  expect(Math.abs((r.lossGpu as number) - (r.lossCpu as number)) / (r.lossCpu as number)).toBeLessThan(1e-4);
  expect(Math.abs((r.silLossGpu as number) - (r.silLossCpu as number)) / (r.silLossCpu as number)).toBeLessThan(1e-4);
  for (const name of ['texture', 'positions', 'gains', 'light', 'silhouette']) {
    const g = r[name] as Group;
    expect(g.compared, name).toBeGreaterThan(name === 'gains' ? 1 : name === 'light' ? 2 : 3);
    expect(g.maxRelError, name).toBeLessThan(1e-2);
  }
});

test('refinement recovers a known texture from rendered views', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-fit', views: 8, size: 48, texSize: 32, iterations: 150 });
  console.log(`[refine-fit] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  expect(r.rmseBefore as number).toBeGreaterThan(0.2);
  expect(r.rmseAfter as number).toBeLessThan(0.25 * (r.rmseBefore as number));
  expect(r.lastLoss as number).toBeLessThan(0.2 * (r.firstLoss as number));
});

test('the default refinement pulls a bumpy sphere back toward the sphere its photos show', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-geometry', views: 8, size: 128, texSize: 64, iterations: 200, noise: 0.1, pattern: 'smooth' });
  console.log(`[refine-geometry] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  expect(r.rmsBefore as number).toBeGreaterThan(0.025);
  // Smooth bumps of up to 10% of the radius (~3 px in these views): the default moves the vertices over a third of the
  // way back in 200 iterations (SwiftShader, 2026-11-26: 0.0336 -> 0.0183); the Laplacian weight before session 15 (2e4)
  // held them where they were (0.0331; `compare: true` runs it). Vertex-scale (random) bumps are not asserted: the
  // default barely corrects those (docs/benchmarks.md session 15).
  expect(r.rmsAfter as number).toBeLessThan(0.8 * (r.rmsBefore as number));
});

test('refinement started on the true sphere stays there (the silhouette term is unbiased)', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-geometry', views: 8, size: 128, texSize: 64, iterations: 200, noise: 0, pattern: 'smooth' });
  console.log(`[refine-geometry-exact] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  // The views' masks are binary, sampled at pixel centres. A soft coverage compared with them (the term before
  // session 16) has its minimum ~0.15 px off the truth: the vertices drifted outward by 0.46% of the radius
  // (SwiftShader, 2026-11-25: meanAfter 0.0046). The consistency term alone leaves +0.00016, with the colour term's
  // edge blend +0.00052.
  expect(Math.abs(r.meanAfter as number)).toBeLessThan(0.001);
});

test('refinement with the multi-resolution texture step recovers a known texture', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-fit', views: 8, size: 48, texSize: 32, iterations: 150, texPyramid: 3 });
  console.log(`[refine-fit-pyramid] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  expect(r.rmseBefore as number).toBeGreaterThan(0.2);
  expect(r.rmseAfter as number).toBeLessThan(0.25 * (r.rmseBefore as number));
  // The last minibatch's loss is one random batch of 4 views: with the pyramid step it ended at 0.217x and 0.326x the
  // first in two full runs (session 4; refinement code unchanged), so this bound is loose; the texture error above is
  // the real check.
  expect(r.lastLoss as number).toBeLessThan(0.45 * (r.firstLoss as number));
});

test('feedforward then refine: each model frees its memory before the next holds any', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-vram', views: 8, size: 40, iterations: 20 });
  console.log(`[refine-vram] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  expect(r.statuses).toEqual(['feedforward:success', 'refine:success']);
  expect(r.liveAfterCleanup).toEqual([0, 0]);
  expect(r.ownBytesAtEnd).toBe(0);
  // While each model ran (at every progress report), only its own VRAM owner held memory, and it did hold some.
  expect(r.ownersDuring).toEqual({ feedforward: ['feedforward'], refine: ['refine'] });
  const peaks = r.ownerPeakBytes as Record<string, number>;
  expect(peaks.feedforward).toBeGreaterThan(0);
  expect(peaks.refine).toBeGreaterThan(0);
  const snaps = r.snapshots as { model: string; phase: string; owners: Record<string, number> }[];
  for (const s of snaps.filter((s) => s.phase === 'after-cleanup')) expect(s.owners).toEqual({});
  for (const f of ['refine/mesh.obj', 'refine/mesh.mtl', 'refine/texture_kd.png', 'refine/mesh.ply', 'feedforward/mesh.obj']) expect(r.files).toContain(f);
  expect(r.meshes).toEqual(['feedforward', 'refine']);
  // REFINE_KEEP_RULE ran on the validation view and gave out the mesh that scored better there.
  const keep = (r.refineDetails as { keep: { views: number; inputPsnr: number; refinedPsnr: number; kept: string } }).keep;
  expect(keep.views).toBeGreaterThan(0);
  expect(Number.isFinite(keep.inputPsnr) && Number.isFinite(keep.refinedPsnr)).toBe(true);
  expect(keep.kept).toBe(keep.refinedPsnr < keep.inputPsnr ? 'input' : 'refined');
  const warned = (r.warnings as string[]).some((w) => w.includes('the refine output is the feedforward mesh unchanged'));
  expect(warned).toBe(keep.kept === 'input');
  expect((r.refineDetails as { texture: string }).texture === 'input').toBe(keep.kept === 'input');
});

test('the refinement keep check ranks a mesh above the same mesh grown by 8%, with masks and without, and keeps the better one', async ({ page }) => {
  await openApp(page);
  const r = await check(page, { kind: 'refine-keep', views: 8, size: 96, grow: 0.08 });
  console.log(`[refine-keep] ${JSON.stringify(r)}`);
  expect(r.uncapturedErrors).toEqual([]);
  const [maskedBase, maskedGrown] = r.masked as number[];
  const [unmaskedBase, unmaskedGrown] = r.unmasked as number[];
  expect(maskedBase).toBeGreaterThan(maskedGrown + 1);
  expect(unmaskedBase).toBeGreaterThan(unmaskedGrown + 1);
  // keepBetter gives the input back (and warns) when the "refined" mesh is the grown one, and keeps a better one.
  expect(r.refused).toEqual({ kept: 'input', sameMesh: true });
  expect(r.accepted).toEqual({ kept: 'refined', sameMesh: true });
  expect((r.warnings as string[]).length).toBe(1);
  expect((r.warnings as string[])[0]).toContain('the refine output is the feedforward mesh unchanged');
});
