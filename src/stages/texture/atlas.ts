/**
 * UV atlas: our own unwrapper. The xatlas builds on npm (xatlas-wasm, xatlasjs, xatlas-web, xatlas-three) are
 * single-release packages, and xatlas-wasm (wasm inlined, so it would bundle into the worker) needed minutes of CPU
 * for a 200k-face fused mesh in Node. Four steps:
 *
 * 1. Charts by region growing over the face adjacency: seeds are taken from the flattest faces first, and a chart
 *    takes the neighbouring face whose normal is closest to the chart's running (area-weighted) normal, as long as
 *    it stays within a cone of it (cos >= CONE_COS). Small charts left on noise are merged into a neighbour they
 *    still face; charts are then split into connected pieces.
 * 2. Each chart is projected orthographically onto the plane of its normal (a face within the cone is stretched at
 *    most 1/CONE_COS, never flipped). A chart whose projection still folds over itself (it reached around a step,
 *    e.g. onto a ledge that overhangs the wall it grew from) is grown again on that plane with every new face tested
 *    against the texels the piece already covers. Charts are rotated to their minimum-area bounding rectangle.
 * 3. Every chart gets the same texel density (texels per world unit): charts are rasterised conservatively into a
 *    bitmap of cells of a few texels, dilated by the padding, and packed by shape (not by bounding box), largest
 *    first, at the first free place in scan order; the density is searched until the packed height just fits.
 * 4. Vertices are split where a chart boundary runs, so every vertex has one uv (v = 0 at the top of the texture).
 */
import type { Mesh } from '../../core/mesh';

export interface AtlasMesh {
  positions: Float32Array;
  indices: Uint32Array;
  uvs: Float32Array;
  /** Index of the original vertex each output vertex copies (to carry attributes over). */
  sourceVertex: Uint32Array;
  charts: number;
  /** Fraction of the atlas area covered by the triangles (uv area / atlas area): the share of texels that carry surface. */
  fill: number;
  /** Texels per world unit along the surface (the same for every chart, before the projection's cosine). */
  texelsPerUnit: number;
  /** Densities tried by the packer (each a full packing of every chart): what the atlas's time mostly scales with. */
  packAttempts: number;
}

/** A chart grows while a face is within ~41 degrees of its normal: orthographic stretch at most 1.33. */
const CONE_COS = 0.75;
/**
 * Charts of fewer faces than this (noise) join the neighbour chart that all their faces still face this well (cos
 * 0.35: at most ~2.9x stretch on those faces); charts of one to three faces, spikes of noise on a decimated fused
 * mesh, join at any cos above 0.1: their few texels are stretched, but each chart of its own would cost a ring of
 * padding many times its area (two thousand of them on a noisy 50k-face facade took ~7% of the atlas).
 */
const SMALL_CHART_FACES = 16;
const MERGE_COS = 0.35;
const TINY_CHART_FACES = 4;
const TINY_MERGE_COS = 0.1;
/** After merging, a face that faces its chart's final normal less than this leaves the chart (never a flip). */
const KEEP_COS = 0.05;

export function buildAtlas(mesh: Mesh, atlasSize: number, padding = 4): AtlasMesh {
  const P = mesh.positions, I = mesh.indices;
  const faces = I.length / 3;
  const nv = P.length / 3;
  const { normals, areas } = faceGeometry(P, I);
  const neighbours = faceNeighbours(I, nv);
  // 1. Segmentation.
  const chart = new Int32Array(faces).fill(-1);
  const seedOrder = flattestFirst(normals, areas, neighbours);
  const seedRank = new Int32Array(faces);
  for (let k = 0; k < faces; k++) seedRank[seedOrder[k]] = k;
  let labels = growCharts(chart, 0, seedOrder, normals, areas, neighbours);
  labels = mergeSmallCharts(chart, labels, normals, areas, neighbours);
  labels = detachOutliers(chart, labels, normals, areas);
  labels = connectedCharts(chart, neighbours);
  // 2. Projection; folded charts are grown again piecewise on their plane.
  const plane = new Int32Array(faces).fill(-1);
  const planes: number[] = [];
  let projected = projectCharts(P, I, chart, labels, normals, areas, plane, planes);
  for (let attempt = 0; ; attempt++) {
    const folded = projected.filter((c) => chartOverlaps(c));
    if (!folded.length) break;
    for (const c of folded) {
      for (const f of c.faces) chart[f] = -1;
      if (attempt === 0) labels = growPiecewise(chart, labels, c, P, I, seedRank, neighbours, plane, planes);
      else for (const f of c.faces) chart[f] = labels++; // single triangles never fold
    }
    labels = connectedCharts(chart, neighbours);
    projected = projectCharts(P, I, chart, labels, normals, areas, plane, planes);
  }
  // 3. Packing.
  const packed = packCharts(projected, atlasSize, padding);
  // 4. Output vertices, split per chart.
  const slot = new Int32Array(nv);
  const positions = new Float32Array(3 * projected.reduce((s, c) => s + c.vertices.length, 0));
  const uvs = new Float32Array((positions.length / 3) * 2);
  const sourceVertex = new Uint32Array(positions.length / 3);
  const indices = new Uint32Array(I.length);
  let uvArea = 0, out = 0;
  for (const [k, c] of projected.entries()) {
    const [ox, oy] = packed.offsets[k];
    for (let j = 0; j < c.vertices.length; j++, out++) {
      const v = c.vertices[j];
      slot[v] = out;
      sourceVertex[out] = v;
      positions.set(P.subarray(3 * v, 3 * v + 3), 3 * out);
      uvs[2 * out] = (ox + c.uv[2 * j] * packed.scale) / atlasSize;
      uvs[2 * out + 1] = (oy + c.uv[2 * j + 1] * packed.scale) / atlasSize;
    }
    for (const f of c.faces) for (let j = 0; j < 3; j++) indices[3 * f + j] = slot[I[3 * f + j]];
    uvArea += c.uvArea;
  }
  return { positions, indices, uvs, sourceVertex, charts: projected.length, fill: (uvArea * packed.scale * packed.scale) / (atlasSize * atlasSize), texelsPerUnit: packed.scale, packAttempts: packed.attempts };
}

