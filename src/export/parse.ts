/**
 * Readers for what the exporters write (and for ordinary OBJ/PLY files users or tools provide): used by
 * validateMeshOutput, the evaluator and tests. OBJ faces with more than three corners are fanned into triangles.
 */

export interface ParsedObj {
  positions: Float32Array;
  /** Per-position colours 0..1 when every `v` line had them. */
  colors: Float32Array | null;
  uvs: Float32Array;
  normals: Float32Array;
  /** Per triangle corner: position, uv and normal indices (0-based; -1 when absent). */
  faceV: Uint32Array;
  faceVt: Int32Array;
  faceVn: Int32Array;
  mtllib: string[];
  usemtl: string[];
  errors: string[];
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Parses OBJ bytes. Problems (bad numbers, out-of-range indices) are collected in `errors`, not thrown. */
export function parseObj(bytes: Uint8Array): ParsedObj {
  const text = new TextDecoder().decode(bytes);
  const pos: number[] = [], col: number[] = [], uv: number[] = [], nor: number[] = [];
  const fv: number[] = [], ft: number[] = [], fn: number[] = [];
  const mtllib: string[] = [], usemtl: string[] = [], errors: string[] = [];
  let colorLines = 0, vLines = 0;
  let lineNo = 0;
  let start = 0;
  const corner: [number, number, number][] = [];
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    let s = start;
    while (s < end && isSpace(text.charCodeAt(s))) s++;
    const line = text.slice(s, end).trimEnd();
    start = end + 1;
    if (line.length === 0 || line[0] === '#') continue;
    const parts = line.split(/\s+/);
    const tag = parts[0];
    if (tag === 'v') {
      vLines++;
      for (let k = 1; k <= 3; k++) pos.push(Number(parts[k]));
      if (parts.length >= 7) {
        colorLines++;
        for (let k = 4; k <= 6; k++) col.push(Number(parts[k]));
      }
      if (parts.length < 4 || !parts.slice(1, 4).every((x) => Number.isFinite(Number(x)))) errors.push(`obj line ${lineNo}: bad vertex "${line}"`);
    } else if (tag === 'vt') {
      uv.push(Number(parts[1]), Number(parts[2] ?? 0));
      if (!Number.isFinite(Number(parts[1])) || !Number.isFinite(Number(parts[2] ?? 0))) errors.push(`obj line ${lineNo}: bad texture coordinate "${line}"`);
    } else if (tag === 'vn') {
      for (let k = 1; k <= 3; k++) nor.push(Number(parts[k]));
      if (parts.length < 4 || !parts.slice(1, 4).every((x) => Number.isFinite(Number(x)))) errors.push(`obj line ${lineNo}: bad normal "${line}"`);
    } else if (tag === 'f') {
      corner.length = 0;
      for (let k = 1; k < parts.length; k++) {
        const [a, b, c] = parts[k].split('/');
        const resolve = (token: string | undefined, count: number): number => {
          if (token === undefined || token === '') return -1;
          const i = Number(token);
          if (!Number.isInteger(i) || i === 0) return -2;
          return i > 0 ? i - 1 : count + i;
        };
        corner.push([resolve(a, pos.length / 3), resolve(b, uv.length / 2), resolve(c, nor.length / 3)]);
      }
      if (corner.length < 3) errors.push(`obj line ${lineNo}: face with ${corner.length} corners`);
      for (let k = 1; k + 1 < corner.length; k++) {
        for (const cc of [corner[0], corner[k], corner[k + 1]]) {
          if (cc[0] < 0 || cc[0] >= pos.length / 3) errors.push(`obj line ${lineNo}: vertex index out of range`);
          if (cc[1] === -2 || cc[1] >= uv.length / 2) errors.push(`obj line ${lineNo}: texture index out of range`);
          if (cc[2] === -2 || cc[2] >= nor.length / 3) errors.push(`obj line ${lineNo}: normal index out of range`);
          fv.push(Math.max(0, cc[0]));
          ft.push(cc[1]);
          fn.push(cc[2]);
        }
      }
    } else if (tag === 'mtllib') {
      mtllib.push(line.slice(6).trim());
    } else if (tag === 'usemtl') {
      usemtl.push(line.slice(6).trim());
    }
    if (errors.length > 20) break;
  }
  return {
    positions: new Float32Array(pos),
    colors: colorLines === vLines && vLines > 0 ? new Float32Array(col) : null,
    uvs: new Float32Array(uv),
    normals: new Float32Array(nor),
    faceV: new Uint32Array(fv),
    faceVt: new Int32Array(ft),
    faceVn: new Int32Array(fn),
    mtllib,
    usemtl,
    errors,
  };
}

export interface ParsedMtl {
  materials: { name: string; mapKd: string | null }[];
}

export function parseMtl(bytes: Uint8Array): ParsedMtl {
  const materials: ParsedMtl['materials'] = [];
  for (const raw of new TextDecoder().decode(bytes).split('\n')) {
    const line = raw.trim();
    if (line.startsWith('newmtl ')) materials.push({ name: line.slice(7).trim(), mapKd: null });
    else if (line.startsWith('map_Kd ') && materials.length) materials[materials.length - 1].mapKd = line.slice(7).trim();
  }
  return { materials };
}

export interface ParsedPly {
  vertexCount: number;
  faceCount: number;
  positions: Float32Array;
  normals: Float32Array | null;
  colors: Uint8Array | null;
  uvs: Float32Array | null;
  indices: Uint32Array;
  comments: string[];
}

