/**
 * Marching-cubes case table, generated rather than typed in. For each of the 256 inside/outside corner
 * configurations, the iso-contour on each cube face is traced with one fixed rule for ambiguous faces (the
 * contour cuts off each inside corner, i.e. inside corners on a face diagonal are kept apart). Two cubes sharing a
 * face see the same four signs and so draw the same segments there: meshes are watertight by construction.
 * Face segments are chained into loops, each loop fanned into triangles oriented so that their normals point from
 * inside (tsdf < 0) to outside.
 *
 * Corner c of a cube is at (c & 1, (c >> 1) & 1, (c >> 2) & 1). Edge e joins two corners differing in one axis.
 */

/** Corner pairs of the 12 edges: edges 0-3 along x, 4-7 along y, 8-11 along z. */
export const EDGE_CORNERS: [number, number][] = (() => {
  const edges: [number, number][] = [];
  for (let axis = 0; axis < 3; axis++) {
    for (let c = 0; c < 8; c++) if (!(c & (1 << axis))) edges.push([c, c | (1 << axis)]);
  }
  return edges;
})();

/** Axis of each edge and the offset of its lower corner (the voxel that owns the edge). */
export const EDGE_AXIS = EDGE_CORNERS.map(([a, b]) => Math.log2(a ^ b));
export const EDGE_OWNER = EDGE_CORNERS.map(([a]) => [a & 1, (a >> 1) & 1, (a >> 2) & 1] as [number, number, number]);

function edgeOf(a: number, b: number): number {
  return EDGE_CORNERS.findIndex(([x, y]) => (x === a && y === b) || (x === b && y === a));
}

/** The 6 faces as corner cycles. */
const FACES: number[][] = (() => {
  const faces: number[][] = [];
  for (let axis = 0; axis < 3; axis++) {
    const u = (axis + 1) % 3, v = (axis + 2) % 3;
    for (const side of [0, 1]) {
      const base = side << axis;
      faces.push([base, base | (1 << u), base | (1 << u) | (1 << v), base | (1 << v)]);
    }
  }
  return faces;
})();

const corner = (c: number) => [c & 1, (c >> 1) & 1, (c >> 2) & 1];

export const MAX_TRIANGLES_PER_CUBE = 12;

export interface McTable {
  /** 256 x 12-bit masks of the edges a case crosses. */
  edgeMask: Uint32Array;
  /** 256 x (3 * MAX_TRIANGLES_PER_CUBE) edge ids, -1 terminated. */
  triangles: Int32Array;
  /** Triangles per case. */
  triangleCount: Uint32Array;
}

let cached: McTable | null = null;

export function marchingCubesTable(): McTable {
  if (cached) return cached;
  const stride = 3 * MAX_TRIANGLES_PER_CUBE;
  const triangles = new Int32Array(256 * stride).fill(-1);
  const edgeMask = new Uint32Array(256);
  const triangleCount = new Uint32Array(256);
  for (let config = 0; config < 256; config++) {
    const inside = (c: number) => ((config >> c) & 1) === 1;
    // Segments on faces, as [fromEdge, toEdge]; direction fixed below by orientation of loops.
    const next = new Map<number, number[]>();
    const addSegment = (e1: number, e2: number) => {
      next.set(e1, [...(next.get(e1) ?? []), e2]);
      next.set(e2, [...(next.get(e2) ?? []), e1]);
    };
    for (const face of FACES) {
      const crossings: number[] = [];
      for (let k = 0; k < 4; k++) {
        const a = face[k], b = face[(k + 1) % 4];
        if (inside(a) !== inside(b)) crossings.push(k);
      }
      if (crossings.length === 2) {
        addSegment(edgeOf(face[crossings[0]], face[(crossings[0] + 1) % 4]), edgeOf(face[crossings[1]], face[(crossings[1] + 1) % 4]));
      } else if (crossings.length === 4) {
        // Ambiguous face: cut off each inside corner with the two edges that meet at it.
        for (let k = 0; k < 4; k++) {
          if (!inside(face[k])) continue;
          const prev = face[(k + 3) % 4], nextCorner = face[(k + 1) % 4];
          addSegment(edgeOf(prev, face[k]), edgeOf(face[k], nextCorner));
        }
      }
    }
    for (const e of next.keys()) edgeMask[config] |= 1 << e;
    // Each crossing edge lies on two faces, so it has exactly two neighbours: chain into loops.
    const visited = new Set<number>();
    const loops: number[][] = [];
    for (const start of next.keys()) {
      if (visited.has(start)) continue;
      const loop = [start];
      visited.add(start);
      let prev = -1, cur = start;
      for (;;) {
        const nbrs = next.get(cur)!;
        const nxt = nbrs[0] !== prev || nbrs.length === 1 ? nbrs[0] : nbrs[1];
        if (nxt === start || visited.has(nxt)) break;
        loop.push(nxt);
        visited.add(nxt);
        prev = cur;
        cur = nxt;
      }
      loops.push(loop);
    }
    let t = 0;
    for (let loop of loops) {
      // Orientation: polygon normal (Newell) must point from inside corners to outside ones along the edges.
      const pts = loop.map((e) => {
        const [a, b] = EDGE_CORNERS[e];
        return corner(a).map((v, i) => (v + corner(b)[i]) / 2);
      });
      const n = [0, 0, 0];
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i], q = pts[(i + 1) % pts.length];
        n[0] += (p[1] - q[1]) * (p[2] + q[2]);
        n[1] += (p[2] - q[2]) * (p[0] + q[0]);
        n[2] += (p[0] - q[0]) * (p[1] + q[1]);
      }
      let out = 0;
      for (const e of loop) {
        const [a, b] = EDGE_CORNERS[e];
        const [i, o] = inside(a) ? [a, b] : [b, a];
        const d = corner(o).map((v, k) => v - corner(i)[k]);
        out += d[0] * n[0] + d[1] * n[1] + d[2] * n[2];
      }
      if (out < 0) loop = [...loop].reverse();
      for (let k = 1; k + 1 < loop.length; k++) {
        triangles.set([loop[0], loop[k], loop[k + 1]], config * stride + 3 * t);
        t++;
      }
    }
    if (t > MAX_TRIANGLES_PER_CUBE) throw new Error(`mcTable: case ${config} needs ${t} triangles`);
    triangleCount[config] = t;
  }
  cached = { edgeMask, triangles, triangleCount };
  return cached;
}