function faceGeometry(P: Float32Array, I: Uint32Array): { normals: Float64Array; areas: Float64Array } {
  const faces = I.length / 3;
  const normals = new Float64Array(3 * faces), areas = new Float64Array(faces);
  for (let f = 0; f < faces; f++) {
    const a = 3 * I[3 * f], b = 3 * I[3 * f + 1], c = 3 * I[3 * f + 2];
    const e1x = P[b] - P[a], e1y = P[b + 1] - P[a + 1], e1z = P[b + 2] - P[a + 2];
    const e2x = P[c] - P[a], e2y = P[c + 1] - P[a + 1], e2z = P[c + 2] - P[a + 2];
    const nx = e1y * e2z - e1z * e2y, ny = e1z * e2x - e1x * e2z, nz = e1x * e2y - e1y * e2x;
    const len = Math.hypot(nx, ny, nz);
    areas[f] = len / 2;
    if (len > 0) {
      normals[3 * f] = nx / len;
      normals[3 * f + 1] = ny / len;
      normals[3 * f + 2] = nz / len;
    }
  }
  return { normals, areas };
}

/** The face across each edge (k: edge from corner k to k+1), -1 on a border; a non-manifold edge keeps one neighbour. */
function faceNeighbours(I: Uint32Array, nv: number): Int32Array {
  const faces = I.length / 3;
  const neighbours = new Int32Array(3 * faces).fill(-1);
  const open = new Map<number, number>();
  for (let f = 0; f < faces; f++) {
    for (let k = 0; k < 3; k++) {
      const u = I[3 * f + k], v = I[3 * f + ((k + 1) % 3)];
      const key = u < v ? u * nv + v : v * nv + u;
      const other = open.get(key);
      if (other === undefined) open.set(key, 3 * f + k);
      else if (other >= 0) {
        neighbours[3 * f + k] = Math.floor(other / 3);
        neighbours[other] = f;
        open.set(key, -1);
      }
    }
  }
  return neighbours;
}

/** Faces ordered by how well they agree with their neighbours' normals: seeds start in flat regions, not on noise. */
function flattestFirst(normals: Float64Array, areas: Float64Array, neighbours: Int32Array): Int32Array {
  const faces = areas.length;
  const score = new Float64Array(faces);
  for (let f = 0; f < faces; f++) {
    let s = 0;
    for (let k = 0; k < 3; k++) {
      const g = neighbours[3 * f + k];
      if (g >= 0) s += dot(normals, f, normals, g);
    }
    score[f] = areas[f] > 0 ? s : -4;
  }
  // counting sort on the score quantised to 1/4096 (scores lie in [-4, 3])
  const bucket = (f: number) => Math.max(0, Math.min(32767, Math.round((3 - score[f]) * 4096)));
  const start = new Int32Array(32769);
  for (let f = 0; f < faces; f++) start[bucket(f) + 1]++;
  for (let k = 0; k < 32768; k++) start[k + 1] += start[k];
  const order = new Int32Array(faces);
  for (let f = 0; f < faces; f++) order[start[bucket(f)]++] = f;
  return order;
}

function dot(a: Float64Array, i: number, b: Float64Array, j: number): number {
  return a[3 * i] * b[3 * j] + a[3 * i + 1] * b[3 * j + 1] + a[3 * i + 2] * b[3 * j + 2];
}

/** Binary min-heap of (cost, face). */
class Heap {
  private keys = new Float64Array(64);
  private values = new Int32Array(64);
  size = 0;
  push(key: number, value: number): void {
    if (this.size === this.keys.length) {
      const keys = new Float64Array(2 * this.size), values = new Int32Array(2 * this.size);
      keys.set(this.keys);
      values.set(this.values);
      this.keys = keys;
      this.values = values;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p] <= key) break;
      this.keys[i] = this.keys[p];
      this.values[i] = this.values[p];
      i = p;
    }
    this.keys[i] = key;
    this.values[i] = value;
  }
  pop(): number {
    const top = this.values[0];
    const key = this.keys[--this.size], value = this.values[this.size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && this.keys[c + 1] < this.keys[c]) c++;
      if (this.keys[c] >= key) break;
      this.keys[i] = this.keys[c];
      this.values[i] = this.values[c];
      i = c;
    }
    this.keys[i] = key;
    this.values[i] = value;
    return top;
  }
}

/**
 * Gives every face with chart -1 a chart: grown from seeds in `seedOrder`, cheapest face (closest to the chart's
 * running normal) first, within the cone. Zero-area faces join any neighbour chart (they hold no texels).
 * Returns the next free label.
 */
