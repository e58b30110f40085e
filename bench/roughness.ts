/**
 * Roughness of the meshes in result zips: the angle between the normals of faces that share an edge (mean, median,
 * 90th percentile), per OBJ in each zip. Usage: npx tsx bench/roughness.ts <result.zip> [...]
 * (docs/benchmarks.md session 15: the refinement's Laplacian weight trades this against held-out PSNR).
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
const files = process.argv.slice(2);
for (const f of files) {
  const z = unzipSync(readFileSync(f));
  for (const name of Object.keys(z).filter((n) => n.endsWith('.obj'))) {
    const text = new TextDecoder().decode(z[name]);
    const P: number[] = []; const F: number[] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('v ')) { const s = line.split(/\s+/); P.push(+s[1], +s[2], +s[3]); }
      else if (line.startsWith('f ')) { const s = line.trim().split(/\s+/).slice(1).map((t) => parseInt(t.split('/')[0]) - 1); F.push(s[0], s[1], s[2]); }
    }
    const nf = F.length / 3; const N = new Float64Array(nf * 3);
    for (let i = 0; i < nf; i++) {
      const a = F[3 * i], b = F[3 * i + 1], c = F[3 * i + 2];
      const e1 = [P[3 * b] - P[3 * a], P[3 * b + 1] - P[3 * a + 1], P[3 * b + 2] - P[3 * a + 2]], e2 = [P[3 * c] - P[3 * a], P[3 * c + 1] - P[3 * a + 1], P[3 * c + 2] - P[3 * a + 2]];
      const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]]; const l = Math.hypot(...n) || 1;
      N[3 * i] = n[0] / l; N[3 * i + 1] = n[1] / l; N[3 * i + 2] = n[2] / l;
    }
    const edges = new Map<string, number>(); const angles: number[] = [];
    for (let i = 0; i < nf; i++) for (let k = 0; k < 3; k++) {
      const u = F[3 * i + k], v = F[3 * i + (k + 1) % 3]; const key = u < v ? `${u},${v}` : `${v},${u}`;
      const j = edges.get(key);
      if (j === undefined) edges.set(key, i); else { const d = N[3 * i] * N[3 * j] + N[3 * i + 1] * N[3 * j + 1] + N[3 * i + 2] * N[3 * j + 2]; angles.push(Math.acos(Math.max(-1, Math.min(1, d))) * 180 / Math.PI); }
    }
    angles.sort((x, y) => x - y);
    const mean = angles.reduce((s, x) => s + x, 0) / angles.length;
    console.log(`${f} ${name}: faces ${nf}, dihedral mean ${mean.toFixed(2)} deg, median ${angles[angles.length >> 1].toFixed(2)}, p90 ${angles[Math.floor(angles.length * 0.9)].toFixed(2)}`);
  }
}
