import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const hasSpot = existsSync(resolve(import.meta.dirname, '../../../shared/datasets/meshes/spot/spot.obj'));

/** Synthesises spot in the page (the `npm run synth` defaults: 24 views, 3 elevations) and runs the filter study. */
async function study(page: import('@playwright/test').Page, spec: Record<string, unknown>, synth: { views: number; width: number; height: number; seed: number }) {
  return page.evaluate(async ({ spec, synth }) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const input = await client.fetchDataFiles('meshes/spot', '\\.(obj|mtl|png)$');
    const out = await client.synthesize({ files: input, objName: 'spot.obj', options: { ...synth, meshPath: 'spot.obj' } });
    const files = Object.entries(out.files).filter(([path]) => path !== 'gt.json').map(([path, bytes]) => ({ path, bytes: bytes.slice().buffer as ArrayBuffer }));
    return client.api.kernelCheck({ ...spec, files } as never);
  }, { spec, synth }) as Promise<Record<string, unknown> & { raw: Record<string, number>; variants: (Record<string, number> & { label: string })[] }>;
}

const VARIANTS = (process.env.STUDY_VARIANTS ? JSON.parse(process.env.STUDY_VARIANTS) : [
  { label: 'before (nearest, 1%, 1px, low-confidence witnesses)', sampling: 'nearest', lowConfidenceWitnesses: true },
  { label: 'default' },
]) as Record<string, unknown>[];

test('depth-filter study (diagnostic, env STUDY_METHOD / STUDY_PRESET / STUDY_SIZE / STUDY_MVS)', async ({ page }) => {
  test.skip(!process.env.STUDY_METHOD || !hasSpot, 'a diagnostic: set STUDY_METHOD=plane-sweep|network');
  test.setTimeout(1_500_000);
  await openApp(page);
  const [width, height] = (process.env.STUDY_SIZE ?? '512x384').split('x').map(Number);
  const r = await study(page, {
    kind: 'mvs-filter-study', preset: process.env.STUDY_PRESET ?? 'draft', method: process.env.STUDY_METHOD,
    mvs: JSON.parse(process.env.STUDY_MVS ?? '{}'), variants: VARIANTS,
  }, { views: Number(process.env.STUDY_VIEWS ?? 24), width, height, seed: 1 });
  console.log(`[mvs-filter] ${JSON.stringify(r)}`);
  expect(r.variants.length).toBe(VARIANTS.length);
});