function growCharts(chart: Int32Array, firstLabel: number, seedOrder: Int32Array, normals: Float64Array, areas: Float64Array, neighbours: Int32Array): number {
  let label = firstLabel;
  const heap = new Heap();
  for (const seed of seedOrder) {
    if (chart[seed] >= 0) continue;
    const c = label++;
    chart[seed] = c;
    if (areas[seed] === 0) continue;
    let sx = normals[3 * seed] * areas[seed], sy = normals[3 * seed + 1] * areas[seed], sz = normals[3 * seed + 2] * areas[seed];
    let len = Math.hypot(sx, sy, sz);
    heap.size = 0;
    const offer = (f: number) => {
      for (let k = 0; k < 3; k++) {
        const g = neighbours[3 * f + k];
        if (g < 0 || chart[g] >= 0) continue;
        heap.push(areas[g] === 0 ? -1 : 1 - (normals[3 * g] * sx + normals[3 * g + 1] * sy + normals[3 * g + 2] * sz) / len, g);
      }
    };
    offer(seed);
    while (heap.size) {
      const g = heap.pop();
      if (chart[g] >= 0) continue;
      if (areas[g] > 0) {
        // the chart normal has moved since g was offered: test against the current one
        if ((normals[3 * g] * sx + normals[3 * g + 1] * sy + normals[3 * g + 2] * sz) / len < CONE_COS) continue;
        sx += normals[3 * g] * areas[g];
        sy += normals[3 * g + 1] * areas[g];
        sz += normals[3 * g + 2] * areas[g];
        len = Math.hypot(sx, sy, sz);
      }
      chart[g] = c;
      offer(g);
    }
  }
  return label;
}

/**
 * Grows the faces of a folded chart again as pieces projected on the folded chart's own plane: a piece takes a
 * neighbouring face only if the face's projection overlaps none of the piece's triangles. Faces are tagged with the
 * plane (plane/planes) so that projectCharts projects the pieces on it. Returns the next label.
 */
function growPiecewise(chart: Int32Array, firstLabel: number, folded: ProjectedChart, P: Float32Array, I: Uint32Array, seedRank: Int32Array, neighbours: Int32Array, plane: Int32Array, planes: number[]): number {
  const p = planes.length / 3;
  planes.push(...folded.normal);
  const [tx, ty, tz, bx, by, bz] = folded.basis;
  const member = new Set<number>(folded.faces);
  const tri = (f: number) => {
    const t = new Float64Array(6);
    for (let j = 0; j < 3; j++) {
      const v = 3 * I[3 * f + j];
      t[2 * j] = P[v] * tx + P[v + 1] * ty + P[v + 2] * tz;
      t[2 * j + 1] = -(P[v] * bx + P[v + 1] * by + P[v + 2] * bz);
    }
    return t;
  };
  const cellSize = 3 * Math.sqrt(folded.uvArea / folded.faces.length) || 1;
  let label = firstLabel;
  const queue: number[] = [];
  // seeds in the global flattest-first order, but only the folded chart's own faces (scanning every face of the
  // mesh per folded chart was quadratic: 7.6 s of a 200k-face atlas)
  const seeds = Int32Array.from(folded.faces).sort((a, b) => seedRank[a] - seedRank[b]);
  for (const seed of seeds) {
    if (chart[seed] >= 0) continue;
    const c = label++;
    const index = new TriangleIndex(cellSize);
    queue.length = 0;
    queue.push(seed);
    chart[seed] = c;
    plane[seed] = p;
    index.add(tri(seed));
    for (let q = 0; q < queue.length; q++) {
      const f = queue[q];
      for (let k = 0; k < 3; k++) {
        const g = neighbours[3 * f + k];
        if (g < 0 || chart[g] >= 0 || !member.has(g)) continue;
        const t = tri(g);
        if (index.overlaps(t)) continue;
        index.add(t);
        chart[g] = c;
        plane[g] = p;
        queue.push(g);
      }
    }
  }
  return label;
}

/** 2D triangles (x0 y0 x1 y1 x2 y2) in a uniform grid, for overlap queries. */
class TriangleIndex {
  private cells = new Map<number, Float64Array[]>();
  constructor(private size: number) {}
  private visit(t: Float64Array, fn: (list: Float64Array[] | undefined, key: number) => boolean): boolean {
    const s = this.size;
    const xa = Math.floor(Math.min(t[0], t[2], t[4]) / s), xb = Math.floor(Math.max(t[0], t[2], t[4]) / s);
    const ya = Math.floor(Math.min(t[1], t[3], t[5]) / s), yb = Math.floor(Math.max(t[1], t[3], t[5]) / s);
    for (let y = ya; y <= yb; y++) for (let x = xa; x <= xb; x++) {
      const key = y * 4194304 + x;
      if (fn(this.cells.get(key), key)) return true;
    }
    return false;
  }
  add(t: Float64Array): void {
    this.visit(t, (list, key) => {
      if (list) list.push(t);
      else this.cells.set(key, [t]);
      return false;
    });
  }
  overlaps(t: Float64Array): boolean {
    return this.visit(t, (list) => !!list && list.some((u) => trianglesOverlap(t, u)));
  }
}

/**
 * Whether two 2D triangles share interior (separating axis test on the six edge normals; touching along an edge or
 * at a corner is no overlap, shared corners being the same numbers in both). Degenerate triangles never overlap.
 */
function trianglesOverlap(a: Float64Array, b: Float64Array): boolean {
  for (const t of [a, b]) {
    for (let e = 0; e < 3; e++) {
      const x0 = t[2 * e], y0 = t[2 * e + 1], x1 = t[(2 * e + 2) % 6], y1 = t[(2 * e + 3) % 6];
      const nx = y0 - y1, ny = x1 - x0;
      let a0 = Infinity, a1 = -Infinity, b0 = Infinity, b1 = -Infinity;
      for (let j = 0; j < 3; j++) {
        const pa = nx * a[2 * j] + ny * a[2 * j + 1], pb = nx * b[2 * j] + ny * b[2 * j + 1];
        a0 = Math.min(a0, pa);
        a1 = Math.max(a1, pa);
        b0 = Math.min(b0, pb);
        b1 = Math.max(b1, pb);
      }
      const tol = 1e-9 * (Math.abs(a1) + Math.abs(b1) + Math.abs(a0) + Math.abs(b0));
      if (a1 <= b0 + tol || b1 <= a0 + tol) return false;
    }
  }
  return true;
}

