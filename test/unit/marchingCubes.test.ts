import { describe, expect, it } from 'vitest';
import { marchingCubesCpu, type CpuVolume } from '../../src/stages/fusion/cpuReference';
import { EDGE_CORNERS, marchingCubesTable } from '../../src/stages/fusion/mcTable';
import type { VolumeSpec } from '../../src/stages/fusion/types';

/** Edge -> number of triangles using it. A closed, consistently oriented mesh uses every edge twice, once each way. */
function edgeUse(indices: Uint32Array) {
  const directed = new Map<string, number>();
  for (let f = 0; f < indices.length; f += 3) {
    for (let k = 0; k < 3; k++) {
      const a = indices[f + k], b = indices[f + ((k + 1) % 3)];
      directed.set(`${a},${b}`, (directed.get(`${a},${b}`) ?? 0) + 1);
    }
  }
  let open = 0, flipped = 0;
  for (const [key, count] of directed) {
    const [a, b] = key.split(',');
    const back = directed.get(`${b},${a}`) ?? 0;
    if (back === 0) open++;
    if (count > 1) flipped++;
  }
  return { open, flipped };
}

function sdfVolume(dims: [number, number, number], sdf: (x: number, y: number, z: number) => number, voxel: number): { spec: VolumeSpec; vol: CpuVolume } {
  const spec: VolumeSpec = { dims, origin: [0, 0, 0], voxelSize: voxel, truncation: 4 * voxel };
  const n = dims[0] * dims[1] * dims[2];
  const vol: CpuVolume = { tsdf: new Float32Array(n), weight: new Float32Array(n).fill(1), color: new Uint32Array(n) };
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) {
    vol.tsdf[x + dims[0] * (y + dims[1] * z)] = Math.max(-1, Math.min(1, sdf(x * voxel, y * voxel, z * voxel) / spec.truncation));
  }
  return { spec, vol };
}

describe('generated marching-cubes table', () => {
  const table = marchingCubesTable();
  it('has no triangles for empty and full cubes, and one for a single corner', () => {
    expect(table.triangleCount[0]).toBe(0);
    expect(table.triangleCount[255]).toBe(0);
    for (let c = 0; c < 8; c++) expect(table.triangleCount[1 << c]).toBe(1);
    expect(EDGE_CORNERS).toHaveLength(12);
  });
  it('crosses exactly the edges whose corners differ', () => {
    for (let config = 0; config < 256; config++) {
      let mask = 0;
      EDGE_CORNERS.forEach(([a, b], e) => {
        if (((config >> a) & 1) !== ((config >> b) & 1)) mask |= 1 << e;
      });
      expect(table.edgeMask[config]).toBe(mask);
    }
  });
  it('gives a closed, consistently oriented sphere (Euler characteristic 2) with outward normals', () => {
    const r = 0.37;
    const { spec, vol } = sdfVolume([33, 31, 29], (x, y, z) => Math.hypot(x - 0.5, y - 0.47, z - 0.44) - r, 1 / 30);
    const mesh = marchingCubesCpu(spec, vol);
    expect(mesh.indices.length).toBeGreaterThan(1000);
    expect(edgeUse(mesh.indices)).toEqual({ open: 0, flipped: 0 });
    const edges = new Set<string>();
    for (let f = 0; f < mesh.indices.length; f += 3) for (let k = 0; k < 3; k++) {
      const a = mesh.indices[f + k], b = mesh.indices[f + ((k + 1) % 3)];
      edges.add(a < b ? `${a},${b}` : `${b},${a}`);
    }
    expect(mesh.positions.length / 3 - edges.size + mesh.indices.length / 3).toBe(2);
    // Vertices lie on the sphere, triangle normals point outwards.
    let worst = 0, inward = 0;
    const P = mesh.positions;
    for (let v = 0; v < P.length; v += 3) worst = Math.max(worst, Math.abs(Math.hypot(P[v] - 0.5, P[v + 1] - 0.47, P[v + 2] - 0.44) - r));
    for (let f = 0; f < mesh.indices.length; f += 3) {
      const [a, b, c] = [0, 1, 2].map((k) => mesh.indices[f + k] * 3);
      const e1 = [0, 1, 2].map((k) => P[b + k] - P[a + k]), e2 = [0, 1, 2].map((k) => P[c + k] - P[a + k]);
      const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
      const out = [P[a] - 0.5, P[a + 1] - 0.47, P[a + 2] - 0.44];
      if (n[0] * out[0] + n[1] * out[1] + n[2] * out[2] < 0) inward++;
    }
    expect(inward).toBe(0);
    expect(worst).toBeLessThan(0.01 / 30 * 30 * 0.1); // well under a tenth of a voxel
  });
  it('stays watertight on an ambiguous shape (two touching tori and a thin plate)', () => {
    const torus = (x: number, y: number, z: number, cx: number) => Math.hypot(Math.hypot(x - cx, y - 0.5) - 0.22, z - 0.5) - 0.07;
    const { spec, vol } = sdfVolume([41, 41, 41], (x, y, z) => Math.min(torus(x, y, z, 0.35), torus(z, y, x, 0.62), Math.max(Math.abs(y - 0.8) - 0.011, Math.hypot(x - 0.5, z - 0.5) - 0.3)), 1 / 40);
    const mesh = marchingCubesCpu(spec, vol);
    expect(mesh.indices.length).toBeGreaterThan(3000);
    expect(edgeUse(mesh.indices)).toEqual({ open: 0, flipped: 0 });
  });
});
