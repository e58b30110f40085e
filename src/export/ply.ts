/**
 * Binary little-endian PLY writer: positions, normals, RGB colours and UVs (as `s`/`t`, OBJ convention: t = 1 - v)
 * when present; faces as `list uchar uint`. Header text + exact-size binary body written through a DataView.
 */
import type { Mesh } from '../core/mesh';

export interface PlyOptions {
  /** Named in a `comment TextureFile` line, as MeshLab does. */
  textureFile?: string | null;
  comment?: string;
}

export function encodePly(mesh: Mesh, options: PlyOptions = {}): Uint8Array {
  const { positions, indices, normals, colors, uvs } = mesh;
  const n = positions.length / 3;
  const faces = indices.length / 3;
  const header = [
    'ply',
    'format binary_little_endian 1.0',
    `comment ${options.comment ?? 'WebRecon'}`,
    ...(options.textureFile ? [`comment TextureFile ${options.textureFile}`] : []),
    `element vertex ${n}`,
    'property float x',
    'property float y',
    'property float z',
    ...(normals ? ['property float nx', 'property float ny', 'property float nz'] : []),
    ...(colors ? ['property uchar red', 'property uchar green', 'property uchar blue'] : []),
    ...(uvs ? ['property float s', 'property float t'] : []),
    `element face ${faces}`,
    'property list uchar uint vertex_indices',
    'end_header',
    '',
  ].join('\n');
  const headerBytes = new TextEncoder().encode(header);
  const vertexStride = 12 + (normals ? 12 : 0) + (colors ? 3 : 0) + (uvs ? 8 : 0);
  const size = headerBytes.length + n * vertexStride + faces * 13;
  const out = new Uint8Array(size);
  out.set(headerBytes, 0);
  const view = new DataView(out.buffer);
  let p = headerBytes.length;
  for (let i = 0; i < n; i++) {
    view.setFloat32(p, positions[3 * i], true);
    view.setFloat32(p + 4, positions[3 * i + 1], true);
    view.setFloat32(p + 8, positions[3 * i + 2], true);
    p += 12;
    if (normals) {
      view.setFloat32(p, normals[3 * i], true);
      view.setFloat32(p + 4, normals[3 * i + 1], true);
      view.setFloat32(p + 8, normals[3 * i + 2], true);
      p += 12;
    }
    if (colors) {
      out[p] = colors[3 * i];
      out[p + 1] = colors[3 * i + 1];
      out[p + 2] = colors[3 * i + 2];
      p += 3;
    }
    if (uvs) {
      view.setFloat32(p, uvs[2 * i], true);
      view.setFloat32(p + 4, 1 - uvs[2 * i + 1], true);
      p += 8;
    }
  }
  for (let f = 0; f < indices.length; f += 3) {
    out[p] = 3;
    view.setUint32(p + 1, indices[f], true);
    view.setUint32(p + 5, indices[f + 1], true);
    view.setUint32(p + 9, indices[f + 2], true);
    p += 13;
  }
  if (p !== size) throw new Error(`export: PLY size mismatch (counted ${size}, wrote ${p})`);
  return out;
}