/** Faces of each chart label (CSR). */
function chartFaces(chart: Int32Array, labels: number): { start: Int32Array; faces: Int32Array } {
  const start = new Int32Array(labels + 1);
  for (const c of chart) start[c + 1]++;
  for (let c = 0; c < labels; c++) start[c + 1] += start[c];
  const next = start.slice(0, labels);
  const faces = new Int32Array(chart.length);
  for (let f = 0; f < chart.length; f++) faces[next[chart[f]]++] = f;
  return { start, faces };
}

function chartNormals(chart: Int32Array, labels: number, normals: Float64Array, areas: Float64Array): Float64Array {
  const sum = new Float64Array(3 * labels);
  for (let f = 0; f < chart.length; f++) {
    const c = chart[f];
    for (let j = 0; j < 3; j++) sum[3 * c + j] += normals[3 * f + j] * areas[f];
  }
  for (let c = 0; c < labels; c++) {
    const len = Math.hypot(sum[3 * c], sum[3 * c + 1], sum[3 * c + 2]);
    if (len > 0) for (let j = 0; j < 3; j++) sum[3 * c + j] /= len;
    else sum[3 * c + 2] = 1;
  }
  return sum;
}

/**
 * On a noisy fused mesh the cone leaves many charts of a few faces (spikes of noise): each costs its padding in the
 * atlas. Such a chart joins the neighbour chart whose normal every one of its faces still faces (cos >= MERGE_COS:
 * at most ~2.9x stretch on those few faces), smallest charts first. Returns the number of labels (some unused).
 */
function mergeSmallCharts(chart: Int32Array, labels: number, normals: Float64Array, areas: Float64Array, neighbours: Int32Array): number {
  const n = chartNormals(chart, labels, normals, areas);
  const sum = new Float64Array(3 * labels);
  for (let f = 0; f < chart.length; f++) for (let j = 0; j < 3; j++) sum[3 * chart[f] + j] += normals[3 * f + j] * areas[f];
  const { start, faces } = chartFaces(chart, labels);
  const parent = Int32Array.from({ length: labels }, (_, c) => c);
  const root = (c: number): number => {
    while (parent[c] !== c) c = parent[c] = parent[parent[c]];
    return c;
  };
  const members: number[][] = [];
  const small: number[] = [];
  for (let c = 0; c < labels; c++) if (start[c + 1] - start[c] < SMALL_CHART_FACES) small.push(c);
  small.sort((a, b) => start[a + 1] - start[a] - (start[b + 1] - start[b]));
  const candidates = new Set<number>();
  for (const c of small) {
    if (root(c) !== c) continue;
    const own = members[c] ?? Array.from(faces.subarray(start[c], start[c + 1]));
    if (own.length >= SMALL_CHART_FACES) continue;
    candidates.clear();
    for (const f of own) for (let k = 0; k < 3; k++) {
      const g = neighbours[3 * f + k];
      if (g >= 0 && root(chart[g]) !== c) candidates.add(root(chart[g]));
    }
    let best = -1, bestCos = own.length < TINY_CHART_FACES ? TINY_MERGE_COS : MERGE_COS;
    for (const d of candidates) {
      let worst = 1;
      for (const f of own) {
        if (areas[f] === 0) continue;
        worst = Math.min(worst, dot(normals, f, n, d));
        if (worst < bestCos) break;
      }
      if (worst >= bestCos) {
        best = d;
        bestCos = worst;
      }
    }
    if (best < 0) continue;
    parent[c] = best;
    const into = members[best] ?? (members[best] = Array.from(faces.subarray(start[best], start[best + 1])));
    for (const f of own) into.push(f);
    for (let j = 0; j < 3; j++) sum[3 * best + j] += sum[3 * c + j];
    const len = Math.hypot(sum[3 * best], sum[3 * best + 1], sum[3 * best + 2]);
    if (len > 0) for (let j = 0; j < 3; j++) n[3 * best + j] = sum[3 * best + j] / len;
  }
  for (let f = 0; f < chart.length; f++) chart[f] = root(chart[f]);
  return labels;
}

/** Faces that face their chart's final normal badly (its normal moved while it grew or merged) get charts of their own. */
function detachOutliers(chart: Int32Array, labels: number, normals: Float64Array, areas: Float64Array): number {
  const n = chartNormals(chart, labels, normals, areas);
  let next = labels;
  for (let f = 0; f < chart.length; f++) if (areas[f] > 0 && dot(normals, f, n, chart[f]) < KEEP_COS) chart[f] = next++;
  return next;
}

/** Relabels charts as their edge-connected pieces, numbered 0..count-1. Returns the count. */
function connectedCharts(chart: Int32Array, neighbours: Int32Array): number {
  const out = new Int32Array(chart.length).fill(-1);
  const stack: number[] = [];
  let count = 0;
  for (let seed = 0; seed < chart.length; seed++) {
    if (out[seed] >= 0) continue;
    const c = count++;
    out[seed] = c;
    stack.push(seed);
    while (stack.length) {
      const f = stack.pop()!;
      for (let k = 0; k < 3; k++) {
        const g = neighbours[3 * f + k];
        if (g >= 0 && out[g] < 0 && chart[g] === chart[seed]) {
          out[g] = c;
          stack.push(g);
        }
      }
    }
  }
  chart.set(out);
  return count;
}

