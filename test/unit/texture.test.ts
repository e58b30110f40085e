import { describe, expect, it } from 'vitest';
import { buildAtlas, type AtlasMesh } from '../../src/stages/texture/atlas';
import { atlasQuality } from '../../src/stages/texture/atlasQuality';
import { ATLAS_SIZE, decimateMesh, FACE_BUDGET } from '../../src/stages/texture/decimate';
import { fillEmptyTexels } from '../../src/stages/texture/fill';
import { mipChain } from '../../src/stages/render/renderMesh';
import { facadeMesh, sphereMesh } from './atlasMeshes';

/** Chart of each face: faces sharing an output vertex are in one chart (vertices are split at chart borders). */
function faceCharts(atlas: AtlasMesh): Int32Array {
  const parent = Int32Array.from({ length: atlas.positions.length / 3 }, (_, v) => v);
  const root = (v: number): number => {
    while (parent[v] !== v) v = parent[v] = parent[parent[v]];
    return v;
  };
  const I = atlas.indices;
  for (let i = 0; i < I.length; i += 3) {
    parent[root(I[i + 1])] = root(I[i]);
    parent[root(I[i + 2])] = root(I[i]);
  }
  return Int32Array.from({ length: I.length / 3 }, (_, f) => root(I[3 * f]));
}

/** Smallest distance (texels) between texel centres inside triangles of two different charts, up to `limit`. */
function closestForeignTexels(atlas: AtlasMesh, size: number, limit: number): number {
  const chartOf = faceCharts(atlas);
  const owner = new Int32Array(size * size).fill(-1);
  const U = atlas.uvs, I = atlas.indices;
  for (let f = 0; f < I.length / 3; f++) {
    const p = [0, 1, 2].map((k) => [U[2 * I[3 * f + k]] * size, U[2 * I[3 * f + k] + 1] * size]);
    const area = (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (p[1][1] - p[0][1]);
    if (Math.abs(area) < 1e-12) continue;
    const x0 = Math.floor(Math.min(...p.map((q) => q[0]))), x1 = Math.ceil(Math.max(...p.map((q) => q[0])));
    const y0 = Math.floor(Math.min(...p.map((q) => q[1]))), y1 = Math.ceil(Math.max(...p.map((q) => q[1])));
    for (let y = Math.max(0, y0); y <= Math.min(size - 1, y1); y++) for (let x = Math.max(0, x0); x <= Math.min(size - 1, x1); x++) {
      const cx = x + 0.5, cy = y + 0.5;
      const w0 = ((p[1][0] - cx) * (p[2][1] - cy) - (p[2][0] - cx) * (p[1][1] - cy)) / area;
      const w1 = ((p[2][0] - cx) * (p[0][1] - cy) - (p[0][0] - cx) * (p[2][1] - cy)) / area;
      if (w0 >= 0 && w1 >= 0 && 1 - w0 - w1 >= 0) owner[y * size + x] = chartOf[f];
    }
  }
  let closest = limit;
  const r = Math.ceil(limit);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const c = owner[y * size + x];
    if (c < 0) continue;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
      const X = x + dx, Y = y + dy;
      if (X < 0 || Y < 0 || X >= size || Y >= size) continue;
      const o = owner[Y * size + X];
      if (o >= 0 && o !== c) closest = Math.min(closest, Math.hypot(dx, dy));
    }
  }
  return closest;
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

  it('unwraps a noisy fused facade: no overlaps, charts padded, most texels used, little stretch', async () => {
    const mesh = facadeMesh(0.04);
    expect(mesh.indices.length / 3).toBeGreaterThan(30000);
    const size = 1024;
    const atlas = buildAtlas(mesh, size, 4);
    const q = atlasQuality(atlas.positions, atlas.indices, atlas.uvs, size, atlas.texelsPerUnit);
    // the charts reach around the pilasters' noisy steps onto ledges that overhang the wall; the fold-over check
    // must split them
    expect(q.overlaps).toBe(0);
    expect(q.flipped).toBe(0);
    // shape packing of region-grown charts: the axis charts packed by bounding box covered 0.40 here
    expect(q.covered).toBeGreaterThan(0.6);
    expect(Math.abs(atlas.fill - q.covered)).toBeLessThan(0.03);
    expect(atlas.charts).toBeLessThan(mesh.indices.length / 3 / 50);
    // orthographic projection within a ~41 degree cone: stretch up to 1.33 on most of the surface
    expect(q.angleStretchP95).toBeLessThan(1.5);
    expect(q.areaScale).toBeGreaterThan(0.8);
    // every texel centre of one chart at least `padding` texels from any other chart's
    expect(closestForeignTexels(atlas, size, 5)).toBeGreaterThanOrEqual(4);
    for (const u of atlas.uvs) {
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
    for (let v = 0; v < atlas.sourceVertex.length; v++) {
      const s = atlas.sourceVertex[v];
      expect(atlas.positions[3 * v]).toBe(mesh.positions[3 * s]);
    }
  }, 60_000);

  it('searches the texel density on the rasterised footprint: thousands of small charts pack in two packings', async () => {
    // A noisy facade decimated to the draft budget: ~2.5k charts, where the padding rings are a large share of the
    // atlas. Scaling the density by sqrt(grid / packed rows) packed it three times (lego's 13k charts: five).
    const mesh = await decimateMesh(facadeMesh(0.0125), FACE_BUDGET.draft);
    const atlas = buildAtlas(mesh, ATLAS_SIZE.draft, 4);
    const q = atlasQuality(atlas.positions, atlas.indices, atlas.uvs, ATLAS_SIZE.draft, atlas.texelsPerUnit);
    console.log(`[atlas] draft facade: ${atlas.charts} charts, ${atlas.packAttempts} packings, covered ${q.covered.toFixed(3)}`);
    expect(atlas.charts).toBeGreaterThan(1500);
    expect(atlas.packAttempts).toBeLessThanOrEqual(2);
    expect(q.overlaps).toBe(0);
    expect(q.covered).toBeGreaterThan(0.6);
  }, 60_000);
  it('packs more charts than the coarse packing grid has room for (lego at high: 75,811 charts on 4096^2)', () => {
    // 100k separate triangles = 100k charts. On the default 512-cell grid of a 2048 atlas each chart takes at least a
    // cell plus its share of the padding ring: more than the 262k cells, so no density fits; a finer cell must be chosen.
    const n = 100_000, positions = new Float32Array(9 * n), indices = Uint32Array.from({ length: 3 * n }, (_, k) => k);
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let f = 0; f < n; f++) {
      const x = rand() * 10, y = rand() * 10, z = rand() * 10, s = 0.01 + 0.02 * rand();
      positions.set([x, y, z, x + s, y, z, x, y + s, z + 0.3 * s], 9 * f);
    }
    const atlas = buildAtlas({ positions, indices }, 2048, 4);
    const q = atlasQuality(atlas.positions, atlas.indices, atlas.uvs, 2048, atlas.texelsPerUnit);
    expect(atlas.charts).toBe(n);
    expect(q.overlaps).toBe(0);
    expect(atlas.texelsPerUnit).toBeGreaterThan(0);
  }, 120_000);
});

