/**
 * `npm run bench [-- --preset draft|standard|high] [--cases spot,kitchen,...] [--machine name]`
 * Runs a fixed list of cases (the shared datasets and synthetic spot/bob captures) through `npm run reconstruct`
 * and `npm run evaluate`, prints one table (case, views, time per model, VRAM peak, camera errors, Chamfer,
 * F-score, PSNR) and writes bench/results/<date>-<machine>.json. docs/benchmarks.md explains every column.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Report } from '../src/core/report';
import { evaluateResult, scoreAppearance, type Scores } from './evaluate';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, '../shared/datasets');
const CACHE = resolve(ROOT, '.cache');

interface Case {
  name: string;
  /** Capture folder, made by `synth` when it has a mesh. */
  dir: string;
  synth?: { mesh: string; views: number; size: string };
  holdout?: number;
}

const CASES: Case[] = [
  { name: 'spot', dir: join(CACHE, 'captures/spot'), synth: { mesh: join(DATA, 'meshes/spot/spot.obj'), views: 24, size: '512x384' }, holdout: 8 },
  { name: 'bob', dir: join(CACHE, 'captures/bob'), synth: { mesh: join(DATA, 'meshes/bob/bob_tri.obj'), views: 24, size: '512x384' }, holdout: 8 },
  { name: '7scenes-redkitchen-rgbd', dir: join(DATA, '7scenes-redkitchen-rgbd') },
  { name: 'middlebury-temple-sparse', dir: join(DATA, 'middlebury-temple-sparse') },
  { name: 'nerf-synthetic-lego', dir: join(DATA, 'nerf-synthetic-lego'), holdout: 8 },
  { name: 'strecha-fountain-p11', dir: join(DATA, 'strecha-fountain-p11') },
  { name: 'sceaux-castle', dir: join(DATA, 'sceaux-castle') },
];

interface Row {
  case: string;
  views: number;
  status: string;
  models: { name: string; status: string; ms: number; error?: string }[];
  totalMs: number;
  vramPeakBytes: number;
  scores: Scores | null;
  error?: string;
}

function run(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('npx', ['tsx', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 1_800_000 }) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const get = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const preset = get('--preset') ?? 'standard';
  const only = get('--cases')?.split(',');
  const machine = get('--machine') ?? hostname();
  if (!existsSync(resolve(ROOT, 'dist/index.html'))) execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  const rows: Row[] = [];
  for (const c of CASES.filter((x) => !only || only.includes(x.name))) {
    if (c.synth && !existsSync(join(c.dir, 'gt.json'))) {
      if (!existsSync(c.synth.mesh)) continue;
      mkdirSync(c.dir, { recursive: true });
      const s = run(['bench/synth.ts', '--mesh', c.synth.mesh, '--views', String(c.synth.views), '--size', c.synth.size, '-o', c.dir]);
      if (!s.ok) throw new Error(`synth ${c.name} failed: ${s.out}`);
    }
    if (!existsSync(c.dir)) continue;
    const zip = join(CACHE, `bench-${c.name}.zip`), reportPath = join(CACHE, `bench-${c.name}.json`);
    process.stderr.write(`[bench] ${c.name} (${preset})…\n`);
    const r = run(['bench/reconstruct.ts', c.dir, '-o', zip, '--report', reportPath, '--preset', preset, '--quiet', ...(c.holdout ? ['--holdout', String(c.holdout)] : [])]);
    const report = existsSync(reportPath) ? (JSON.parse(readFileSync(reportPath, 'utf8')) as Report) : null;
    let scores: Scores | null = null;
    if (r.ok && existsSync(zip)) {
      scores = evaluateResult(zip, c.dir, 10000);
      await scoreAppearance(zip, c.dir, scores);
    }
    rows.push({
      case: c.name,
      views: report?.input.views ?? 0,
      status: report?.status ?? 'failed',
      models: report?.models.map((m) => ({ name: m.name, status: m.status, ms: m.ms, ...(m.error ? { error: m.error.message } : {}) })) ?? [],
      totalMs: report?.totalMs ?? 0,
      vramPeakBytes: report?.vram.peakBytes ?? 0,
      scores,
      ...(r.ok ? {} : { error: (report?.error?.message ?? r.out.trim().split('\n').pop() ?? '').slice(0, 160) }),
    });
  }
  const f = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const header = ['case', 'views', 'status', 'time per model', 'VRAM peak', 'reg', 'rot med°', 'centre med %', 'chamfer %', 'F@1%', 'PSNR'];
  const table = rows.map((row) => {
    const s = row.scores;
    const g = s?.geometry[0];
    return [
      row.case,
      String(row.views),
      row.status,
      row.models.map((m) => `${m.name} ${(m.ms / 1000).toFixed(1)} s`).join(', ') || '-',
      `${(row.vramPeakBytes / 2 ** 20).toFixed(0)} MiB`,
      s?.cameras ? `${s.cameras.registered}/${s.cameras.total}` : '-',
      f(s?.cameras?.rotationErrorDeg.median),
      s?.cameras ? f(s.cameras.centreErrorRel.median * 100) : '-',
      g ? f(g.chamfer * 100) : '-',
      g ? f(g.fscore01) : '-',
      s?.appearance[0] ? f(s.appearance[0].psnr, 2) : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  console.log(header.map((h, i) => h.padEnd(widths[i])).join('  '));
  for (const r of table) console.log(r.map((v, i) => v.padEnd(widths[i])).join('  '));
  for (const row of rows) if (row.error) console.log(`${row.case}: ${row.error}`);
  mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
  const out = resolve(ROOT, `bench/results/${new Date().toISOString().slice(0, 10)}-${machine}-${preset}.json`);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, preset, rows }, null, 2));
  console.log(`wrote ${out}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
