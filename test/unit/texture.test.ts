import { describe, expect, it } from 'vitest';
import { marchingCubesCpu, type CpuVolume } from '../../src/stages/fusion/cpuReference';
import { buildAtlas } from '../../src/stages/texture/atlas';
import { decimateMesh } from '../../src/stages/texture/decimate';

function sphereMesh() {
  const dims: [number, number, number] = [40, 40, 40];
  const voxel = 1 / 39;
  const n = 40 ** 3;
  const vol: CpuVolume = { tsdf: new Float32Array(n), weight: new Float32Array(n).fill(1), color: new Uint32Array(n) };
  for (let z = 0; z < 40; z++) for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) {
    vol.tsdf[x + 40 * (y + 40 * z)] = Math.max(-1, Math.min(1, (Math.hypot(x * voxel - 0.5, y * voxel - 0.5, z * voxel - 0.5) - 0.35) / (4 * voxel)));
  }
  return marchingCubesCpu({ dims, origin: [0, 0, 0], voxelSize: voxel, truncation: 4 * voxel }, vol);
}

describe('texture stage geometry', () => {
  it('decimates to the face budget and keeps the shape', async () => {
    const mesh = sphereMesh();
    expect(mesh.indices.length / 3).toBeGreaterThan(6000);
    const out = await decimateMesh(mesh, 2000);
    expect(out.indices.length / 3).toBeLessThanOrEqual(2000);
    expect(out.indices.length / 3).toBeGreaterThan(1500);
    let worst = 0;
    for (let v = 0; v < out.positions.length; v += 3) worst = Math.max(worst, Math.abs(Math.hypot(out.positions[v] - 0.5, out.positions[v + 1] - 0.5, out.positions[v + 2] - 0.5) - 0.35));
    expect(worst).toBeLessThan(0.01);
    for (const i of out.indices) expect(i).toBeLessThan(out.positions.length / 3);
  });

  it('builds an atlas: every uv inside, charts do not overlap, no triangle flipped within its chart', async () => {
    const mesh = await decimateMesh(sphereMesh(), 3000);
    const size = 512;
    const atlas = buildAtlas(mesh, size, 4);
    expect(atlas.charts).toBeGreaterThanOrEqual(6);
    expect(atlas.fill).toBeGreaterThan(0.3);
    for (const u of atlas.uvs) {
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
    // Rasterise every triangle's uv footprint at texel centres: no texel is covered by two triangles of different charts.
    const owner = new Int32Array(size * size).fill(-1);
    const U = atlas.uvs, I = atlas.indices;
    let overlaps = 0, signs = new Set<number>();
    for (let f = 0; f < I.length / 3; f++) {
      const p = [0, 1, 2].map((k) => [U[2 * I[3 * f + k]] * size, U[2 * I[3 * f + k] + 1] * size]);
      const area = (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (p[1][1] - p[0][1]);
      if (Math.abs(area) > 1e-9) signs.add(Math.sign(area));
      const x0 = Math.floor(Math.min(...p.map((q) => q[0]))), x1 = Math.ceil(Math.max(...p.map((q) => q[0])));
      const y0 = Math.floor(Math.min(...p.map((q) => q[1]))), y1 = Math.ceil(Math.max(...p.map((q) => q[1])));
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
        const cx = x + 0.5, cy = y + 0.5;
        const w0 = ((p[1][0] - cx) * (p[2][1] - cy) - (p[2][0] - cx) * (p[1][1] - cy)) / area;
        const w1 = ((p[2][0] - cx) * (p[0][1] - cy) - (p[0][0] - cx) * (p[2][1] - cy)) / area;
        if (w0 < 1e-6 || w1 < 1e-6 || 1 - w0 - w1 < 1e-6) continue;
        const i = y * size + x;
        if (owner[i] >= 0 && owner[i] !== f) overlaps++;
        owner[i] = f;
      }
    }
    expect(overlaps).toBe(0);
    expect(signs.size).toBe(1); // one consistent orientation: no flipped triangles
    expect(atlas.positions.length / 3).toBeGreaterThanOrEqual(mesh.positions.length / 3);
  });
});
