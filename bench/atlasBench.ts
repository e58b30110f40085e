/**
 * `npx tsx bench/atlasBench.ts [mesh.ply|mesh.obj ...]`: the UV atlas on a sphere, on a noisy fused facade decimated to
 * the draft and standard face budgets (at their atlas sizes), and on any PLY or OBJ given (a textured export's mesh:
 * its vertices, split at uv seams, are welded by position first). Prints time (CPU ms, this thread), charts, texels
 * covered, texels per unit area (sharpness at this atlas size), distortion, as JSON lines.
 */
import { readFileSync } from 'node:fs';
import { parseObj, parsePly } from '../src/export/parse';
import type { Mesh } from '../src/core/mesh';
import { buildAtlas } from '../src/stages/texture/atlas';
import { atlasQuality } from '../src/stages/texture/atlasQuality';
import { ATLAS_SIZE, decimateMesh, FACE_BUDGET } from '../src/stages/texture/decimate';
import { facadeMesh, sphereMesh } from '../test/unit/atlasMeshes';

function weld(positions: Float32Array, indices: Uint32Array): Mesh {
  const index = new Map<string, number>();
  const remap = new Uint32Array(positions.length / 3);
  const out: number[] = [];
  for (let v = 0; v < remap.length; v++) {
    const key = `${positions[3 * v]},${positions[3 * v + 1]},${positions[3 * v + 2]}`;
    let w = index.get(key);
    if (w === undefined) {
      w = out.length / 3;
      index.set(key, w);
      out.push(positions[3 * v], positions[3 * v + 1], positions[3 * v + 2]);
    }
    remap[v] = w;
  }
  return { positions: new Float32Array(out), indices: indices.map((i) => remap[i]) };
}

function run(name: string, mesh: Mesh, size: number): void {
  const cpu = process.cpuUsage();
  const atlas = buildAtlas(mesh, size, 4);
  const used = process.cpuUsage(cpu);
  const q = atlasQuality(atlas.positions, atlas.indices, atlas.uvs, size, atlas.texelsPerUnit);
  const round = (x: number) => +x.toPrecision(4);
  console.log(JSON.stringify({
    mesh: name, faces: mesh.indices.length / 3, atlasSize: size, cpuMs: Math.round((used.user + used.system) / 1000), charts: atlas.charts, packAttempts: atlas.packAttempts,
    covered: round(q.covered), texelsPerArea: round(q.texelsPerArea), texelsPerUnit: round(atlas.texelsPerUnit), overlaps: q.overlaps, flipped: q.flipped,
    areaScale: round(q.areaScale), angleStretch: round(q.angleStretch), angleStretchP95: round(q.angleStretchP95),
  }));
}

run('sphere', await decimateMesh(sphereMesh(), 3000), 512);
const facade = facadeMesh(0.0125);
run('facade-draft', await decimateMesh(facade, FACE_BUDGET.draft), ATLAS_SIZE.draft);
run('facade-standard', await decimateMesh(facade, FACE_BUDGET.standard), ATLAS_SIZE.standard);
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(readFileSync(file));
  const parsed = file.endsWith('.obj') ? (({ positions, faceV }) => ({ positions, indices: faceV }))(parseObj(bytes)) : parsePly(bytes);
  const mesh = weld(parsed.positions, parsed.indices);
  run(file, mesh, mesh.indices.length / 3 > FACE_BUDGET.draft ? ATLAS_SIZE.standard : ATLAS_SIZE.draft);
}
