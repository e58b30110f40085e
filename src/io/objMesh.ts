/**
 * Loads a textured OBJ (+ MTL + diffuse texture PNG) into a RenderableMesh (per-corner positions, uvs, normals) and
 * an indexed triangle list for geometry work. OBJ texture v (0 at the bottom) becomes our v (0 at the top).
 */
import { decode as decodePng } from 'fast-png';
import type { RgbaImage } from '../core/mesh';
import { parseMtl, parseObj } from '../export/parse';
import { FLOATS_PER_CORNER, type RenderableMesh } from '../stages/render/types';

export function decodeRgbaPng(bytes: Uint8Array): RgbaImage {
  const png = decodePng(bytes);
  const n = png.width * png.height;
  const c = png.channels;
  const data = new Uint8Array(n * 4);
  const shift = png.depth === 16 ? 8 : 0;
  for (let i = 0; i < n; i++) {
    const g = png.data[i * c] >> shift;
    data[4 * i] = g;
    data[4 * i + 1] = c >= 3 ? png.data[i * c + 1] >> shift : g;
    data[4 * i + 2] = c >= 3 ? png.data[i * c + 2] >> shift : g;
    data[4 * i + 3] = c === 4 ? png.data[i * c + 3] >> shift : c === 2 ? png.data[i * c + 1] >> shift : 255;
  }
  return { width: png.width, height: png.height, data };
}

export interface LoadedObj {
  renderable: RenderableMesh;
  /** Indexed positions and triangles (OBJ vertex order). */
  positions: Float32Array;
  indices: Uint32Array;
  textureFile: string | null;
}

/** `files` maps names (as the OBJ/MTL refer to them) to bytes. */
export function loadTexturedObj(objName: string, files: Record<string, Uint8Array>): LoadedObj {
  const obj = parseObj(files[objName]);
  if (obj.errors.length) throw new Error(`${objName}: ${obj.errors.slice(0, 3).join('; ')}`);
  let texture: RgbaImage | null = null;
  let textureFile: string | null = null;
  for (const mtlName of obj.mtllib) {
    const mtl = files[mtlName] ? parseMtl(files[mtlName]) : null;
    const map = mtl?.materials.find((m) => m.mapKd)?.mapKd;
    if (map && files[map]) {
      texture = decodeRgbaPng(files[map]);
      textureFile = map;
      break;
    }
  }
  const corners = new Float32Array(obj.faceV.length * FLOATS_PER_CORNER);
  const P = obj.positions;
  for (let t = 0; t < obj.faceV.length; t += 3) {
    // flat normal for corners without one
    const [a, b, c] = [obj.faceV[t] * 3, obj.faceV[t + 1] * 3, obj.faceV[t + 2] * 3];
    const e1 = [P[b] - P[a], P[b + 1] - P[a + 1], P[b + 2] - P[a + 2]], e2 = [P[c] - P[a], P[c + 1] - P[a + 1], P[c + 2] - P[a + 2]];
    const fn = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const len = Math.hypot(fn[0], fn[1], fn[2]) || 1;
    for (let k = 0; k < 3; k++) {
      const i = t + k, o = i * FLOATS_PER_CORNER, v = obj.faceV[i] * 3;
      corners.set([P[v], P[v + 1], P[v + 2]], o);
      const vt = obj.faceVt[i];
      corners.set(vt >= 0 ? [obj.uvs[2 * vt], 1 - obj.uvs[2 * vt + 1]] : [0, 0], o + 3);
      const vn = obj.faceVn[i];
      corners.set(vn >= 0 ? [obj.normals[3 * vn], obj.normals[3 * vn + 1], obj.normals[3 * vn + 2]] : [fn[0] / len, fn[1] / len, fn[2] / len], o + 5);
      if (obj.colors) corners.set([obj.colors[v], obj.colors[v + 1], obj.colors[v + 2]], o + 8);
    }
  }
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < P.length; v += 3) for (let k = 0; k < 3; k++) {
    min[k] = Math.min(min[k], P[v + k]);
    max[k] = Math.max(max[k], P[v + k]);
  }
  const centre = [0, 1, 2].map((k) => (min[k] + max[k]) / 2) as [number, number, number];
  const radius = Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) / 2;
  return { renderable: { corners, texture, centre, radius, vertexColors: !texture && obj.colors !== null }, positions: P, indices: obj.faceV, textureFile };
}

/** Applies a similarity (4x4 row-major) to a renderable mesh's positions and normals. */
export function transformRenderable(mesh: RenderableMesh, m: number[]): RenderableMesh {
  const corners = new Float32Array(mesh.corners);
  const scale = Math.cbrt(Math.abs(m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8])));
  for (let o = 0; o < corners.length; o += FLOATS_PER_CORNER) {
    const [x, y, z, , , nx, ny, nz] = corners.subarray(o, o + FLOATS_PER_CORNER);
    corners[o] = m[0] * x + m[1] * y + m[2] * z + m[3];
    corners[o + 1] = m[4] * x + m[5] * y + m[6] * z + m[7];
    corners[o + 2] = m[8] * x + m[9] * y + m[10] * z + m[11];
    corners[o + 5] = (m[0] * nx + m[1] * ny + m[2] * nz) / scale;
    corners[o + 6] = (m[4] * nx + m[5] * ny + m[6] * nz) / scale;
    corners[o + 7] = (m[8] * nx + m[9] * ny + m[10] * nz) / scale;
  }
  const c = mesh.centre;
  const centre: [number, number, number] = [m[0] * c[0] + m[1] * c[1] + m[2] * c[2] + m[3], m[4] * c[0] + m[5] * c[1] + m[6] * c[2] + m[7], m[8] * c[0] + m[9] * c[1] + m[10] * c[2] + m[11]];
  return { ...mesh, corners, centre, radius: mesh.radius * scale };
}