const PLY_TYPES: Record<string, [number, string]> = {
  char: [1, 'Int8'], int8: [1, 'Int8'], uchar: [1, 'Uint8'], uint8: [1, 'Uint8'],
  short: [2, 'Int16'], int16: [2, 'Int16'], ushort: [2, 'Uint16'], uint16: [2, 'Uint16'],
  int: [4, 'Int32'], int32: [4, 'Int32'], uint: [4, 'Uint32'], uint32: [4, 'Uint32'],
  float: [4, 'Float32'], float32: [4, 'Float32'], double: [8, 'Float64'], float64: [8, 'Float64'],
};

/** Parses a binary little-endian PLY with vertex and (triangle or polygon) face elements. Throws with a reason. */
export function parsePly(bytes: Uint8Array): ParsedPly {
  const headEnd = findHeaderEnd(bytes);
  if (headEnd < 0) throw new Error('ply: no end_header');
  const header = new TextDecoder().decode(bytes.subarray(0, headEnd)).split('\n').map((l) => l.trim());
  if (header[0] !== 'ply') throw new Error('ply: missing magic');
  if (!header.includes('format binary_little_endian 1.0')) throw new Error('ply: only binary_little_endian 1.0 is read');
  interface Element { name: string; count: number; props: { name: string; type: string; listCount?: string }[] }
  const elements: Element[] = [];
  const comments: string[] = [];
  for (const line of header) {
    const parts = line.split(/\s+/);
    if (parts[0] === 'element') elements.push({ name: parts[1], count: Number(parts[2]), props: [] });
    else if (parts[0] === 'property' && elements.length) {
      const props = elements[elements.length - 1].props;
      if (parts[1] === 'list') props.push({ name: parts[4], type: parts[3], listCount: parts[2] });
      else props.push({ name: parts[2], type: parts[1] });
    } else if (parts[0] === 'comment') comments.push(line.slice(8));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = headEnd;
  const read = (type: string): number => {
    const spec = PLY_TYPES[type];
    if (!spec) throw new Error(`ply: unknown type ${type}`);
    if (p + spec[0] > bytes.byteLength) throw new Error('ply: file is truncated');
    const value = (view as unknown as Record<string, (o: number, le: boolean) => number>)[`get${spec[1]}`].call(view, p, true);
    p += spec[0];
    return value;
  };
  let positions = new Float32Array(0), normals: Float32Array | null = null, colors: Uint8Array | null = null, uvs: Float32Array | null = null;
  const indices: number[] = [];
  let vertexCount = 0, faceCount = 0;
  for (const element of elements) {
    if (element.name === 'vertex') {
      vertexCount = element.count;
      const names = element.props.map((pr) => pr.name);
      positions = new Float32Array(element.count * 3);
      if (names.includes('nx')) normals = new Float32Array(element.count * 3);
      if (names.includes('red')) colors = new Uint8Array(element.count * 3);
      const uName = names.includes('s') ? ['s', 't'] : names.includes('u') ? ['u', 'v'] : names.includes('texture_u') ? ['texture_u', 'texture_v'] : null;
      if (uName) uvs = new Float32Array(element.count * 2);
      for (let i = 0; i < element.count; i++) {
        for (const prop of element.props) {
          if (prop.listCount) throw new Error('ply: list property on vertices');
          const value = read(prop.type);
          switch (prop.name) {
            case 'x': positions[3 * i] = value; break;
            case 'y': positions[3 * i + 1] = value; break;
            case 'z': positions[3 * i + 2] = value; break;
            case 'nx': normals![3 * i] = value; break;
            case 'ny': normals![3 * i + 1] = value; break;
            case 'nz': normals![3 * i + 2] = value; break;
            case 'red': colors![3 * i] = value; break;
            case 'green': colors![3 * i + 1] = value; break;
            case 'blue': colors![3 * i + 2] = value; break;
            default:
              if (uName && prop.name === uName[0]) uvs![2 * i] = value;
              else if (uName && prop.name === uName[1]) uvs![2 * i + 1] = value;
          }
        }
      }
    } else if (element.name === 'face') {
      faceCount = element.count;
      for (let i = 0; i < element.count; i++) {
        for (const prop of element.props) {
          if (!prop.listCount) {
            read(prop.type);
            continue;
          }
          const n = read(prop.listCount);
          const corners: number[] = [];
          for (let k = 0; k < n; k++) corners.push(read(prop.type));
          if (prop.name === 'vertex_indices' || prop.name === 'vertex_index') {
            for (let k = 1; k + 1 < n; k++) indices.push(corners[0], corners[k], corners[k + 1]);
          }
        }
      }
    } else {
      for (let i = 0; i < element.count; i++) {
        for (const prop of element.props) {
          if (prop.listCount) {
            const n = read(prop.listCount);
            for (let k = 0; k < n; k++) read(prop.type);
          } else read(prop.type);
        }
      }
    }
  }
  return { vertexCount, faceCount, positions, normals, colors, uvs, indices: new Uint32Array(indices), comments };
}

function findHeaderEnd(bytes: Uint8Array): number {
  const marker = 'end_header\n';
  const limit = Math.min(bytes.length, 65536);
  outer: for (let i = 0; i + marker.length <= limit; i++) {
    for (let k = 0; k < marker.length; k++) if (bytes[i + k] !== marker.charCodeAt(k)) continue outer;
    return i + marker.length;
  }
  return -1;
}
