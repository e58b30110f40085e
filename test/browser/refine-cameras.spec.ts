import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp, type WindowWithClient } from './helpers';

test('refining given cameras in a job: exact synthetic cameras are kept, with the reason, and nothing stays on the GPU', async ({ page }) => {
  test.skip(!existsSync(resolve(import.meta.dirname, '../../../shared/datasets/meshes/spot/spot.obj')), 'shared meshes not found');
  test.setTimeout(240_000);
  await openApp(page);
  // GIVEN_POSE_BA_RULE through the job (JobOptions.refineCameras forced on; depth maps given, so no MVS): the rendered
  // capture's cameras are exact, so the adjustment must not move them (the photos do not support a change).
  const r = await page.evaluate(async () => {
    const client = (window as unknown as WindowWithClient).webrecon;
    const input = await client.fetchDataFiles('meshes/spot', '\\.(obj|mtl|png)$');
    const synth = await client.synthesize({ files: input, objName: 'spot.obj', options: { views: 10, width: 256, height: 192, seed: 7, meshPath: 'spot.obj' } });
    // A fresh copy per job (the job transfers its buffers to the worker).
    const files = () => Object.entries(synth.files)
      .filter(([path]) => path !== 'gt.json')
      .map(([path, bytes]) => ({ name: path.split('/').pop()!, path, bytes: bytes.slice().buffer as ArrayBuffer }));
    const plain = await client.runJob({ files: files(), options: { preset: 'draft', models: ['feedforward'] } });
    const refined = await client.runJob({ files: files(), options: { preset: 'draft', models: ['feedforward'], refineCameras: true } });
    const report = refined.result.report;
    return {
      status: refined.result.status,
      refinement: report.cameraRefinement,
      stages: report.stages.map((s) => s.name),
      warnings: report.warnings,
      sameCameras: JSON.stringify(report.cameras) === JSON.stringify(plain.result.report.cameras),
      plainHasRefinement: plain.result.report.cameraRefinement !== undefined,
      liveBytesAtEnd: report.vram.liveBytesAtEnd,
    };
  });
  console.log(`[refine-cameras] ${JSON.stringify(r)}`);
  expect(r.status).toBe('success');
  // Off unless asked for (transforms.json cameras), on when asked.
  expect(r.plainHasRefinement).toBe(false);
  expect(r.stages).toContain('refine-cameras');
  expect(r.refinement?.views).toBe(10);
  expect(r.refinement?.accepted).toBe(false);
  expect(r.warnings.join('\n')).toMatch(/The given cameras were kept as they are: /);
  expect(r.sameCameras).toBe(true);
  expect(r.liveBytesAtEnd).toBe(0);
});
