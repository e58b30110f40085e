/**
 * UV atlas: charts are connected groups of faces that share a dominant normal axis (±x, ±y, ±z), each projected
 * orthographically onto its axis plane (no distortion in the projection direction, no flips within a chart), then
 * packed as rectangles on shelves with `padding` texels between them, scaled to fill the atlas. Vertices are split
 * where a chart boundary runs, so every vertex has one uv (v = 0 at the top of the texture).
 */
import type { Mesh } from '../../core/mesh';

export interface AtlasMesh {
  positions: Float32Array;
  indices: Uint32Array;
  uvs: Float32Array;
  /** Index of the original vertex each output vertex copies (to carry attributes over). */
  sourceVertex: Uint32Array;
  charts: number;
  /** Fraction of the atlas covered by chart rectangles. */
  fill: number;
  texelsPerUnit: number;
}

export function buildAtlas(mesh: Mesh, atlasSize: number, padding = 4): AtlasMesh {
  const P = mesh.positions, I = mesh.indices;
  const faces = I.length / 3;
  // 1. Dominant axis per face.
  const axis = new Uint8Array(faces);
  const normals = new Float32Array(3 * faces);
  for (let f = 0; f < faces; f++) {
    const a = I[3 * f] * 3, b = I[3 * f + 1] * 3, c = I[3 * f + 2] * 3;
    const e1 = [P[b] - P[a], P[b + 1] - P[a + 1], P[b + 2] - P[a + 2]], e2 = [P[c] - P[a], P[c + 1] - P[a + 1], P[c + 2] - P[a + 2]];
    const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const len = Math.hypot(n[0], n[1], n[2]) || 1;
    normals.set([n[0] / len, n[1] / len, n[2] / len], 3 * f);
    const k = Math.abs(n[0]) >= Math.abs(n[1]) && Math.abs(n[0]) >= Math.abs(n[2]) ? 0 : Math.abs(n[1]) >= Math.abs(n[2]) ? 1 : 2;
    axis[f] = k * 2 + (n[k] >= 0 ? 0 : 1);
  }
  // 2. Charts: faces connected through an edge and sharing the axis.
  const edgeFaces = new Map<number, number[]>();
  const nv = P.length / 3;
  const edgeKey = (u: number, v: number) => (u < v ? u * nv + v : v * nv + u);
  for (let f = 0; f < faces; f++) {
    for (let k = 0; k < 3; k++) {
      const key = edgeKey(I[3 * f + k], I[3 * f + ((k + 1) % 3)]);
      const list = edgeFaces.get(key);
      if (list) list.push(f);
      else edgeFaces.set(key, [f]);
    }
  }
  smoothAxes(axis, normals, I, edgeFaces, edgeKey);
  const chart = new Int32Array(faces).fill(-1);
  let charts = 0;
  const stack: number[] = [];
  for (let seed = 0; seed < faces; seed++) {
    if (chart[seed] >= 0) continue;
    chart[seed] = charts;
    stack.push(seed);
    while (stack.length) {
      const f = stack.pop()!;
      for (let k = 0; k < 3; k++) {
        for (const g of edgeFaces.get(edgeKey(I[3 * f + k], I[3 * f + ((k + 1) % 3)]))!) {
          if (chart[g] < 0 && axis[g] === axis[seed]) {
            chart[g] = charts;
            stack.push(g);
          }
        }
      }
    }
    charts++;
  }
  // 3. Split vertices per chart and project.
  const vertexOf = new Map<number, number>();
  const positions: number[] = [], sourceVertex: number[] = [], local: number[] = [], vertexChart: number[] = [];
  const indices = new Uint32Array(I.length);
  for (let f = 0; f < faces; f++) {
    const c = chart[f];
    const k = axis[f] >> 1, sign = axis[f] & 1 ? -1 : 1;
    // plane axes with e_u x e_v = +axis (y,z for x; z,x for y; x,y for z); a negative axis flips e_u, so every
    // chart keeps the same orientation in uv
    const [ua, va] = k === 0 ? [1, 2] : k === 1 ? [2, 0] : [0, 1];
    for (let j = 0; j < 3; j++) {
      const v = I[3 * f + j];
      const key = c * nv + v;
      let out = vertexOf.get(key);
      if (out === undefined) {
        out = sourceVertex.length;
        vertexOf.set(key, out);
        sourceVertex.push(v);
        positions.push(P[3 * v], P[3 * v + 1], P[3 * v + 2]);
        local.push(sign * P[3 * v + ua], -P[3 * v + va]);
        vertexChart.push(c);
      }
      indices[3 * f + j] = out;
    }
  }
  // Chart rectangles in local units.
  const lo = Array.from({ length: charts }, () => [Infinity, Infinity]), hi = Array.from({ length: charts }, () => [-Infinity, -Infinity]);
  for (let v = 0; v < vertexChart.length; v++) {
    const c = vertexChart[v];
    lo[c][0] = Math.min(lo[c][0], local[2 * v]);
    lo[c][1] = Math.min(lo[c][1], local[2 * v + 1]);
    hi[c][0] = Math.max(hi[c][0], local[2 * v]);
    hi[c][1] = Math.max(hi[c][1], local[2 * v + 1]);
  }
  const area = lo.reduce((s, l, c) => s + (hi[c][0] - l[0]) * (hi[c][1] - l[1]), 0);
  // 4. Shelf packing; shrink the scale until everything fits.
  const order = Array.from({ length: charts }, (_, c) => c).sort((a, b) => hi[b][1] - lo[b][1] - (hi[a][1] - lo[a][1]));
  let scale = Math.sqrt((0.7 * atlasSize * atlasSize) / Math.max(area, 1e-12));
  let offsets: [number, number][] = [];
  let used = 0;
  for (let attempt = 0; attempt < 40; attempt++) {
    offsets = new Array(charts);
    let x = padding, y = padding, shelf = 0, ok = true;
    used = 0;
    for (const c of order) {
      const w = Math.ceil((hi[c][0] - lo[c][0]) * scale) + 1, h = Math.ceil((hi[c][1] - lo[c][1]) * scale) + 1;
      if (x + w + padding > atlasSize) {
        x = padding;
        y += shelf + padding;
        shelf = 0;
      }
      if (y + h + padding > atlasSize || w + 2 * padding > atlasSize) {
        ok = false;
        break;
      }
      offsets[c] = [x, y];
      used += w * h;
      x += w + padding;
      shelf = Math.max(shelf, h);
    }
    if (ok) break;
    scale *= 0.93;
  }
  const uvs = new Float32Array(vertexChart.length * 2);
  for (let v = 0; v < vertexChart.length; v++) {
    const c = vertexChart[v];
    uvs[2 * v] = (offsets[c][0] + 0.5 + (local[2 * v] - lo[c][0]) * scale) / atlasSize;
    uvs[2 * v + 1] = (offsets[c][1] + 0.5 + (local[2 * v + 1] - lo[c][1]) * scale) / atlasSize;
  }
  return { positions: new Float32Array(positions), indices, uvs, sourceVertex: new Uint32Array(sourceVertex), charts, fill: used / (atlasSize * atlasSize), texelsPerUnit: scale };
}

