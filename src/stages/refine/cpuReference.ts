/**
 * CPU reference (float64) of the refinement's forward loss for a fixed visibility buffer: the same shading
 * (refine_forward.wgsl, with its edge blend), silhouette consistency (refine_silhouette.wgsl) and Laplacian energy
 * (refine_laplacian.wgsl).
 * The gradient checks take finite differences of it and compare them with the GPU's backward kernels.
 */
import { NO_FACE, type Layout, type RefineView, type Welded } from './problem';

export interface CpuProblem {
  layout: Layout;
  welded: Welded;
  uvs: Float32Array;
  views: RefineView[];
  /** Per batch slot: triangle id + 1 per pixel (width x height of the problem, row-major). */
  visTri: Uint32Array[];
  batch: number[];
  /** Row stride of visTri. */
  width: number;
  silWeight: number;
  /** The edge blend across occlusion edges inside the surface too (RefineProblem's `occlusion`). */
  occlusion?: boolean;
  /** Mip level per slot and pixel to use instead of computing it (finite differences hold the piecewise-constant
   * level fixed, as the analytic gradient does); filled by `cpuLoss` when given empty arrays. */
  levels?: Int8Array[];
}

type V3 = [number, number, number];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

function camPoint(view: RefineView, p: V3): V3 {
  const c = view.camFromWorld;
  return [0, 1, 2].map((r) => c[4 * r] * p[0] + c[4 * r + 1] * p[1] + c[4 * r + 2] * p[2] + c[4 * r + 3]) as V3;
}

function position(params: Float64Array, v: number): V3 {
  return [params[3 * v], params[3 * v + 1], params[3 * v + 2]];
}

/** Level 0 = the texture parameters, then box-filtered levels (refine_mips.wgsl). */
export function cpuMips(params: Float64Array, L: Layout): Float64Array[] {
  const levels = [params.slice(L.texOff, L.gainOff)];
  for (let level = 1; level <= L.mipLevels; level++) {
    const n = L.texSize >> level, below = levels[level - 1], m = 2 * n;
    const out = new Float64Array(3 * n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let c = 0; c < 3; c++) {
      out[3 * (y * n + x) + c] = 0.25 * (below[3 * (2 * y * m + 2 * x) + c] + below[3 * (2 * y * m + 2 * x + 1) + c] + below[3 * ((2 * y + 1) * m + 2 * x) + c] + below[3 * ((2 * y + 1) * m + 2 * x + 1) + c]);
    }
    levels.push(out);
  }
  return levels;
}

function texel(mips: Float64Array[], L: Layout, level: number, x: number, y: number): V3 {
  const n = L.texSize >> level;
  const k = 3 * (Math.min(n - 1, Math.max(0, y)) * n + Math.min(n - 1, Math.max(0, x)));
  return [mips[level][k], mips[level][k + 1], mips[level][k + 2]];
}

function sampleKd(mips: Float64Array[], L: Layout, level: number, u: number, v: number): V3 {
  const s = L.texSize >> level;
  const x = Math.min(s - 0.5, Math.max(-0.5, u * s - 0.5)), y = Math.min(s - 0.5, Math.max(-0.5, v * s - 0.5));
  const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
  const k00 = texel(mips, L, level, x0, y0), k10 = texel(mips, L, level, x0 + 1, y0), k01 = texel(mips, L, level, x0, y0 + 1), k11 = texel(mips, L, level, x0 + 1, y0 + 1);
  return [0, 1, 2].map((c) => (k00[c] * (1 - fx) + k10[c] * fx) * (1 - fy) + (k01[c] * (1 - fx) + k11[c] * fx) * fy) as V3;
}

/** Colour loss (sum of squared errors over the masked-in pixels the colour term scores: covered ones, and uncovered
 * ones that the edge blend reaches) and silhouette loss (sum). */
