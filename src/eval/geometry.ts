/**
 * Geometry scoring: area-weighted surface samples, exact point-to-triangle distances through a uniform grid, and
 * accuracy / completeness / Chamfer / F-score, all as fractions of the ground truth's bounding-box diagonal.
 */
import { seededRandom } from '../ml/onnxBuilder';

export interface TriMesh {
  positions: Float32Array;
  indices: Uint32Array;
}

export function bboxDiagonal(positions: Float32Array): number {
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < positions.length; v += 3) for (let k = 0; k < 3; k++) {
    min[k] = Math.min(min[k], positions[v + k]);
    max[k] = Math.max(max[k], positions[v + k]);
  }
  return Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]);
}

/** `count` points uniformly distributed over the surface area. */
export function sampleSurface(mesh: TriMesh, count: number, seed = 1): Float32Array {
  const { positions: P, indices: I } = mesh;
  const faces = I.length / 3;
  const cdf = new Float64Array(faces);
  let total = 0;
  for (let f = 0; f < faces; f++) {
    const a = I[3 * f] * 3, b = I[3 * f + 1] * 3, c = I[3 * f + 2] * 3;
    const e1 = [P[b] - P[a], P[b + 1] - P[a + 1], P[b + 2] - P[a + 2]], e2 = [P[c] - P[a], P[c + 1] - P[a + 1], P[c + 2] - P[a + 2]];
    total += 0.5 * Math.hypot(e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]);
    cdf[f] = total;
  }
  const rand = seededRandom(seed);
  const out = new Float32Array(count * 3);
  for (let s = 0; s < count; s++) {
    const target = rand() * total;
    let lo = 0, hi = faces - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    let u = rand(), v = rand();
    if (u + v > 1) {
      u = 1 - u;
      v = 1 - v;
    }
    const a = I[3 * lo] * 3, b = I[3 * lo + 1] * 3, c = I[3 * lo + 2] * 3;
    for (let k = 0; k < 3; k++) out[3 * s + k] = P[a + k] + u * (P[b + k] - P[a + k]) + v * (P[c + k] - P[a + k]);
  }
  return out;
}

/** Squared distance from p to triangle abc (Ericson, Real-Time Collision Detection 5.1.5). */
export function pointTriangleDistance2(p: number[], a: number[], b: number[], c: number[]): number {
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]], ac = [c[0] - a[0], c[1] - a[1], c[2] - a[2]], ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
  const dot = (x: number[], y: number[]) => x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
  const d2 = (q: number[]) => (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 + (p[2] - q[2]) ** 2;
  const d1 = dot(ab, ap), d2_ = dot(ac, ap);
  if (d1 <= 0 && d2_ <= 0) return d2(a);
  const bp = [p[0] - b[0], p[1] - b[1], p[2] - b[2]];
  const d3 = dot(ab, bp), d4 = dot(ac, bp);
  if (d3 >= 0 && d4 <= d3) return d2(b);
  const vc = d1 * d4 - d3 * d2_;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) {
    const v = d1 - d3 !== 0 ? d1 / (d1 - d3) : 0;
    return d2([a[0] + v * ab[0], a[1] + v * ab[1], a[2] + v * ab[2]]);
  }
  const cp = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
  const d5 = dot(ab, cp), d6 = dot(ac, cp);
  if (d6 >= 0 && d5 <= d6) return d2(c);
  const vb = d5 * d2_ - d1 * d6;
  if (vb <= 0 && d2_ >= 0 && d6 <= 0) {
    const w = d2_ - d6 !== 0 ? d2_ / (d2_ - d6) : 0;
    return d2([a[0] + w * ac[0], a[1] + w * ac[1], a[2] + w * ac[2]]);
  }
  const va = d3 * d6 - d5 * d4;
  if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
    const den = d4 - d3 + (d5 - d6);
    const w = den !== 0 ? (d4 - d3) / den : 0;
    return d2([b[0] + w * (c[0] - b[0]), b[1] + w * (c[1] - b[1]), b[2] + w * (c[2] - b[2])]);
  }
  const sum = va + vb + vc;
  if (!(Math.abs(sum) > 0)) return Math.min(d2(a), d2(b), d2(c)); // degenerate (zero-area) triangle
  const denom = 1 / sum;
  const v = vb * denom, w = vc * denom;
  return d2([a[0] + ab[0] * v + ac[0] * w, a[1] + ab[1] * v + ac[1] * w, a[2] + ab[2] * v + ac[2] * w]);
}

/** Closest-triangle queries through a uniform grid of triangle bounding boxes. */
export class TriangleGrid {
  private readonly cells = new Map<number, number[]>();
  private readonly min: number[];
  private readonly cell: number;
  private readonly dims: number[];

