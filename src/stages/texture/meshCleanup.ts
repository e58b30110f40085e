/**
 * Mesh cleanup before decimation: small disconnected pieces (floaters from stray depth) are dropped (by
 * removeSmallComponents in core/mesh, with SMALL_PIECE_FILTER), and small holes (boundary loops of a few edges, left
 * where no depth map saw the surface) are closed. Both run on the CPU on the indexed mesh; colours follow their
 * vertices (a hole's new centre vertex gets its loop's mean colour).
 */
import type { ComponentFilter, Mesh } from '../../core/mesh';

/**
 * A component is dropped when its surface area is below this fraction of the largest component's. Area rather than face count: fusion's faces are near-uniform, but a decimated or foreign mesh's are
 * not, and a big flat piece tessellated coarsely must not count as small.
 */
export const SMALL_PIECE_FILTER: ComponentFilter = { by: 'area', minFraction: 0.01 };
/** Boundary loops of at most this many edges are filled. */
export const MAX_HOLE_EDGES = 32;

/**
 * Closes every boundary loop of at most `maxEdges` edges with a fan around a new vertex at the loop's centroid,
 * oriented like the faces around it (a boundary edge a->b of a face gets the fill triangle b, a, centre). Loops are
 * traced over boundary half-edges; a vertex with more than one outgoing boundary edge (where two holes touch or the
 * surface is non-manifold) makes tracing ambiguous, so loops through one are left open. Normals are dropped (the
 * caller recomputes them). Returns the filled mesh and how many holes were closed.
 */
export function fillSmallHoles(mesh: Mesh, maxEdges = MAX_HOLE_EDGES): Mesh & { holesFilled: number; openLoops: number } {
  const { positions: P, indices: I } = mesh;
  const nv = P.length / 3;
  // Every face's half-edges a->b grouped by a (CSR: typed arrays, so a fused mesh of millions of faces stays cheap).
  const start = new Uint32Array(nv + 1);
  for (let i = 0; i < I.length; i++) start[I[i] + 1]++;
  for (let v = 0; v < nv; v++) start[v + 1] += start[v];
  const target = new Uint32Array(I.length), fill = start.slice(0, nv);
  for (let t = 0; t < I.length; t += 3) for (let k = 0; k < 3; k++) target[fill[I[t + k]]++] = I[t + ((k + 1) % 3)];
  const count = (a: number, b: number) => {
    let n = 0;
    for (let e = start[a]; e < start[a + 1]; e++) if (target[e] === b) n++;
    return n;
  };
  // A boundary half-edge a->b: used once, and no face has b->a.
  const next = new Map<number, number>(), ambiguous = new Set<number>();
  for (let a = 0; a < nv; a++) for (let e = start[a]; e < start[a + 1]; e++) {
    const b = target[e];
    if (count(b, a) > 0 || count(a, b) !== 1) continue;
    if (next.has(a)) ambiguous.add(a);
    next.set(a, b);
  }
  const visited = new Set<number>();
  const newPositions: number[] = [], newNormals: number[] = [], newColors: number[] = [], newFaces: number[] = [];
  let holesFilled = 0, openLoops = 0;
  for (const first of next.keys()) {
    if (visited.has(first)) continue;
    const loop: number[] = [];
    let v = first, ok = true;
    while (true) {
      if (ambiguous.has(v)) ok = false;
      visited.add(v);
      loop.push(v);
      const n = next.get(v);
      if (n === undefined) {
        ok = false;
        break;
      }
      if (n === first) break;
      if (visited.has(n) || loop.length > nv) {
        ok = false;
        break;
      }
      v = n;
    }
    openLoops++;
    if (!ok || loop.length < 3 || loop.length > maxEdges) continue;
    const centre = nv + newPositions.length / 3;
    const c = [0, 0, 0], col = [0, 0, 0], nrm = [0, 0, 0];
    for (const u of loop) for (let k = 0; k < 3; k++) {
      c[k] += P[3 * u + k] / loop.length;
      if (mesh.colors) col[k] += mesh.colors[3 * u + k] / loop.length;
      if (mesh.normals) nrm[k] += mesh.normals[3 * u + k];
    }
    newPositions.push(...c);
    newColors.push(...col.map(Math.round));
    const len = Math.hypot(nrm[0], nrm[1], nrm[2]) || 1;
    newNormals.push(nrm[0] / len, nrm[1] / len, nrm[2] / len);
    for (let i = 0; i < loop.length; i++) newFaces.push(loop[(i + 1) % loop.length], loop[i], centre);
    holesFilled++;
    openLoops--;
  }
  const positions = new Float32Array(P.length + newPositions.length);
  positions.set(P);
  positions.set(newPositions, P.length);
  const indices = new Uint32Array(I.length + newFaces.length);
  indices.set(I);
  indices.set(newFaces, I.length);
  let colors: Uint8Array | undefined;
  if (mesh.colors) {
    colors = new Uint8Array(positions.length);
    colors.set(mesh.colors);
    colors.set(newColors, mesh.colors.length);
  }
  // The fused mesh's own normals are kept (the bake weights views by them); each centre gets its loop's mean normal.
  let normals: Float32Array | undefined;
  if (mesh.normals) {
    normals = new Float32Array(positions.length);
    normals.set(mesh.normals);
    normals.set(newNormals, mesh.normals.length);
  }
  return { positions, indices, ...(colors ? { colors } : {}), ...(normals ? { normals } : {}), holesFilled, openLoops };
}