export function cpuLoss(params: Float64Array, P: CpuProblem): { color: number; silhouette: number; colorPixels: number; occludedPixels: number; occludingPixels: number; levels: number[] } {
  const L = P.layout;
  const F = P.welded.faces;
  let color = 0, silhouette = 0, colorPixels = 0, occludedPixels = 0, occludingPixels = 0;
  const mips = cpuMips(params, L);
  const levels: number[] = [];
  P.batch.forEach((vid, slot) => {
    const view = P.views[vid];
    const [fx, , cx, , fy, cy] = view.K;
    const tri = P.visTri[slot];
    const at = (x: number, y: number) => tri[y * P.width + x];
    const gain = params[L.gainOff + vid];
    const light = [params[L.lightOff], params[L.lightOff + 1], params[L.lightOff + 2], params[L.lightOff + 3]];
    const photoAt = (x: number, y: number) => {
      const pi = 4 * (y * view.width + x);
      return [view.rgba[pi] / 255, view.rgba[pi + 1] / 255, view.rgba[pi + 2] / 255, view.rgba[pi + 3] / 255];
    };
    // shaded colour of every covered pixel (refine_forward.wgsl `shade`)
    const shaded: (V3 | null)[] = new Array(view.width * view.height).fill(null);
    for (let y = 0; y < view.height; y++) for (let x = 0; x < view.width; x++) {
      const t = at(x, y);
      if (t === 0) continue;
      const f = t - 1;
      const p = [0, 1, 2].map((k) => position(params, F[6 * f + k]));
      const q = p.map((pp) => camPoint(view, pp));
      const uvAt = (k: number) => [P.uvs[2 * F[6 * f + 3 + k]], P.uvs[2 * F[6 * f + 3 + k] + 1]];
      const uvOf = (px: number, py: number) => {
        const dd: V3 = [(px - cx) / fx, (py - cy) / fy, 1];
        const w = [dot(dd, cross(q[1], q[2])), dot(dd, cross(q[2], q[0])), dot(dd, cross(q[0], q[1]))];
        const W = w[0] + w[1] + w[2];
        return [0, 1].map((c) => (w[0] * uvAt(0)[c] + w[1] * uvAt(1)[c] + w[2] * uvAt(2)[c]) / W);
      };
      const u = uvOf(x, y), ux = uvOf(x + 1, y), uy = uvOf(x, y + 1);
      let level = 0;
      const fixed = P.levels?.[slot];
      if (fixed && fixed[y * P.width + x] >= 0) level = fixed[y * P.width + x];
      else if (L.mipLevels > 0) {
        const footprint = Math.max(Math.hypot(ux[0] - u[0], ux[1] - u[1]), Math.hypot(uy[0] - u[0], uy[1] - u[1])) * L.texSize;
        level = Math.min(L.mipLevels, Math.max(0, Math.floor(Math.log2(Math.max(footprint, 1e-6)) + 0.5)));
      }
      if (fixed && fixed[y * P.width + x] < 0) fixed[y * P.width + x] = level;
      const kd = sampleKd(mips, L, level, u[0], u[1]);
      if (photoAt(x, y)[3] > 0.5) levels[level] = (levels[level] ?? 0) + 1;
      const cr = cross(sub(p[1], p[0]), sub(p[2], p[0]));
      const len = Math.hypot(...cr);
      const shade = light[0] + (light[1] * cr[0] + light[2] * cr[1] + light[3] * cr[2]) / len;
      shaded[y * view.width + x] = [0, 1, 2].map((c) => gain * kd[c] * shade) as V3;
    }
    const inImage = (x: number, y: number) => x >= 0 && y >= 0 && x < view.width && y < view.height;
    // refine_forward.wgsl `background`
    const background = (inner: [number, number], outer: [number, number]) => {
      const far = [2 * outer[0] - inner[0], 2 * outer[1] - inner[1]];
      const near = photoAt(outer[0], outer[1]);
      if (!inImage(far[0], far[1])) return near.slice(0, 3);
      const beyond = photoAt(far[0], far[1]);
      return (beyond[3] <= 0.5 || near[3] > 0.5 ? beyond : near).slice(0, 3);
    };
    // refine_forward.wgsl `occlusionPair`
    const occlusionPair = (t: number, tq: number) => {
      if (!P.occlusion || tq === 0 || tq === t) return false;
      const adj = P.welded.faceAdj;
      return adj[3 * (t - 1)] !== tq - 1 && adj[3 * (t - 1) + 1] !== tq - 1 && adj[3 * (t - 1) + 2] !== tq - 1;
    };
    // refine_forward.wgsl `occlusionCrossing`: front's surface ends on the way to back's pixel, back's does not
    const occlusionCrossing = (front: number, back: number, pf: [number, number], pb: [number, number]) => {
      const c = outlineCrossing(params, P.welded, view, front - 1, pf, pb);
      return c !== null && outlineCrossing(params, P.welded, view, back - 1, pb, pf) === null ? c : null;
    };
    // refine_forward.wgsl `outlineAround` (the outline, and with `occlusion` the occlusion edges p is in front of; the
    // silhouette term takes the outline alone) and `behindAround` (`behind`): the neighbours with a crossing t (on the
    // segment from the front pixel of the two) and the nearest distance from p along x and along y (< 0: none)
    const around = (x: number, y: number, occlusion: boolean, behind = false) => {
      const t = at(x, y), covered = t > 0;
      const found: { q: [number, number]; t: number }[] = [];
      const nearest = [-1, -1];
      [[1, 0], [-1, 0], [0, 1], [0, -1]].forEach(([dx, dy], k) => {
        const q: [number, number] = [x + dx, y + dy];
        if (!inImage(q[0], q[1])) return;
        const tq = at(q[0], q[1]);
        let tt: number | null;
        if (behind) {
          if (!occlusionPair(t, tq)) return;
          tt = occlusionCrossing(tq, t, q, [x, y]);
        } else {
          const pair = covered && occlusion && occlusionPair(t, tq);
          if ((tq > 0) === covered && !pair) return;
          tt = pair ? occlusionCrossing(t, tq, [x, y], q) : outlineCrossing(params, P.welded, view, (covered ? t : tq) - 1, covered ? [x, y] : q, covered ? q : [x, y]);
        }
        if (tt === null) return;
        found.push({ q, t: tt });
        const d = covered && !behind ? tt : 1 - tt, axis = k < 2 ? 0 : 1;
        if (nearest[axis] < 0 || d < nearest[axis]) nearest[axis] = d;
      });
      return { found, distance: outlineDistance(nearest[0], nearest[1]) };
    };
    for (let y = 0; y < view.height; y++) for (let x = 0; x < view.width; x++) {
      const t = at(x, y);
      const photo = photoAt(x, y);
      const inMask = photo[3] > 0.5;
      if (!inMask && !(P.silWeight > 0 && t > 0)) continue;
      const { found, distance } = around(x, y, Boolean(P.occlusion));
      if (t > 0 && inMask) {
        // edge blend of a covered pixel with what lies behind its outline (and its occlusion edges), and with the
        // surfaces in front of it that end over it
        const own = shaded[y * view.width + x]!;
        const blend = Math.max(0, 0.5 - distance);
        const behind = [0, 0, 0];
        for (const { q } of found) background([x, y], q).forEach((b, c) => (behind[c] += b));
        const front = P.occlusion ? around(x, y, true, true) : { found: [], distance: 1e9 };
        const cover = front.found.length ? Math.max(0, 0.5 - front.distance) : 0;
        const cf = [0, 0, 0];
        for (const { q } of front.found) shaded[q[1] * view.width + q[0]]!.forEach((v, c) => (cf[c] += v / front.found.length));
        for (let c = 0; c < 3; c++) color += (own[c] * (1 - blend - cover) + (blend * behind[c]) / Math.max(found.length, 1) + cover * cf[c] - photo[c]) ** 2;
        if (cover > 0) occludedPixels++;
        if (found.some(({ q }) => at(q[0], q[1]) > 0)) occludingPixels++;
        colorPixels++;
      } else if (t === 0 && inMask) {
        // an uncovered pixel inside the mask that its covered neighbours' outline reaches
        const cover = Math.max(0, 0.5 - distance);
        if (cover > 0) {
          const mixed = [0, 0, 0], behind = [0, 0, 0];
          for (const { q } of found) {
            shaded[q[1] * view.width + q[0]]!.forEach((c, k) => (mixed[k] += c));
            background(q, [x, y]).forEach((b, k) => (behind[k] += b));
          }
          const n = found.length;
          for (let k = 0; k < 3; k++) color += ((behind[k] / n) * (1 - cover) + (cover * mixed[k]) / n - photo[k]) ** 2;
          colorPixels++;
        }
      }
      // silhouette consistency: a pixel on the wrong side of the mask's outline
      if (P.silWeight > 0 && (t > 0) !== inMask) {
        for (const { t: tt } of around(x, y, false).found) {
          const d = t > 0 ? tt + SIL_MARGIN : 1 + SIL_MARGIN - tt;
          silhouette += P.silWeight * d * d;
        }
      }
    }
  });
  return { color, silhouette, colorPixels, occludedPixels, occludingPixels, levels: Array.from(levels, (n) => n ?? 0) };
}

