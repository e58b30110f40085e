/**
 * `npm run synth -- --mesh <obj> --views N [--size WxH] [--elevations -10,20,50] [--jitter 4] [--fov 50]
 *  [--diagonal 1.0] [--seed 1] [--lighting] [--background random|r,g,b] [--rgba] -o <dir>`
 * Renders a synthetic capture of a textured OBJ in the browser (WebGPU, the app's own renderer) and writes it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { ReconstructClient } from '../src/app/client';
import type { SynthOptions } from '../src/synth/synthesize';
import { openAppInChromium, pullBytes } from './browser';

function parse(argv: string[]) {
  const out: { mesh: string | null; dir: string | null; options: Omit<SynthOptions, 'meshPath'> } = { mesh: null, dir: null, options: { views: 24, width: 512, height: 384 } };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${a} needs a value`);
      return value;
    };
    if (a === '--mesh') out.mesh = v();
    else if (a === '-o' || a === '--out') out.dir = v();
    else if (a === '--views') out.options.views = Number(v());
    else if (a === '--size') [out.options.width, out.options.height] = v().split('x').map(Number);
    else if (a === '--elevations' || a === '--orbit') out.options.elevationsDeg = v().split(',').map(Number);
    else if (a === '--jitter') out.options.jitterDeg = Number(v());
    else if (a === '--fov') out.options.fovXDeg = Number(v());
    else if (a === '--diagonal') out.options.diagonalMeters = Number(v());
    else if (a === '--seed') out.options.seed = Number(v());
    else if (a === '--lighting') out.options.lighting = true;
    else if (a === '--rgba') out.options.rgba = true;
    else if (a === '--background') {
      const b = v();
      out.options.background = b === 'random' ? 'random' : (b.split(',').map(Number) as [number, number, number]);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!out.mesh || !out.dir) throw new Error('usage: npm run synth -- --mesh <obj> --views N [--size WxH] -o <dir>');
  return out as { mesh: string; dir: string; options: Omit<SynthOptions, 'meshPath'> };
}

async function main() {
  const args = parse(process.argv.slice(2));
  const meshPath = resolve(args.mesh);
  const outDir = resolve(args.dir);
  process.env.WEBRECON_DATA_DIR = dirname(meshPath);
  const session = await openAppInChromium({ log: (l) => console.error(l) });
  try {
    const start = performance.now();
    const meshRel = relative(outDir, meshPath);
    const summary = await session.page.evaluate(async ([objName, options]) => {
      const client = (window as unknown as { webrecon: ReconstructClient }).webrecon;
      const files = await client.fetchDataFiles('', '\\.(obj|mtl|png|jpg)$');
      const result = await client.synthesize({ files, objName: objName as string, options: options as SynthOptions });
      (window as unknown as { webreconLastFiles: Record<string, Uint8Array> }).webreconLastFiles = result.files;
      return Object.entries(result.files).map(([name, bytes]) => [name, bytes.length] as const);
    }, [basename(meshPath), { ...args.options, meshPath: meshRel }] as const);
    let total = 0;
    for (const [name, length] of summary) {
      const bytes = await pullBytes(session.page, `window.webreconLastFiles[${JSON.stringify(name)}]`, length);
      mkdirSync(dirname(join(outDir, name)), { recursive: true });
      writeFileSync(join(outDir, name), bytes);
      total += length;
    }
    console.log(`${outDir}: ${args.options.views} views ${args.options.width}x${args.options.height}, ${summary.length} files, ${(total / 1e6).toFixed(1)} MB, ${((performance.now() - start) / 1000).toFixed(1)} s`);
  } finally {
    await session.close();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
