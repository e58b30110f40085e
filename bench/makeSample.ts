/**
 * `npm run make-sample`: builds the built-in sample capture shipped in public/samples/vase/ — our procedural vase
 * (src/synth/procedural.ts) written as OBJ + PNG, then rendered by `npm run synth` (24 views, RGB + masks + 16-bit
 * depth + COLMAP cameras), plus manifest.json listing the files for the page's "Try the sample".
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { computeVertexNormals } from '../src/core/mesh';
import { encodeMtl, encodeObj } from '../src/export/obj';
import { encodeRgbaPng } from '../src/export/png';
import { makeVase } from '../src/synth/procedural';

const ROOT = resolve(import.meta.dirname, '..');
const meshDir = resolve(ROOT, '.cache/sample-mesh');
const outDir = resolve(ROOT, 'public/samples/vase');
mkdirSync(meshDir, { recursive: true });
const vase = makeVase();
writeFileSync(join(meshDir, 'vase.obj'), encodeObj({ positions: vase.positions, indices: vase.indices, uvs: vase.uvs, normals: computeVertexNormals(vase.positions, vase.indices) }, { mtlFile: 'vase.mtl' }));
writeFileSync(join(meshDir, 'vase.mtl'), encodeMtl({ textureFile: 'vase.png' }));
writeFileSync(join(meshDir, 'vase.png'), encodeRgbaPng(vase.texture));
rmSync(outDir, { recursive: true, force: true });
execFileSync('npx', ['tsx', 'bench/synth.ts', '--mesh', join(meshDir, 'vase.obj'), '--views', '24', '--size', '480x360', '--seed', '11', '--lighting', '--diagonal', '0.3', '--elevations', '-5,20,45', '-o', outDir], { cwd: ROOT, stdio: 'inherit' });
rmSync(join(outDir, 'gt.json'));
rmSync(join(outDir, 'transforms.json'));
const files: string[] = [];
const walk = (d: string) => {
  for (const n of readdirSync(d).sort()) {
    const full = join(d, n);
    if (statSync(full).isDirectory()) walk(full);
    else if (n !== 'manifest.json') files.push(relative(outDir, full));
  }
};
walk(outDir);
writeFileSync(join(outDir, 'manifest.json'), JSON.stringify({ name: 'vase', description: 'A procedurally modelled vase, 24 views with depth maps, masks and cameras (made by npm run make-sample)', files }, null, 2));
console.log(`${outDir}: ${files.length} files`);