interface ProjectedChart {
  faces: Int32Array;
  normal: [number, number, number];
  /** Tangent and bitangent of the projection plane (t x b = normal). */
  basis: [number, number, number, number, number, number];
  /** Source vertices of the chart, and their local uv (world units, min corner at 0). */
  vertices: Int32Array;
  uv: Float64Array;
  /** Local corner index (into vertices) of each face corner. */
  corners: Int32Array;
  width: number;
  height: number;
  uvArea: number;
}

function projectCharts(P: Float32Array, I: Uint32Array, chart: Int32Array, labels: number, normals: Float64Array, areas: Float64Array, plane: Int32Array, planes: number[]): ProjectedChart[] {
  const n = chartNormals(chart, labels, normals, areas);
  const { start, faces } = chartFaces(chart, labels);
  const local = new Int32Array(P.length / 3).fill(-1);
  const out: ProjectedChart[] = [];
  for (let c = 0; c < labels; c++) {
    const own = faces.slice(start[c], start[c + 1]);
    // pieces of a folded chart keep the plane they were grown on
    const p = plane[own[0]];
    const [nx, ny, nz] = p >= 0 ? planes.slice(3 * p, 3 * p + 3) : [n[3 * c], n[3 * c + 1], n[3 * c + 2]];
    // tangent t and bitangent b with t x b = n; the second coordinate is -b so every chart keeps the orientation
    // of the texture's top-down rows
    const ax = Math.abs(nx) <= Math.abs(ny) && Math.abs(nx) <= Math.abs(nz) ? 0 : Math.abs(ny) <= Math.abs(nz) ? 1 : 2;
    let tx = ax === 0 ? 0 : ax === 1 ? nz : -ny, ty = ax === 0 ? -nz : ax === 1 ? 0 : nx, tz = ax === 0 ? ny : ax === 1 ? -nx : 0;
    const tl = Math.hypot(tx, ty, tz);
    tx /= tl;
    ty /= tl;
    tz /= tl;
    const bx = ny * tz - nz * ty, by = nz * tx - nx * tz, bz = nx * ty - ny * tx;
    const vertices: number[] = [];
    const corners = new Int32Array(3 * own.length);
    for (let i = 0; i < own.length; i++) {
      for (let j = 0; j < 3; j++) {
        const v = I[3 * own[i] + j];
        if (local[v] < 0) {
          local[v] = vertices.length;
          vertices.push(v);
        }
        corners[3 * i + j] = local[v];
      }
    }
    const uv = new Float64Array(2 * vertices.length);
    for (let j = 0; j < vertices.length; j++) {
      const v = vertices[j];
      uv[2 * j] = P[3 * v] * tx + P[3 * v + 1] * ty + P[3 * v + 2] * tz;
      uv[2 * j + 1] = -(P[3 * v] * bx + P[3 * v + 1] * by + P[3 * v + 2] * bz);
    }
    for (const v of vertices) local[v] = -1;
    const [width, height] = rotateToMinimumRectangle(uv);
    let uvArea = 0;
    for (let i = 0; i < own.length; i++) {
      const a = corners[3 * i], b = corners[3 * i + 1], d = corners[3 * i + 2];
      uvArea += Math.abs((uv[2 * b] - uv[2 * a]) * (uv[2 * d + 1] - uv[2 * a + 1]) - (uv[2 * d] - uv[2 * a]) * (uv[2 * b + 1] - uv[2 * a + 1])) / 2;
    }
    out.push({ faces: own, normal: [nx, ny, nz], basis: [tx, ty, tz, bx, by, bz], vertices: Int32Array.from(vertices), uv, corners, width, height, uvArea });
  }
  return out;
}

/**
 * Rotates points (in place) so that their bounding rectangle has the least area (one side of it lies on an edge of
 * the convex hull), long side along u, then shifts them so the min corner is at 0. Returns [width, height].
 */
function rotateToMinimumRectangle(uv: Float64Array): [number, number] {
  const count = uv.length / 2;
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => uv[2 * a] - uv[2 * b] || uv[2 * a + 1] - uv[2 * b + 1]);
  const cross = (o: number, a: number, b: number) => (uv[2 * a] - uv[2 * o]) * (uv[2 * b + 1] - uv[2 * o + 1]) - (uv[2 * a + 1] - uv[2 * o + 1]) * (uv[2 * b] - uv[2 * o]);
  const hull: number[] = [];
  for (const pass of [order, order.slice().reverse()]) {
    const base = hull.length;
    for (const i of pass) {
      while (hull.length >= base + 2 && cross(hull[hull.length - 2], hull[hull.length - 1], i) <= 0) hull.pop();
      hull.push(i);
    }
    hull.pop();
  }
  let bestArea = Infinity, bestC = 1, bestS = 0;
  for (let k = 0; k < hull.length; k++) {
    const a = hull[k], b = hull[(k + 1) % hull.length];
    const dx = uv[2 * b] - uv[2 * a], dy = uv[2 * b + 1] - uv[2 * a + 1];
    const len = Math.hypot(dx, dy);
    if (len === 0) continue;
    const c = dx / len, s = dy / len;
    let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
    for (const h of hull) {
      const u = c * uv[2 * h] + s * uv[2 * h + 1], v = -s * uv[2 * h] + c * uv[2 * h + 1];
      u0 = Math.min(u0, u);
      u1 = Math.max(u1, u);
      v0 = Math.min(v0, v);
      v1 = Math.max(v1, v);
    }
    const area = (u1 - u0) * (v1 - v0);
    if (area < bestArea * (1 - 1e-9)) {
      bestArea = area;
      // a further quarter turn puts the long side along u (a rotation: no mirror, the orientation stays)
      if (v1 - v0 > u1 - u0) [bestC, bestS] = [-s, c];
      else [bestC, bestS] = [c, s];
    }
  }
  let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = uv[2 * i], y = uv[2 * i + 1];
    const u = bestC * x + bestS * y, v = -bestS * x + bestC * y;
    uv[2 * i] = u;
    uv[2 * i + 1] = v;
    u0 = Math.min(u0, u);
    u1 = Math.max(u1, u);
    v0 = Math.min(v0, v);
    v1 = Math.max(v1, v);
  }
  for (let i = 0; i < count; i++) {
    uv[2 * i] -= u0;
    uv[2 * i + 1] -= v0;
  }
  return [u1 - u0, v1 - v0];
}

