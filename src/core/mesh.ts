/**
 * Mesh data crossing stages and the worker boundary: plain typed arrays, never class instances.
 *
 * Conventions:
 * - `positions`: xyz per vertex, in the capture's world frame and units.
 * - `indices`: three vertex indices per triangle, counter-clockwise seen from outside (right-handed).
 * - Attributes are per vertex (vertices are split where a UV seam runs), as in glTF and three.js.
 * - `uvs`: (u, v) per vertex in IMAGE convention: v = 0 is the TOP row of the texture. The OBJ/PLY writers flip
 *   to the OBJ convention (v = 0 at the bottom) that Blender and three.js (flipY textures) read.
 * - `colors`: RGB 0..255 per vertex.
 */
export interface Mesh {
  positions: Float32Array;
  indices: Uint32Array;
  normals?: Float32Array;
  colors?: Uint8Array;
  uvs?: Float32Array;
}

/** An RGBA8 image, rows top to bottom. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface TexturedMesh extends Mesh {
  uvs: Float32Array;
  texture: RgbaImage;
}

export function vertexCount(mesh: Mesh): number {
  return mesh.positions.length / 3;
}

export function faceCount(mesh: Mesh): number {
  return mesh.indices.length / 3;
}

/** Area-weighted vertex normals (unit length; zero-area neighbourhoods get +Z). */
export function computeVertexNormals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const normals = new Float32Array(positions.length);
  for (let f = 0; f < indices.length; f += 3) {
    const a = indices[f] * 3, b = indices[f + 1] * 3, c = indices[f + 2] * 3;
    const e1x = positions[b] - positions[a], e1y = positions[b + 1] - positions[a + 1], e1z = positions[b + 2] - positions[a + 2];
    const e2x = positions[c] - positions[a], e2y = positions[c + 1] - positions[a + 1], e2z = positions[c + 2] - positions[a + 2];
    const nx = e1y * e2z - e1z * e2y, ny = e1z * e2x - e1x * e2z, nz = e1x * e2y - e1y * e2x;
    for (const v of [a, b, c]) {
      normals[v] += nx;
      normals[v + 1] += ny;
      normals[v + 2] += nz;
    }
  }
  for (let v = 0; v < normals.length; v += 3) {
    const len = Math.hypot(normals[v], normals[v + 1], normals[v + 2]);
    if (len > 0) {
      normals[v] /= len;
      normals[v + 1] /= len;
      normals[v + 2] /= len;
    } else {
      normals[v + 2] = 1;
    }
  }
  return normals;
}

/** Keeps only the vertices `indices` use (first-use order); normals and colours follow. */
export function compactMesh(mesh: Mesh, indices: Uint32Array): Mesh {
  const remap = new Int32Array(mesh.positions.length / 3).fill(-1);
  let count = 0;
  const out = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (remap[v] < 0) remap[v] = count++;
    out[i] = remap[v];
  }
  const positions = new Float32Array(count * 3);
  const normals = mesh.normals ? new Float32Array(count * 3) : undefined;
  const colors = mesh.colors ? new Uint8Array(count * 3) : undefined;
  for (let v = 0; v < remap.length; v++) {
    const r = remap[v];
    if (r < 0) continue;
    positions.set(mesh.positions.subarray(3 * v, 3 * v + 3), 3 * r);
    if (normals && mesh.normals) normals.set(mesh.normals.subarray(3 * v, 3 * v + 3), 3 * r);
    if (colors && mesh.colors) colors.set(mesh.colors.subarray(3 * v, 3 * v + 3), 3 * r);
  }
  return { positions, indices: out, ...(normals ? { normals } : {}), ...(colors ? { colors } : {}) };
}

/** Which connected components `removeSmallComponents` keeps, by size relative to the largest one. */
export interface ComponentFilter {
  /** Size as surface area (robust to uneven tessellation) or as face count (cheaper; fine for near-uniform faces). */
  by: 'area' | 'faces';
  /** A component is kept when its size is at least this fraction of the largest component's ... */
  minFraction: number;
  /** ... and at least this absolute size (capped at the largest's, so the largest always stays). Default 0. */
  minSize?: number;
}

function triangleArea(P: Float32Array, a: number, b: number, c: number): number {
  const e1 = [P[3 * b] - P[3 * a], P[3 * b + 1] - P[3 * a + 1], P[3 * b + 2] - P[3 * a + 2]];
  const e2 = [P[3 * c] - P[3 * a], P[3 * c + 1] - P[3 * a + 1], P[3 * c + 2] - P[3 * a + 2]];
  return 0.5 * Math.hypot(e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]);
}

/**
 * Removes connected components (faces joined through shared vertices) smaller than `filter` allows, then drops the
 * vertices no face uses any more (compactMesh; face order is kept). `components` counts all components with a face,
 * `keptComponents` those kept.
 */
export function removeSmallComponents(mesh: Mesh, filter: ComponentFilter): Mesh & { removedFaces: number; components: number; keptComponents: number } {
  const { positions: P, indices: I } = mesh;
  const nv = P.length / 3, nf = I.length / 3;
  const parent = new Int32Array(nv).map((_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (let f = 0; f < nf; f++) {
    const a = find(I[3 * f]);
    for (let k = 1; k < 3; k++) {
      const b = find(I[3 * f + k]);
      if (a !== b) parent[b] = a;
    }
  }
  const size = new Map<number, number>();
  for (let f = 0; f < nf; f++) {
    const r = find(I[3 * f]);
    size.set(r, (size.get(r) ?? 0) + (filter.by === 'area' ? triangleArea(P, I[3 * f], I[3 * f + 1], I[3 * f + 2]) : 1));
  }
  let largest = 0;
  for (const s of size.values()) largest = Math.max(largest, s);
  const threshold = Math.max(Math.min(filter.minSize ?? 0, largest), filter.minFraction * largest);
  const kept = new Uint32Array(I.length);
  let n = 0;
  for (let f = 0; f < nf; f++) {
    if (size.get(find(I[3 * f]))! < threshold) continue;
    kept.set(I.subarray(3 * f, 3 * f + 3), n);
    n += 3;
  }
  let keptComponents = 0;
  for (const s of size.values()) if (s >= threshold) keptComponents++;
  return { ...compactMesh(mesh, kept.subarray(0, n)), removedFaces: nf - n / 3, components: size.size, keptComponents };
}
