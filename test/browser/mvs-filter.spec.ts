import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

const hasSpot = existsSync(resolve(import.meta.dirname, '../../../shared/datasets/meshes/spot/spot.obj'));

/** Synthesises spot in the page (the `npm run synth` defaults: 24 views, 3 elevations) and runs the filter study. */
async function study(page: import('@playwright/test').Page, specs: Record<string, unknown>[], synth: { views: number; width: number; height: number; seed: number }) {
  return page.evaluate(async ({ specs, synth }) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const input = await client.fetchDataFiles('meshes/spot', '\\.(obj|mtl|png)$');
    const out = await client.synthesize({ files: input, objName: 'spot.obj', options: { ...synth, meshPath: 'spot.obj' } });
    const files = Object.entries(out.files).filter(([path]) => path !== 'gt.json').map(([path, bytes]) => ({ path, bytes: bytes.slice().buffer as ArrayBuffer }));
    const results = [];
    for (const spec of specs) results.push(await client.api.kernelCheck({ ...spec, files } as never));
    return results;
  }, { specs, synth }) as Promise<(Record<string, unknown> & { raw: Record<string, number>; variants: (Record<string, number> & { label: string })[] })[]>;
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
  const runs = [JSON.parse(process.env.STUDY_MVS ?? '{}')].flat() as Record<string, unknown>[];
  // One page call per run, so that each run's figures are printed as soon as they exist.
  for (const mvs of runs) {
    const [r] = await study(page, [{ kind: 'mvs-filter-study', preset: process.env.STUDY_PRESET ?? 'draft', method: process.env.STUDY_METHOD, mvs, variants: VARIANTS }], { views: Number(process.env.STUDY_VIEWS ?? 24), width, height, seed: 1 });
    console.log(`[mvs-filter] ${JSON.stringify({ mvs, ...r })}`);
    expect(r.variants.length).toBe(VARIANTS.length);
  }
});

test('temple with its cameras, end to end (diagnostic, env TEMPLE_RUNS = JSON list of mvs options)', async ({ page }) => {
  // TEMPLE_JOB / TEMPLE_PATTERN / TEMPLE_HOLDOUT run another capture under WEBRECON_DATA_DIR the same way (e.g. spot
  // with its depth maps hidden: TEMPLE_JOB=spot TEMPLE_PATTERN='^(?!depth/)' TEMPLE_HOLDOUT=8).
  test.skip(!process.env.TEMPLE_RUNS || (!process.env.TEMPLE_JOB && !existsSync(resolve(import.meta.dirname, '../../../shared/datasets/middlebury-temple-sparse'))), 'a diagnostic: set TEMPLE_RUNS');
  test.setTimeout(3_000_000);
  await openApp(page);
  for (const [run, mvs] of (JSON.parse(process.env.TEMPLE_RUNS!) as Record<string, unknown>[]).entries()) {
    const r = await page.evaluate(async ({ mvs, preset, job, pattern, holdout }) => {
      const client = (window as unknown as WindowWithClient).webrecon;
      const { result } = await client.runDataJob(job, { preset, models: ['feedforward'], mvs, ...(holdout ? { holdout } : {}) } as never, pattern);
      const model = result.report.models[0];
      // The zip (base64) for a look at the mesh (env TEMPLE_ZIP = file to write).
      const zip = (window as unknown as { webreconLastZip?: Uint8Array | null }).webreconLastZip;
      let zipB64 = '';
      if (zip) for (let i = 0; i < zip.length; i += 0x8000) zipB64 += String.fromCharCode(...zip.subarray(i, i + 0x8000));
      return { status: result.status, error: result.error?.message, faces: result.report.meshes[0]?.faces ?? 0, mvs: (model.details as { mvs?: unknown } | undefined)?.mvs, stages: result.report.stages.map((st) => `${st.name} ${Math.round(st.ms)}`).join(', '), zip: btoa(zipB64) };
    }, { mvs, preset: process.env.STUDY_PRESET ?? 'draft', job: process.env.TEMPLE_JOB ?? 'middlebury-temple-sparse', pattern: process.env.TEMPLE_PATTERN, holdout: Number(process.env.TEMPLE_HOLDOUT ?? 0) });
    const { zip, ...shown } = r;
    if (process.env.TEMPLE_ZIP) (await import('node:fs')).writeFileSync(process.env.TEMPLE_ZIP.replace(/\.zip$/, run ? `-${run}.zip` : '.zip'), Buffer.from(zip, 'base64'));
    console.log(`[temple] ${JSON.stringify({ options: mvs, ...shown })}`);
    expect(r.status).toBe('success');
  }
});

test('temple raw plane-sweep maps (diagnostic, env TEMPLE_DUMP = output folder, TEMPLE_MVS = JSON mvs options)', async ({ page }) => {
  const dir = resolve(import.meta.dirname, '../../../shared/datasets/middlebury-temple-sparse');
  test.skip(!process.env.TEMPLE_DUMP || !existsSync(dir), 'a diagnostic: set TEMPLE_DUMP');
  test.setTimeout(3_000_000);
  await openApp(page);
  const names = process.env.TEMPLE_NAMES ? process.env.TEMPLE_NAMES.split(',') : undefined;
  const r = await page.evaluate(async ({ mvs, preset, names }) => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const files = (await client.fetchDataFiles('middlebury-temple-sparse')).map((f) => f as unknown as { path: string; bytes: ArrayBuffer });
    const out = await client.api.kernelCheck({ kind: 'mvs-raw', files, preset, mvs, ...(names ? { names } : {}) } as never);
    const b64 = (a: ArrayBufferView) => {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const { raw, filtered, luma, ...rest } = out as Record<string, unknown> & { raw: Float32Array; filtered: Float32Array; luma: Uint8Array };
    return { ...rest, raw: b64(raw), filtered: b64(filtered), luma: b64(luma) };
  }, { mvs: JSON.parse(process.env.TEMPLE_MVS ?? '{}'), preset: process.env.STUDY_PRESET ?? 'draft', names });
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const out = process.env.TEMPLE_DUMP!;
  mkdirSync(out, { recursive: true });
  for (const key of ['raw', 'filtered', 'luma'] as const) writeFileSync(`${out}/${key}.bin`, Buffer.from(r[key] as string, 'base64'));
  const { raw: _a, filtered: _b, luma: _c, ...meta } = r as Record<string, unknown>;
  writeFileSync(`${out}/meta.json`, JSON.stringify(meta));
  console.log(`[temple raw] ${JSON.stringify({ ms: meta.ms, stats: meta.stats })}`);
});
