import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const KITCHEN = '7scenes-redkitchen-rgbd';
const hasKitchen = existsSync(resolve(import.meta.dirname, '../../../shared/datasets', KITCHEN));

type Score = Record<string, number> & { perView: number[] };
type Study = Record<string, unknown> & { raw: Score; variants: (Score & { label: string })[] };

/**
 * The depth-filter study (src/bench/mvsStudy.ts) on 7-Scenes' redkitchen: the photos and their poses, the sensor depth
 * hidden from the MVS and used as the truth (reprojected into the colour camera at ingest). Every `stride`-th frame.
 */
async function kitchenStudy(page: import('@playwright/test').Page, spec: Record<string, unknown>): Promise<Study> {
  return page.evaluate(async ({ dir, spec }) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = (await client.fetchDataFiles(dir)).map((f) => f as unknown as { path: string; bytes: ArrayBuffer });
    return client.api.kernelCheck({ kind: 'mvs-filter-study', files, variants: [{ label: 'default' }], ...spec } as never);
  }, { dir: KITCHEN, spec }) as Promise<Study>;
}

test('7-Scenes redkitchen study (diagnostic, env SCENES_RUNS = JSON list of study specs)', async ({ page }) => {
  test.skip(!process.env.SCENES_RUNS || !hasKitchen, 'a diagnostic: set SCENES_RUNS');
  test.setTimeout(3_000_000);
  await openApp(page);
  for (const run of JSON.parse(process.env.SCENES_RUNS!) as Record<string, unknown>[]) {
    const r = await kitchenStudy(page, { preset: 'draft', method: 'plane-sweep', ...run });
    console.log(`[7scenes] ${JSON.stringify({ run, ...r })}`);
  }
});