/** Whether two triangles of the chart overlap in its projection (a fold-over). */
function chartOverlaps(c: ProjectedChart): boolean {
  if (c.faces.length < 2) return false;
  const index = new TriangleIndex(3 * Math.sqrt(c.uvArea / c.faces.length) || 1);
  const U = c.uv;
  for (let i = 0; i < c.faces.length; i++) {
    const t = new Float64Array(6);
    for (let j = 0; j < 3; j++) {
      t[2 * j] = U[2 * c.corners[3 * i + j]];
      t[2 * j + 1] = U[2 * c.corners[3 * i + j] + 1];
    }
    if (index.overlaps(t)) return true;
    index.add(t);
  }
  return false;
}

interface ChartBitmap {
  /** Cells wide and high (the dilated footprint). */
  w: number;
  h: number;
  words: number;
  /** Cells the chart's triangles touch, and those dilated by the padding; rows of `words` 32-bit words. */
  raw: Uint32Array;
  dilated: Uint32Array;
  /** First dilated cell of each row and the length from there to the last; solid: no gap in between. */
  first: Int32Array;
  span: Int32Array;
  solid: Uint8Array;
  /** Dilated cells, and the cells the triangles touch. */
  cells: number;
  rawCells: number;
}

/**
 * The chart's cells at `scale` texels per unit: a cell is marked when a triangle overlaps it at all (separating-axis
 * test of triangle against square), so the footprint contains the triangles; its dilation by `d` cells keeps any
 * other chart's triangles at least d·cell texels away. The chart's texels start at d·cell + 0.5 in x and y.
 */
function rasteriseChart(c: ProjectedChart, scale: number, cell: number, d: number): ChartBitmap {
  const origin = d * cell + 0.5;
  const w = Math.floor((origin + c.width * scale) / cell) + 1 + d, h = Math.floor((origin + c.height * scale) / cell) + 1 + d;
  const grid = new Uint8Array(w * h);
  const U = c.uv;
  const half = cell / 2;
  const x = [0, 0, 0], y = [0, 0, 0];
  for (let i = 0; i < c.faces.length; i++) {
    for (let j = 0; j < 3; j++) {
      x[j] = origin + U[2 * c.corners[3 * i + j]] * scale;
      y[j] = origin + U[2 * c.corners[3 * i + j] + 1] * scale;
    }
    const orient = Math.sign((x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0]));
    const xa = Math.floor(Math.min(x[0], x[1], x[2]) / cell), xb = Math.min(w - 1, Math.floor(Math.max(x[0], x[1], x[2]) / cell));
    const ya = Math.floor(Math.min(y[0], y[1], y[2]) / cell), yb = Math.min(h - 1, Math.floor(Math.max(y[0], y[1], y[2]) / cell));
    for (let cy = ya; cy <= yb; cy++) for (let cx = xa; cx <= xb; cx++) {
      let inside = true;
      if (orient !== 0 && (xb > xa || yb > ya)) {
        const px = (cx + 0.5) * cell, py = (cy + 0.5) * cell;
        for (let e = 0; e < 3 && inside; e++) {
          const ax = x[e], ay = y[e], bx = x[(e + 1) % 3], by = y[(e + 1) % 3];
          // inward normal of edge a->b, and the square's half extent along it
          const nx = -(by - ay) * orient, ny = (bx - ax) * orient;
          if (nx * (px - ax) + ny * (py - ay) + (Math.abs(nx) + Math.abs(ny)) * half < 0) inside = false;
        }
      }
      if (inside) grid[cy * w + cx] = 1;
    }
  }
  // separable square dilation
  const across = new Uint8Array(w * h), dilatedGrid = new Uint8Array(w * h);
  for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
    if (!grid[yy * w + xx]) continue;
    for (let k = Math.max(0, xx - d); k <= Math.min(w - 1, xx + d); k++) across[yy * w + k] = 1;
  }
  for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
    if (!across[yy * w + xx]) continue;
    for (let k = Math.max(0, yy - d); k <= Math.min(h - 1, yy + d); k++) dilatedGrid[k * w + xx] = 1;
  }
  const words = (w + 31) >> 5;
  const raw = new Uint32Array(h * words), dilated = new Uint32Array(h * words);
  const first = new Int32Array(h).fill(-1), span = new Int32Array(h), solid = new Uint8Array(h);
  let cells = 0, rawCells = 0;
  for (let yy = 0; yy < h; yy++) {
    let last = -1, count = 0;
    for (let xx = 0; xx < w; xx++) {
      if (grid[yy * w + xx]) {
        raw[yy * words + (xx >> 5)] |= 1 << (xx & 31);
        rawCells++;
      }
      if (dilatedGrid[yy * w + xx]) {
        dilated[yy * words + (xx >> 5)] |= 1 << (xx & 31);
        if (first[yy] < 0) first[yy] = xx;
        last = xx;
        count++;
      }
    }
    if (first[yy] >= 0) {
      span[yy] = last - first[yy] + 1;
      solid[yy] = count === span[yy] ? 1 : 0;
    }
    cells += count;
  }
  return { w, h, words, raw, dilated, first, span, solid, cells, rawCells };
}