/** refine_forward.wgsl's `outlineDistance` (the value only): from the nearest crossings along x and y, < 0 where none. */
function outlineDistance(tx: number, ty: number): number {
  if (tx < 0 && ty < 0) return 1e9;
  if (ty < 0) return tx;
  if (tx < 0) return ty;
  if (tx + ty <= 0) return 0;
  return (tx * ty) / (tx + ty);
}

/** refine_silhouette.wgsl's SIL_MARGIN. */
const SIL_MARGIN = 0.25;
/** refine_outline.wgsl's MAX_WALK. */
const MAX_WALK = 8;

/** refine_outline.wgsl's `crossing`: where the segment inner -> outer leaves the projected surface, walking from
 * triangle `tri` across edges whose far triangle faces the same way on screen; null when it finds no outline. */
function outlineCrossing(params: Float64Array, welded: Welded, view: RefineView, tri: number, inner: [number, number], outer: [number, number]): number | null {
  const [fx, , cx, , fy, cy] = view.K;
  const F = welded.faces;
  const load = (f: number) => {
    const v = [0, 1, 2].map((k) => F[6 * f + k]);
    const s = v.map((vv) => {
      const q = camPoint(view, position(params, vv));
      return [fx * (q[0] / q[2]) + cx, fy * (q[1] / q[2]) + cy, q[2]];
    });
    const c2 = (u: number[], w: number[]) => u[0] * w[1] - u[1] * w[0];
    const sgn = c2([s[1][0] - s[0][0], s[1][1] - s[0][1]], [s[2][0] - s[0][0], s[2][1] - s[0][1]]) >= 0 ? 1 : -1;
    return { v, s, sgn, ok: s.every((ss) => ss[2] > 1e-6), c2 };
  };
  let cur = load(tri);
  let entered = 3;
  for (let step = 0; step < MAX_WALK; step++) {
    if (!cur.ok) return null;
    let best = -1, edge = 3;
    for (let k = 0; k < 3; k++) {
      if (k === entered) continue;
      const a = cur.s[k], b = cur.s[(k + 1) % 3];
      const ei = cur.sgn * cur.c2([b[0] - a[0], b[1] - a[1]], [inner[0] - a[0], inner[1] - a[1]]);
      const eo = cur.sgn * cur.c2([b[0] - a[0], b[1] - a[1]], [outer[0] - a[0], outer[1] - a[1]]);
      if (ei > 0 && eo < 0) {
        const tt = ei / (ei - eo);
        if (edge === 3 || tt < best) {
          best = tt;
          edge = k;
        }
      }
    }
    if (edge === 3) return null;
    const across = welded.faceAdj[3 * tri + edge];
    if (across === NO_FACE) return best;
    const next = load(across);
    if (!next.ok || next.sgn !== cur.sgn) return best;
    const va = cur.v[edge], vb = cur.v[(edge + 1) % 3];
    entered = [0, 1, 2].findLast((k) => {
      const na = next.v[k], nb = next.v[(k + 1) % 3];
      return (na === va && nb === vb) || (na === vb && nb === va);
    }) ?? 3;
    tri = across;
    cur = next;
  }
  return null;
}

/** Laplacian energy sum_v |d_v - mean_{N(v)} d_u|^2 of the offsets d = params - base. */
export function cpuLaplacian(params: Float64Array, welded: Welded): number {
  const W = welded.positions.length / 3;
  let e = 0;
  for (let v = 0; v < W; v++) {
    const from = welded.adjOffsets[v], to = welded.adjOffsets[v + 1];
    if (to === from) continue;
    for (let k = 0; k < 3; k++) {
      let sum = 0;
      for (let j = from; j < to; j++) {
        const u = welded.adjList[j];
        sum += params[3 * u + k] - welded.positions[3 * u + k];
      }
      e += (params[3 * v + k] - welded.positions[3 * v + k] - sum / (to - from)) ** 2;
    }
  }
  return e;
}
