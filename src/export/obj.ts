/**
 * Wavefront OBJ + MTL writers. Counting pass first, then one exact-size buffer.
 * Texture coordinates: our meshes keep v = 0 at the top of the image; OBJ's vt has v = 0 at the bottom (what Blender
 * and three.js' OBJLoader + flipY textures read), so vt = (u, 1 - v).
 * Vertex colours, when present, use the common `v x y z r g b` extension (0..1), read by three.js, Blender, MeshLab.
 */
import type { Mesh } from '../core/mesh';
import { fixedLength, uintLength, writeAscii, writeFixed, writeUint } from './textWriter';

export interface ObjOptions {
  /** MTL file to reference (e.g. "mesh.mtl"); omitted when null. */
  mtlFile: string | null;
  materialName?: string;
  header?: string;
}

const POS_DECIMALS = 6;
const NORMAL_DECIMALS = 4;
const UV_DECIMALS = 6;
const COLOR_DECIMALS = 4;

export function encodeObj(mesh: Mesh, options: ObjOptions): Uint8Array {
  const { positions, indices, normals, uvs, colors } = mesh;
  const n = positions.length / 3;
  if (normals && normals.length !== positions.length) throw new Error('export: normals length differs from positions');
  if (uvs && uvs.length !== n * 2) throw new Error('export: uvs length differs from vertex count');
  if (colors && colors.length !== n * 3) throw new Error('export: colors length differs from vertex count');
  const material = options.materialName ?? 'material0';
  const head =
    `# ${options.header ?? 'WebRecon'}\n# vertices ${n} faces ${indices.length / 3}\n` +
    (options.mtlFile ? `mtllib ${options.mtlFile}\n` : '') + 'o mesh\n';
  const useMtl = options.mtlFile ? `usemtl ${material}\n` : '';
  const faceSep = uvs && normals ? 2 : normals ? 3 : uvs ? 1 : 0; // "a/a/a", "a//a", "a/a", "a"

  // Counting pass.
  let size = head.length + useMtl.length;
  for (let i = 0; i < n; i++) {
    size += 2 + fixedLength(positions[3 * i], POS_DECIMALS) + 1 + fixedLength(positions[3 * i + 1], POS_DECIMALS) + 1 +
      fixedLength(positions[3 * i + 2], POS_DECIMALS) + 1;
    if (colors) {
      for (let c = 0; c < 3; c++) size += 1 + fixedLength(colors[3 * i + c] / 255, COLOR_DECIMALS);
    }
  }
  if (uvs) {
    for (let i = 0; i < n; i++) size += 3 + fixedLength(uvs[2 * i], UV_DECIMALS) + 1 + fixedLength(1 - uvs[2 * i + 1], UV_DECIMALS) + 1;
  }
  if (normals) {
    for (let i = 0; i < n; i++) {
      size += 3 + fixedLength(normals[3 * i], NORMAL_DECIMALS) + 1 + fixedLength(normals[3 * i + 1], NORMAL_DECIMALS) + 1 +
        fixedLength(normals[3 * i + 2], NORMAL_DECIMALS) + 1;
    }
  }
  const repeats = faceSep === 2 ? 3 : faceSep === 0 ? 1 : 2;
  const sepChars = faceSep === 2 ? 2 : faceSep === 3 ? 2 : faceSep === 1 ? 1 : 0;
  for (let f = 0; f < indices.length; f++) {
    const index = indices[f];
    if (index >= n) throw new Error(`export: face index ${index} out of range (${n} vertices)`);
    size += repeats * uintLength(index + 1) + sepChars + 1; // + space before each corner
  }
  size += (indices.length / 3) * 2; // "f" per face + newline; the 3 spaces are counted per corner

  // Writing pass.
  const out = new Uint8Array(size);
  let p = writeAscii(out, 0, head);
  for (let i = 0; i < n; i++) {
    out[p++] = 118; // v
    out[p++] = 32;
    p = writeFixed(out, p, positions[3 * i], POS_DECIMALS);
    out[p++] = 32;
    p = writeFixed(out, p, positions[3 * i + 1], POS_DECIMALS);
    out[p++] = 32;
    p = writeFixed(out, p, positions[3 * i + 2], POS_DECIMALS);
    if (colors) {
      for (let c = 0; c < 3; c++) {
        out[p++] = 32;
        p = writeFixed(out, p, colors[3 * i + c] / 255, COLOR_DECIMALS);
      }
    }
    out[p++] = 10;
  }
  if (uvs) {
    for (let i = 0; i < n; i++) {
      out[p++] = 118; out[p++] = 116; out[p++] = 32; // "vt "
      p = writeFixed(out, p, uvs[2 * i], UV_DECIMALS);
      out[p++] = 32;
      p = writeFixed(out, p, 1 - uvs[2 * i + 1], UV_DECIMALS);
      out[p++] = 10;
    }
  }
  if (normals) {
    for (let i = 0; i < n; i++) {
      out[p++] = 118; out[p++] = 110; out[p++] = 32; // "vn "
      p = writeFixed(out, p, normals[3 * i], NORMAL_DECIMALS);
      out[p++] = 32;
      p = writeFixed(out, p, normals[3 * i + 1], NORMAL_DECIMALS);
      out[p++] = 32;
      p = writeFixed(out, p, normals[3 * i + 2], NORMAL_DECIMALS);
      out[p++] = 10;
    }
  }
  p = writeAscii(out, p, useMtl);
  // Faces: the index is written once and its digits copied for the vt/vn references.
  for (let f = 0; f < indices.length; f += 3) {
    out[p++] = 102; // f
    for (let k = 0; k < 3; k++) {
      out[p++] = 32;
      const begin = p;
      p = writeUint(out, p, indices[f + k] + 1);
      if (faceSep === 0) continue;
      const len = p - begin;
      out[p++] = 47;
      if (faceSep === 3) out[p++] = 47;
      for (let r = faceSep === 2 ? 2 : 1; r > 0; r--) {
        for (let d = 0; d < len; d++) out[p + d] = out[begin + d];
        p += len;
        if (r > 1) out[p++] = 47;
      }
    }
    out[p++] = 10;
  }
  if (p !== size) throw new Error(`export: OBJ size mismatch (counted ${size}, wrote ${p})`);
  return out;
}

export interface MtlOptions {
  materialName?: string;
  /** Diffuse texture file name (map_Kd); null for an untextured material. */
  textureFile: string | null;
  /** Extra maps when the refinement optimised them. */
  normalMapFile?: string;
  specularMapFile?: string;
}

export function encodeMtl(options: MtlOptions): Uint8Array {
  const lines = [
    '# WebRecon material',
    `newmtl ${options.materialName ?? 'material0'}`,
    'Ka 1 1 1',
    'Kd 1 1 1',
    'Ks 0 0 0',
    'Ns 10',
    'd 1',
    'illum 1',
  ];
  if (options.textureFile) lines.push(`map_Kd ${options.textureFile}`);
  if (options.normalMapFile) lines.push(`norm ${options.normalMapFile}`, `map_Bump ${options.normalMapFile}`);
  if (options.specularMapFile) lines.push(`map_Ks ${options.specularMapFile}`);
  return new TextEncoder().encode(lines.join('\n') + '\n');
}