  constructor(private readonly mesh: TriMesh, cellsPerSide = 64) {
    const P = mesh.positions;
    const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
    for (let v = 0; v < P.length; v += 3) for (let k = 0; k < 3; k++) {
      min[k] = Math.min(min[k], P[v + k]);
      max[k] = Math.max(max[k], P[v + k]);
    }
    this.min = min;
    this.cell = Math.max(...max.map((m, k) => m - min[k])) / cellsPerSide || 1;
    this.dims = max.map((m, k) => Math.max(1, Math.ceil((m - min[k]) / this.cell) + 1));
    const I = mesh.indices;
    for (let f = 0; f < I.length / 3; f++) {
      const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
      for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) {
        const x = P[I[3 * f + c] * 3 + k];
        lo[k] = Math.min(lo[k], x);
        hi[k] = Math.max(hi[k], x);
      }
      const a = lo.map((x, k) => this.cellOf(x, k)), b = hi.map((x, k) => this.cellOf(x, k));
      for (let z = a[2]; z <= b[2]; z++) for (let y = a[1]; y <= b[1]; y++) for (let x = a[0]; x <= b[0]; x++) {
        const key = x + this.dims[0] * (y + this.dims[1] * z);
        let list = this.cells.get(key);
        if (!list) this.cells.set(key, (list = []));
        list.push(f);
      }
    }
  }

  private cellOf(x: number, k: number): number {
    return Math.min(this.dims[k] - 1, Math.max(0, Math.floor((x - this.min[k]) / this.cell)));
  }

  /** Distance from p to the mesh (searching rings of cells until no closer triangle can exist). */
  distance(p: number[]): number {
    const P = this.mesh.positions, I = this.mesh.indices;
    const c = [0, 1, 2].map((k) => this.cellOf(p[k], k));
    // Distance from p to the grid box, so points outside it still search the right rings.
    const outside = Math.hypot(...[0, 1, 2].map((k) => Math.max(0, this.min[k] - p[k], p[k] - (this.min[k] + this.dims[k] * this.cell))));
    let best = Infinity;
    const seen = new Set<number>();
    const maxRing = Math.max(...this.dims);
    for (let r = 0; r <= maxRing; r++) {
      for (let z = c[2] - r; z <= c[2] + r; z++) for (let y = c[1] - r; y <= c[1] + r; y++) for (let x = c[0] - r; x <= c[0] + r; x++) {
        if (Math.max(Math.abs(x - c[0]), Math.abs(y - c[1]), Math.abs(z - c[2])) !== r) continue;
        if (x < 0 || y < 0 || z < 0 || x >= this.dims[0] || y >= this.dims[1] || z >= this.dims[2]) continue;
        const list = this.cells.get(x + this.dims[0] * (y + this.dims[1] * z));
        if (!list) continue;
        for (const f of list) {
          if (seen.has(f)) continue;
          seen.add(f);
          const v = [0, 1, 2].map((k) => [P[I[3 * f + k] * 3], P[I[3 * f + k] * 3 + 1], P[I[3 * f + k] * 3 + 2]]);
          best = Math.min(best, pointTriangleDistance2(p, v[0], v[1], v[2]));
        }
      }
      // Every triangle not yet seen lies in a cell at least r cells (and `outside`) away from p.
      if (best < Infinity && Math.sqrt(best) <= Math.max(outside, r * this.cell)) break;
    }
    return Math.sqrt(best);
  }
}

export interface GeometryScore {
  accuracy: number;
  completeness: number;
  chamfer: number;
  fscore005: number;
  fscore01: number;
  precision01: number;
  recall01: number;
  samples: number;
  gtDiagonal: number;
}

/** Scores `result` against `gt` (both in the same frame); distances as fractions of the GT bbox diagonal. */
export function scoreGeometry(result: TriMesh, gt: TriMesh, samples = 20000, seed = 7): GeometryScore {
  const diag = bboxDiagonal(gt.positions);
  const resultPts = sampleSurface(result, samples, seed), gtPts = sampleSurface(gt, samples, seed + 1);
  const gtGrid = new TriangleGrid(gt), resultGrid = new TriangleGrid(result);
  const toGt = new Float64Array(samples), toResult = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    toGt[s] = gtGrid.distance([resultPts[3 * s], resultPts[3 * s + 1], resultPts[3 * s + 2]]) / diag;
    toResult[s] = resultGrid.distance([gtPts[3 * s], gtPts[3 * s + 1], gtPts[3 * s + 2]]) / diag;
  }
  const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const frac = (a: Float64Array, t: number) => a.reduce((n, d) => n + (d < t ? 1 : 0), 0) / a.length;
  const f = (t: number) => {
    const p = frac(toGt, t), r = frac(toResult, t);
    return p + r > 0 ? (2 * p * r) / (p + r) : 0;
  };
  const accuracy = mean(toGt), completeness = mean(toResult);
  return { accuracy, completeness, chamfer: (accuracy + completeness) / 2, fscore005: f(0.005), fscore01: f(0.01), precision01: frac(toGt, 0.01), recall01: frac(toResult, 0.01), samples, gtDiagonal: diag };
}

export function transformPositions(positions: Float32Array, m: number[]): Float32Array {
  const out = new Float32Array(positions.length);
  for (let v = 0; v < positions.length; v += 3) {
    const [x, y, z] = [positions[v], positions[v + 1], positions[v + 2]];
    out[v] = m[0] * x + m[1] * y + m[2] * z + m[3];
    out[v + 1] = m[4] * x + m[5] * y + m[6] * z + m[7];
    out[v + 2] = m[8] * x + m[9] * y + m[10] * z + m[11];
  }
  return out;
}
