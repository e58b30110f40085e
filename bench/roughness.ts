/**
 * Roughness of the meshes in result zips: the angle between the normals of faces that share an edge (mean, median,
 * 90th percentile), per OBJ in each zip. Usage: npx tsx bench/roughness.ts <result.zip> [...]
 * (docs/benchmarks.md session 15: the refinement's Laplacian weight trades this against held-out PSNR).
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { parseObj } from '../src/export/parse';

for (const file of process.argv.slice(2)) {
  const zip = unzipSync(readFileSync(file));
  for (const name of Object.keys(zip).filter((n) => n.endsWith('.obj'))) {
    const { positions: P, faceV: F } = parseObj(zip[name]);
    const nf = F.length / 3;
    const N = new Float64Array(nf * 3);
    for (let i = 0; i < nf; i++) {
      const [a, b, c] = [F[3 * i], F[3 * i + 1], F[3 * i + 2]];
      const e1 = [0, 1, 2].map((k) => P[3 * b + k] - P[3 * a + k]), e2 = [0, 1, 2].map((k) => P[3 * c + k] - P[3 * a + k]);
      const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
      const l = Math.hypot(n[0], n[1], n[2]) || 1;
      N.set([n[0] / l, n[1] / l, n[2] / l], 3 * i);
    }
    // faces meeting at an edge (vertex indices as written: the OBJ shares positions across UV seams)
    const firstFace = new Map<string, number>();
    const angles: number[] = [];
    for (let i = 0; i < nf; i++) for (let k = 0; k < 3; k++) {
      const u = F[3 * i + k], v = F[3 * i + ((k + 1) % 3)];
      const key = u < v ? `${u},${v}` : `${v},${u}`;
      const j = firstFace.get(key);
      if (j === undefined) { firstFace.set(key, i); continue; }
      const d = N[3 * i] * N[3 * j] + N[3 * i + 1] * N[3 * j + 1] + N[3 * i + 2] * N[3 * j + 2];
      angles.push((Math.acos(Math.max(-1, Math.min(1, d))) * 180) / Math.PI);
    }
    angles.sort((x, y) => x - y);
    const mean = angles.reduce((s, x) => s + x, 0) / angles.length;
    console.log(`${file} ${name}: faces ${nf}, dihedral mean ${mean.toFixed(2)} deg, median ${angles[angles.length >> 1].toFixed(2)}, p90 ${angles[Math.floor(angles.length * 0.9)].toFixed(2)}`);
  }
}