/** Unit vector of axis label l (0: +x, 1: -x, 2: +y, ...) dotted with a normal. */
function axisDot(l: number, normals: Float32Array, f: number): number {
  return (l & 1 ? -1 : 1) * normals[3 * f + (l >> 1)];
}

/**
 * Where a surface turns at about 45 degrees to the axes (and everywhere on a noisy fused mesh), the dominant axis flips
 * from face to face and makes thousands of slivers of charts: wasted atlas space, and texels a sliver's triangles do
 * not cover. A few rounds of majority voting give a face the label most of its neighbours have, as long as the face
 * still faces that axis well enough (cosine > 0.35: at most ~2.9x stretch, never a flip).
 */
function smoothAxes(axis: Uint8Array, normals: Float32Array, I: Uint32Array, edgeFaces: Map<number, number[]>, edgeKey: (u: number, v: number) => number): void {
  const faces = axis.length;
  const neighbours = new Int32Array(3 * faces).fill(-1);
  for (let f = 0; f < faces; f++) {
    for (let k = 0; k < 3; k++) {
      for (const g of edgeFaces.get(edgeKey(I[3 * f + k], I[3 * f + ((k + 1) % 3)]))!) if (g !== f) neighbours[3 * f + k] = g;
    }
  }
  const counts = new Uint8Array(6);
  for (let round = 0; round < 6; round++) {
    let changed = 0;
    for (let f = 0; f < faces; f++) {
      counts.fill(0);
      for (let k = 0; k < 3; k++) {
        const g = neighbours[3 * f + k];
        if (g >= 0) counts[axis[g]]++;
      }
      let best = axis[f];
      for (let l = 0; l < 6; l++) if (counts[l] > counts[best]) best = l;
      if (best !== axis[f] && counts[best] >= 2 && axisDot(best, normals, f) > 0.35) {
        axis[f] = best;
        changed++;
      }
    }
    if (!changed) break;
  }
}