describe('texture fill outside the charts', () => {
  /** A 64x64 atlas, empty (alpha 0) but for two square charts of two colours. */
  function twoCharts(): Uint8Array {
    const n = 64, data = new Uint8Array(n * n * 4);
    const put = (x0: number, y0: number, side: number, rgb: number[]) => {
      for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) data.set([...rgb, 255], 4 * (y * n + x));
    };
    put(4, 4, 12, [200, 40, 10]);
    put(40, 30, 20, [20, 180, 240]);
    return data;
  }

  it('fills every empty texel with its nearest chart colour, leaves chart texels as they were, and makes the atlas opaque', () => {
    const data = twoCharts(), before = data.slice();
    fillEmptyTexels(data, 64, 64);
    for (let i = 0; i < 64 * 64; i++) {
      expect(data[4 * i + 3]).toBe(255);
      if (before[4 * i + 3]) expect([...data.subarray(4 * i, 4 * i + 3)]).toEqual([...before.subarray(4 * i, 4 * i + 3)]);
      // one of the two charts' colours
      else expect([[200, 40, 10], [20, 180, 240]]).toContainEqual([...data.subarray(4 * i, 4 * i + 3)]);
    }
    // the nearest chart's colour: left of the blue chart's middle, and right of the red one's
    expect([...data.subarray(4 * (40 * 64 + 36), 4 * (40 * 64 + 36) + 3)]).toEqual([20, 180, 240]);
    expect([...data.subarray(4 * (6 * 64 + 20), 4 * (6 * 64 + 20) + 3)]).toEqual([200, 40, 10]);
    // next to a chart, its own colour
    expect([...data.subarray(4 * (10 * 64 + 17), 4 * (10 * 64 + 17) + 3)]).toEqual([200, 40, 10]);
  });

  it('keeps the mip levels a viewer samples free of black: a one-colour chart stays that colour at every level', () => {
    const n = 64, data = new Uint8Array(n * n * 4);
    for (let y = 20; y < 27; y++) for (let x = 33; x < 41; x++) data.set([90, 160, 30, 255], 4 * (y * n + x));
    fillEmptyTexels(data, n, n);
    for (const level of mipChain({ width: n, height: n, data })) {
      for (let i = 0; i < level.width * level.height; i++) expect([...level.data.subarray(4 * i, 4 * i + 4)]).toEqual([90, 160, 30, 255]);
    }
  });

  it('builds the mip chain WebGPU expects: sides halved down to 1 and 2x2 box averages', () => {
    const data = new Uint8Array(6 * 3 * 4).map((_, i) => (i * 7) % 256);
    const chain = mipChain({ width: 6, height: 3, data });
    expect(chain.map((l) => [l.width, l.height])).toEqual([[6, 3], [3, 1], [1, 1]]);
    // level 1 texel 1 = mean of level 0 texels (2,0), (3,0), (2,1), (3,1)
    const at = (x: number, y: number, c: number) => data[4 * (y * 6 + x) + c];
    for (let c = 0; c < 4; c++) expect(chain[1].data[4 + c]).toBe(Math.round((at(2, 0, c) + at(3, 0, c) + at(2, 1, c) + at(3, 1, c)) / 4));
  });
});
