/**
 * `npx tsx bench/bakeTruth.ts <synthetic capture dir> [--preset standard] [--holdout 8] [--fused] [--variants '<json list of texture options>']`
 * (after `npx vite build`). Geometry vs texture on a synthetic capture (npm run synth): its true mesh (gt.json) is
 * textured from the training views and scored at the held-out views, next to its true texture (the ceiling) and,
 * with --fused, the mesh fused from the capture's depth. Runs in headless Chromium (src/bench/bakeTruth.ts).
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { ReconstructClient } from '../src/app/client';
import type { BakeTruthSpec } from '../src/bench/bakeTruth';
import { openAppInChromium } from './browser';

async function main() {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const captureDir = argv.find((a, i) => !a.startsWith('--') && (i === 0 || !['--preset', '--holdout', '--variants', '--fused-margins', '--fused-variants'].includes(argv[i - 1])));
  if (!captureDir) throw new Error('usage: npx tsx bench/bakeTruth.ts <synthetic capture dir> [--preset standard] [--holdout 8] [--fused] [--fused-margins 0,2,4] [--variants <json list of texture options>]');
  const gt = JSON.parse(readFileSync(join(captureDir, 'gt.json'), 'utf8')) as { mesh: string; worldFromMesh: number[][] };
  const meshPath = resolve(captureDir, gt.mesh);
  // Serve the capture and the mesh's folder side by side under /data.
  const scratch = mkdtempSync(join(tmpdir(), 'webrecon-baketruth-'));
  symlinkSync(resolve(captureDir), join(scratch, 'capture'));
  symlinkSync(dirname(meshPath), join(scratch, 'mesh'));
  process.env.WEBRECON_DATA_DIR = scratch;
  const session = await openAppInChromium({ log: (l) => console.error(l) });
  try {
    const base: Omit<BakeTruthSpec, 'capture' | 'mesh'> = {
      kind: 'bake-truth',
      objName: basename(meshPath),
      worldFromMesh: gt.worldFromMesh.flat(),
      preset: (flag('--preset') ?? 'standard') as BakeTruthSpec['preset'],
      holdout: Number(flag('--holdout') ?? 8),
      fused: argv.includes('--fused') || argv.includes('--fused-margins') || argv.includes('--fused-variants'),
      // --fused-variants '[{"faceBudget":1e7}, {"voxelsPerSide":512}]': further fused-mesh bakes
      ...(flag('--fused-variants') ? { fusedVariants: JSON.parse(flag('--fused-variants')!) as BakeTruthSpec['fusedVariants'] } : {}),
      // --fused-margins 0,2,4: the fused mesh baked with each edge margin (fusion voxels).
      ...(flag('--fused-margins') ? { fusedEdgeMarginVoxels: flag('--fused-margins')!.split(',').map(Number) } : {}),
      // --variants '[{"bake":{"exposureCompensation":false}}, {"bakeLongSide":1024}]'
      ...(flag('--variants') ? { variants: JSON.parse(flag('--variants')!) as BakeTruthSpec['variants'] } : {}),
    };
    const start = performance.now();
    const result = await session.page.evaluate(async (spec) => {
      const client = (window as unknown as { webrecon: ReconstructClient }).webrecon;
      const capture = await client.fetchDataFiles('capture');
      const mesh = (await client.fetchDataFiles('mesh')).map((f) => ({ name: f.name, bytes: f.bytes }));
      return client.api.kernelCheck({ ...spec, capture: capture.map((f) => ({ path: f.path, bytes: f.bytes })), mesh } as never);
    }, base);
    console.log(JSON.stringify({ ...result, seconds: Math.round((performance.now() - start) / 100) / 10 }, null, 2));
  } finally {
    await session.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