/** Placement steps a chart may spend in the packed interior before it is placed at the bottom band. */
const PACK_EFFORT = 16384;

/** Packing-grid cells a chart should have at least (packCharts' cell choice): room for ~5 cells of a one-cell chart
 * with its padding ring, and for the density to grow past that. */
const CELLS_PER_CHART = 8;

/**
 * Packs the charts at one texel density: largest first, each at the first place in scan order (top to bottom, left
 * to right) where its dilated cells miss every cell taken so far, in a strip `grid` cells wide and up to `maxRows`
 * high. Per row, `run` (free cells from x on) lets a chart row without gaps be tested in O(1) and the scan jump
 * past a run too short for it. Returns the cell offsets and the rows used (Infinity when the strip overflowed).
 */
function packAtScale(bitmaps: ChartBitmap[], grid: number, maxRows: number): { cells: [number, number][]; rows: number } {
  const words = (grid >> 5) + 2;
  const occupied = new Uint32Array(maxRows * words);
  const stride = grid + 1;
  // run[y * stride + x]: free cells from x rightwards in row y, or minus the taken cells from x (run[.. + grid] = 0)
  const run = new Int32Array(maxRows * stride);
  for (let y = 0; y < maxRows; y++) for (let x = 0; x < grid; x++) run[y * stride + x] = grid - x;
  const order = bitmaps.map((_, k) => k).sort((a, b) => bitmaps[b].cells - bitmaps[a].cells || bitmaps[b].h - bitmaps[a].h);
  const cells: [number, number][] = new Array(bitmaps.length);
  let rows = 0;
  let top = 0; // rows above are full
  // longest free run of each row: a row too short for the chart's widest row rules out that placement at once
  const longest = new Int32Array(maxRows).fill(grid);
  // Where the last chart with the same dilated bitmap went: nothing before it fitted that shape, and cells only get
  // taken, so the next identical chart (the many 1-3 face charts of a noisy mesh) starts its scan there. Exact.
  const lastOfShape = new Map<string, [number, number]>();
  for (const k of order) {
    const b = bitmaps[k];
    if (b.w > grid) return { cells, rows: Infinity };
    const shape = b.cells <= 64 ? `${b.w},${b.h},${b.dilated.join(',')}` : '';
    const resume = shape ? lastOfShape.get(shape) : undefined;
    // rows tested widest first: the likeliest to fail, and a failure there skips furthest
    const tests = Int32Array.from({ length: b.h }, (_, r) => r).filter((r) => b.first[r] >= 0).sort((p, q) => b.span[q] - b.span[p]);
    const wide = tests[0], wideNeed = b.solid[wide] ? b.span[wide] : 1;
    let placed = false;
    let effort = 0;
    for (let Y = Math.max(top, resume ? resume[1] : 0); Y + b.h <= maxRows && !placed; Y++) {
      // A chart that has searched the fragmented interior long enough goes to the band at the bottom of what is
      // packed: with tens of thousands of small charts (a noisy 200k-face mesh) an unbounded first-fit scan took
      // over a minute. The bound is in steps, not time, so the result does not depend on the machine.
      if (effort > PACK_EFFORT && Y < rows - b.h) Y = rows - b.h;
      if (longest[Y + wide] < wideNeed) continue;
      let X = resume && Y === resume[1] ? resume[0] : 0;
      while (X + b.w <= grid) {
        effort++;
        let ok = true;
        for (const r of tests) {
          const f = b.first[r];
          const row = (Y + r) * stride, at = X + f;
          const free = run[row + at];
          if (free < (b.solid[r] ? b.span[r] : 1)) {
            // skip past this short free run and the taken run after it
            let x = at + Math.max(0, free);
            if (x < grid && run[row + x] < 0) x -= run[row + x];
            X = Math.max(X + 1, x - f);
            ok = false;
            break;
          }
          if (!b.solid[r] && free < b.span[r] && collides(occupied, (Y + r) * words, b.dilated, r * b.words, b.words, X)) {
            X++;
            ok = false;
            break;
          }
        }
        if (!ok) continue;
        cells[k] = [X, Y];
        if (shape) lastOfShape.set(shape, [X, Y]);
        for (let r = 0; r < b.h; r++) {
          const y = Y + r;
          stamp(occupied, y * words, b.raw, r * b.words, b.words, X);
          // refresh the row's runs from the chart's right end leftwards, until they no longer change
          const row = y * stride, base = y * words;
          const end = Math.min(grid, X + b.w);
          let next = run[row + end];
          for (let x = end - 1; x >= 0; x--) {
            const value = (occupied[base + (x >> 5)] >>> (x & 31)) & 1 ? (next < 0 ? next - 1 : -1) : next > 0 ? next + 1 : 1;
            if (x < X && run[row + x] === value) break;
            run[row + x] = value;
            next = value;
          }
          let most = 0;
          for (let x = 0; x < grid; x++) if (run[row + x] > most) most = run[row + x];
          longest[y] = most;
        }
        rows = Math.max(rows, Y + b.h);
        placed = true;
        break;
      }
    }
    if (!placed) return { cells, rows: Infinity };
    while (top < maxRows && longest[top] <= 0) top++;
  }
  return { cells, rows };
}

/** Whether chart row bits (aligned at bit 0) shifted to cell x hit a taken bit of the atlas row. */
function collides(atlas: Uint32Array, atlasRow: number, chart: Uint32Array, chartRow: number, words: number, x: number): boolean {
  const base = atlasRow + (x >> 5), shift = x & 31;
  if (shift === 0) {
    for (let j = 0; j < words; j++) if (atlas[base + j] & chart[chartRow + j]) return true;
    return false;
  }
  let carry = 0;
  for (let j = 0; j < words; j++) {
    const word = chart[chartRow + j];
    if ((atlas[base + j] & ((word << shift) | carry)) !== 0) return true;
    carry = word >>> (32 - shift);
  }
  return (atlas[base + words] & carry) !== 0;
}

