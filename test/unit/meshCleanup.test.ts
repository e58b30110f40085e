import { describe, expect, it } from 'vitest';
import { removeSmallComponents, type Mesh } from '../../src/core/mesh';
import { fillSmallHoles, SMALL_PIECE_FILTER } from '../../src/stages/texture/meshCleanup';

/** A closed UV sphere (welded poles), outward-facing triangles. */
function sphere(rings: number, segments: number): { positions: number[]; indices: number[] } {
  const positions: number[] = [0, 1, 0];
  for (let r = 1; r < rings; r++) {
    const th = (Math.PI * r) / rings;
    for (let s = 0; s < segments; s++) {
      const ph = (2 * Math.PI * s) / segments;
      positions.push(Math.sin(th) * Math.cos(ph), Math.cos(th), Math.sin(th) * Math.sin(ph));
    }
  }
  positions.push(0, -1, 0);
  const south = positions.length / 3 - 1;
  const at = (r: number, s: number) => 1 + (r - 1) * segments + (s % segments);
  const indices: number[] = [];
  for (let s = 0; s < segments; s++) indices.push(0, at(1, s + 1), at(1, s));
  for (let r = 1; r < rings - 1; r++) for (let s = 0; s < segments; s++) indices.push(at(r, s), at(r, s + 1), at(r + 1, s + 1), at(r, s), at(r + 1, s + 1), at(r + 1, s));
  for (let s = 0; s < segments; s++) indices.push(south, at(rings - 1, s), at(rings - 1, s + 1));
  return { positions, indices };
}

function halfEdges(I: Uint32Array): { boundary: number; duplicated: number } {
  const count = new Map<string, number>();
  for (let t = 0; t < I.length; t += 3) for (let k = 0; k < 3; k++) {
    const id = `${I[t + k]},${I[t + ((k + 1) % 3)]}`;
    count.set(id, (count.get(id) ?? 0) + 1);
  }
  let boundary = 0, duplicated = 0;
  for (const [id, n] of count) {
    const [a, b] = id.split(',');
    if (n > 1) duplicated++;
    if (!count.has(`${b},${a}`)) boundary++;
  }
  return { boundary, duplicated };
}

function signedVolume(P: Float32Array, I: Uint32Array): number {
  let v = 0;
  for (let t = 0; t < I.length; t += 3) {
    const [a, b, c] = [I[t], I[t + 1], I[t + 2]].map((i) => [P[3 * i], P[3 * i + 1], P[3 * i + 2]]);
    v += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6;
  }
  return v;
}

describe('mesh cleanup before decimation', () => {
  it('drops components below 1% of the largest area, keeps the rest, compacts vertices', () => {
    const big = sphere(16, 32); // area ~4π
    const parts = [big, sphere(4, 6), sphere(6, 8)];
    // The second sphere scaled to radius 0.05 (area ~0.25% of the big one), the third to 0.2 (~4%).
    const scales = [1, 0.05, 0.2], offsets = [0, 3, -3];
    const positions: number[] = [], indices: number[] = [];
    parts.forEach((p, k) => {
      const base = positions.length / 3;
      for (let i = 0; i < p.positions.length; i += 3) positions.push(p.positions[i] * scales[k] + offsets[k], p.positions[i + 1] * scales[k], p.positions[i + 2] * scales[k]);
      indices.push(...p.indices.map((i) => i + base));
    });
    const mesh: Mesh = { positions: new Float32Array(positions), indices: new Uint32Array(indices), colors: new Uint8Array(positions.length).fill(7) };
    const out = removeSmallComponents(mesh, SMALL_PIECE_FILTER);
    expect(out.components).toBe(3);
    expect(out.keptComponents).toBe(2);
    expect(out.removedFaces).toBe(parts[1].indices.length / 3);
    expect(out.indices.length).toBe((parts[0].indices.length + parts[2].indices.length));
    expect(out.positions.length).toBe(parts[0].positions.length + parts[2].positions.length);
    expect(out.colors!.length).toBe(out.positions.length);
    expect(Math.max(...out.indices)).toBe(out.positions.length / 3 - 1);
    // Nothing of the small sphere (around x = 3) is left.
    for (let i = 0; i < out.positions.length; i += 3) expect(out.positions[i]).toBeLessThan(2);
    // A stricter fraction drops the medium one too.
    const strict = removeSmallComponents(mesh, { by: 'area', minFraction: 0.1 });
    expect(strict.components).toBe(3);
    expect(strict.keptComponents).toBe(1);
    expect(strict.indices.length).toBe(parts[0].indices.length);
  });

  it('fills holes of up to N boundary edges, consistently oriented, and leaves larger ones open', () => {
    const s = sphere(16, 40);
    const full = { positions: new Float32Array(s.positions), indices: new Uint32Array(s.indices) };
    // Small holes: one face removed (3 edges) and two adjacent faces removed (a quad, 4 edges), both at the equator.
    // Large hole: the north cap (the 40 pole triangles: a 40-edge loop).
    const mid = 40 * 3 + 7 * 40 * 6; // first face of ring 8
    const drop = new Set<number>([mid / 3, (mid + 60) / 3, (mid + 60) / 3 + 1]);
    for (let f = 0; f < 40; f++) drop.add(f);
    const indices: number[] = [];
    for (let f = 0; f < s.indices.length / 3; f++) if (!drop.has(f)) indices.push(s.indices[3 * f], s.indices[3 * f + 1], s.indices[3 * f + 2]);
    const holed: Mesh = { positions: full.positions, indices: new Uint32Array(indices) };
    expect(halfEdges(holed.indices).boundary).toBe(3 + 4 + 40);
    const out = fillSmallHoles(holed, 32);
    expect(out.holesFilled).toBe(2);
    expect(out.openLoops).toBe(1);
    const after = halfEdges(out.indices);
    expect(after.boundary).toBe(40); // only the cap's loop remains
    expect(after.duplicated).toBe(0); // fill triangles wind like their neighbours
    expect(out.positions.length).toBe(full.positions.length + 2 * 3);
    // With a larger N the cap closes too, and the mesh is watertight with the same outward orientation.
    const all = fillSmallHoles(holed, 64);
    expect(all.holesFilled).toBe(3);
    expect(halfEdges(all.indices)).toEqual({ boundary: 0, duplicated: 0 });
    expect(signedVolume(all.positions, all.indices) / signedVolume(full.positions, full.indices)).toBeGreaterThan(0.98);
  });

  it('leaves a loop through a vertex shared by two holes open (ambiguous), and changes nothing on a closed mesh', () => {
    const s = sphere(8, 12);
    const closed = fillSmallHoles({ positions: new Float32Array(s.positions), indices: new Uint32Array(s.indices) });
    expect(closed.holesFilled).toBe(0);
    expect(closed.indices.length).toBe(s.indices.length);
    // Two pole triangles that share only the pole vertex: two holes touching at one vertex.
    const indices = s.indices.filter((_, i) => Math.floor(i / 3) !== 0 && Math.floor(i / 3) !== 6);
    const out = fillSmallHoles({ positions: new Float32Array(s.positions), indices: new Uint32Array(indices) });
    expect(out.holesFilled).toBe(0);
    expect(halfEdges(out.indices).boundary).toBe(6);
  });
});
