/**
 * `npm run reconstruct -- <input folder or files...> -o out.zip [--report r.json] [--preset draft|standard|high]
 *  [--models feedforward,refine] [--holdout k] [--refine-iterations n] [--refine '{json RefineOptions}']
 *  [--fusion '{"voxelsPerSide":512}'] [--texture '{"edgeMarginVoxels":1}'] [--mvs '{"method":"planesweep"}']`
 *  (JobOptions.fusion / .texture / .mvs)
 * Runs the REAL page and worker in headless Chromium (system chromium, WebGPU; the GPU when the machine has one),
 * feeds the files through the same worker API the UI uses, and writes the zip and report.json.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { ReconstructClient } from '../src/app/client';
import type { JobOptions, Preset } from '../workers/api';
import { openAppInChromium, pullBytes } from './browser';

interface Args { inputs: string[]; out: string; report: string | null; preset: Preset; models: string[]; holdout: number; quiet: boolean; refineIterations?: number; refine?: Record<string, number>; fusion?: JobOptions['fusion']; texture?: JobOptions['texture']; mvs?: JobOptions['mvs'] }

export function parseArgs(argv: string[]): Args {
  const args: Args = { inputs: [], out: 'out.zip', report: null, preset: 'standard', models: ['feedforward'], holdout: 0, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-o' || a === '--out') args.out = value();
    else if (a === '--report') args.report = value();
    else if (a === '--preset') args.preset = value() as Preset;
    else if (a === '--models') args.models = value().split(',').filter(Boolean);
    else if (a === '--holdout') args.holdout = Number(value());
    else if (a === '--quiet') args.quiet = true;
    else if (a === '--refine-iterations') args.refineIterations = Number(value());
    else if (a === '--refine') args.refine = JSON.parse(value()) as Record<string, number>;
    else if (a === '--fusion') args.fusion = JSON.parse(value()) as JobOptions['fusion'];
    else if (a === '--texture') args.texture = JSON.parse(value()) as JobOptions['texture'];
    else if (a === '--mvs') args.mvs = JSON.parse(value()) as JobOptions['mvs'];
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else args.inputs.push(a);
  }
  if (args.inputs.length === 0) throw new Error('usage: npm run reconstruct -- <input folder or files...> -o out.zip [--report r.json] [--preset draft|standard|high] [--models feedforward] [--holdout k]');
  if (!['draft', 'standard', 'high'].includes(args.preset)) throw new Error(`--preset must be draft, standard or high (got ${args.preset})`);
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // Serve the input under /data/<name>: a folder as it is, files through a folder of links.
  let dataDir: string;
  let name: string;
  let scratch: string | null = null;
  if (args.inputs.length === 1 && !/\.[a-z0-9]+$/i.test(basename(args.inputs[0]))) {
    const input = resolve(args.inputs[0]);
    dataDir = dirname(input);
    name = basename(input);
  } else {
    scratch = mkdtempSync(resolve(tmpdir(), 'webrecon-'));
    name = 'capture';
    mkdirSync(resolve(scratch, name));
    for (const f of args.inputs) symlinkSync(resolve(f), resolve(scratch, name, basename(f)));
    dataDir = scratch;
  }
  process.env.WEBRECON_DATA_DIR = dataDir;
  const log = (line: string) => { if (!args.quiet) console.error(line); };
  const session = await openAppInChromium({ log });
  try {
    const start = performance.now();
    const out = await session.page.evaluate(
      async ([dir, options]) => {
        const client = (window as unknown as { webrecon: ReconstructClient }).webrecon;
        const gpu = await client.api.probeGpu();
        const run = await client.runDataJob(dir, options);
        return { gpu, ...run };
      },
      [name, { preset: args.preset, models: args.models, holdout: args.holdout, captureName: name, ...(args.refineIterations || args.refine ? { refine: { ...args.refine, ...(args.refineIterations ? { iterations: args.refineIterations } : {}) } } : {}), ...(args.fusion ? { fusion: args.fusion } : {}), ...(args.texture ? { texture: args.texture } : {}), ...(args.mvs ? { mvs: args.mvs } : {}) }] as const,
    );
    const gpuName = out.gpu.available ? `${out.gpu.adapter.vendor} ${out.gpu.adapter.architecture} ${out.gpu.adapter.description}`.trim() : `no WebGPU (${out.gpu.reason})`;
    log(`adapter: ${gpuName}`);
    for (const e of out.events) if (e.type === 'warning') log(`warning: ${e.file ? `${e.file}: ` : ''}${e.message}`);
    const report = out.result.report;
    if (out.result.zipBytes > 0) writeFileSync(args.out, await pullBytes(session.page, 'window.webreconLastZip', out.result.zipBytes));
    if (args.report) writeFileSync(args.report, JSON.stringify(report, null, 2));
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    if (out.result.status !== 'success') {
      console.error(`${out.result.status}: ${out.result.error?.message ?? ''} (${seconds} s)`);
      process.exitCode = 1;
      return;
    }
    const stages = report.stages.map((s) => `${s.model ? `${s.model}/` : ''}${s.name} ${s.ms.toFixed(0)} ms`).join(', ');
    console.log(`${args.out}: ${report.meshes.map((m) => `${m.model} ${m.vertices} vertices ${m.faces} faces`).join('; ')}; VRAM peak ${(report.vram.peakBytes / 2 ** 20).toFixed(1)} MiB; ${seconds} s total (fetch ${out.fetchMs.toFixed(0)} ms); ${stages}`);
  } finally {
    await session.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