function stamp(atlas: Uint32Array, atlasRow: number, chart: Uint32Array, chartRow: number, words: number, x: number): void {
  const base = atlasRow + (x >> 5), shift = x & 31;
  if (shift === 0) {
    for (let j = 0; j < words; j++) atlas[base + j] |= chart[chartRow + j];
    return;
  }
  let carry = 0;
  for (let j = 0; j < words; j++) {
    const word = chart[chartRow + j];
    atlas[base + j] |= (word << shift) | carry;
    carry = word >>> (32 - shift);
  }
  atlas[base + words] |= carry;
}

/**
 * The largest common texel density at which the charts pack into the atlas, and each chart's texel offset. The
 * packing cell is a few texels (a 512-cell grid at most: packing time), the dilation at least the padding.
 *
 * A packing of every chart is the expensive step (0.3-2 s for 13k charts of a 200k-face mesh), rasterising them is
 * cheap (~50-100 ms), so the density is searched on the rasterised footprint and packed as few times as possible.
 * A chart takes about its own cells plus half of its padding ring (neighbours share the gap): with F(s) = the sum of
 * (raw + dilated) / 2 cells at density s, the packed rows are F / (eta * grid) with a packing efficiency eta of
 * 0.93-0.98 (measured on fused meshes of 3.7k-13k charts). F(s) is not ~s^2 when the padding dominates (many
 * small charts), which is why scaling the density by sqrt(grid / rows) took five packings to converge on lego; here
 * F is solved for its target by a secant on sqrt(F) (nearly linear in s), and eta is re-measured after each packing.
 */
function packCharts(charts: ProjectedChart[], atlasSize: number, padding: number): { scale: number; offsets: [number, number][]; attempts: number } {
  // The packing cell: 1/512 of the atlas (packing time grows with the grid), halved while the grid has fewer than
  // CELLS_PER_CHART cells a chart. However small the density, a chart takes a cell and its share of the padding ring:
  // lego's 1M-face mesh at high has 75,811 charts, which on 512^2 cells of a 4096 atlas fitted at no density at all.
  let cell = Math.max(1, atlasSize >> 9);
  while (cell > 1 && (atlasSize / cell) ** 2 < CELLS_PER_CHART * charts.length) cell >>= 1;
  const grid = Math.floor(atlasSize / cell);
  const d = Math.max(1, Math.ceil(padding / cell));
  const uvArea = charts.reduce((s, c) => s + c.uvArea, 0);
  // no chart (with its padding) may be wider than the atlas
  const widest = charts.reduce((m, c) => Math.max(m, c.width), 0);
  const maxScale = widest > 0 ? (atlasSize - 2 * (d + 1) * cell) / widest : Infinity;
  const raster = (scale: number) => {
    const bitmaps = charts.map((c) => rasteriseChart(c, scale, cell, d));
    return { scale, bitmaps, footprint: bitmaps.reduce((s, b) => s + (b.cells + b.rawCells) / 2, 0) };
  };
  // The density whose footprint is `target`, strictly between `low` and `high` (known to fit / known not to fit).
  const solve = (target: number, from: ReturnType<typeof raster>, low: number, high: number) => {
    let a = from, b: ReturnType<typeof raster> | undefined;
    for (let step = 0; step < 6 && Math.abs(a.footprint / target - 1) > 0.005; step++) {
      const ra = Math.sqrt(a.footprint), rt = Math.sqrt(target);
      let next = b && Math.abs(Math.sqrt(b.footprint) - ra) > 1e-9 ? a.scale + ((rt - ra) * (b.scale - a.scale)) / (Math.sqrt(b.footprint) - ra) : a.scale * (rt / Math.max(ra, 1e-9));
      next = Math.min(next, maxScale, high * 0.999);
      if (next <= low) next = low > 0 ? (low + Math.min(high, maxScale)) / 2 : a.scale * 0.5;
      if (!(next > 0) || Math.abs(next / a.scale - 1) < 1e-4) break;
      b = a;
      a = raster(next);
    }
    return a;
  };
  let current = raster(Math.min(maxScale, Math.sqrt((0.7 * atlasSize * atlasSize) / Math.max(uvArea, 1e-30))));
  let efficiency = 0.93;
  let best: { scale: number; cells: [number, number][] } | undefined;
  let tooLarge = Infinity;
  let attempts = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    // aim at 98.5% of the height: a packing between 95% and 100% is accepted
    current = solve(efficiency * 0.985 * grid * grid, current, best?.scale ?? 0, tooLarge);
    const scale = current.scale;
    if (best && scale <= best.scale * 1.015) break;
    attempts++;
    const { cells, rows } = packAtScale(current.bitmaps, grid, 2 * grid);
    if (rows <= grid) {
      if (!best || scale > best.scale) best = { scale, cells };
      if (rows > 0.95 * grid || scale >= maxScale * 0.999) break;
    } else tooLarge = Math.min(tooLarge, scale);
    efficiency = rows === Infinity ? efficiency * 0.8 : current.footprint / (rows * grid);
  }
  if (!best) throw new Error(`UV atlas: ${charts.length} charts do not fit a ${atlasSize}x${atlasSize} atlas`);
  const origin = d * cell + 0.5;
  return { scale: best.scale, offsets: best.cells.map(([x, y]) => [x * cell + origin, y * cell + origin]), attempts };
}
