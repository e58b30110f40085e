import { unzipSync, zipSync } from 'fflate';
import { decode as decodePng } from 'fast-png';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js';
import { ColorManagement } from 'three';
import { describe, expect, it } from 'vitest';
import { computeVertexNormals, type Mesh, type RgbaImage } from '../../src/core/mesh';
import { emptyReport } from '../../src/core/report';
import { encodeObj } from '../../src/export/obj';
import { parseObj, parsePly } from '../../src/export/parse';
import { encodePly } from '../../src/export/ply';
import { encodePng } from '../../src/export/png';
import { saveMeshBothFormats } from '../../src/export/saveMesh';
import { fixedLength, writeFixed } from '../../src/export/textWriter';
import { validateMeshOutput } from '../../src/export/validate';
import { zipOutputs } from '../../src/export/zip';

/** A unit cube with per-face vertices (24), uvs, normals and colours. */
function cube(): Mesh {
  const positions: number[] = [], uvs: number[] = [], colors: number[] = [], indices: number[] = [];
  const faces = [
    [[0, 0, 1], [1, 0, 0], [0, 1, 0]], [[0, 0, -1], [-1, 0, 0], [0, 1, 0]],
    [[1, 0, 0], [0, 0, -1], [0, 1, 0]], [[-1, 0, 0], [0, 0, 1], [0, 1, 0]],
    [[0, 1, 0], [1, 0, 0], [0, 0, -1]], [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
  ];
  faces.forEach(([n, u, v], f) => {
    const base = positions.length / 3;
    for (const [su, sv] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      positions.push(...[0, 1, 2].map((k) => 0.5 * (n[k] + su * u[k] + sv * v[k])));
      uvs.push((f % 3) / 3 + ((su + 1) / 2) / 3, Math.floor(f / 3) / 2 + ((1 - sv) / 2) / 2);
      colors.push(40 * f, 255 - 40 * f, 128);
    }
    indices.push(base, base + 1, base + 2, base, base + 2, base + 3);
  });
  const p = new Float32Array(positions), ix = new Uint32Array(indices);
  return { positions: p, indices: ix, normals: computeVertexNormals(p, ix), uvs: new Float32Array(uvs), colors: new Uint8Array(colors) };
}

function checker(size: number): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const i = (y * size + x) * 4;
    const on = ((x >> 2) + (y >> 2)) % 2;
    data.set([on ? 230 : 20, (x * 255) / size, (y * 255) / size, 255], i);
  }
  return { width: size, height: size, data };
}

// Vertex colours are compared as stored (sRGB bytes / 255), without three's sRGB -> linear conversion.
ColorManagement.enabled = false;

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('fixed-point text writer', () => {
  it('writes numbers exactly as counted', () => {
    for (const v of [0, -0, 1, -1, 0.5, -0.000001, 0.0000004, 123456.789012, -98765.4321, 1e-7, 3.14159265, 2 ** 31 + 0.25, -7e9]) {
      const out = new Uint8Array(64);
      const end = writeFixed(out, 0, v, 6);
      expect(end).toBe(fixedLength(v, 6));
      const s = text(out.subarray(0, end));
      expect(Number(s)).toBeCloseTo(v, 5);
      expect(s).not.toMatch(/\.$|\.\d*0$/);
    }
  });
  it('refuses non-finite numbers', () => {
    expect(() => fixedLength(NaN, 6)).toThrow(/non-finite/);
  });
});

describe('OBJ / PLY round trips', () => {
  const mesh = cube();

  it('our OBJ parser reads back positions, uvs (flipped to OBJ convention) and faces', () => {
    const obj = parseObj(encodeObj(mesh, { mtlFile: 'mesh.mtl' }));
    expect(obj.errors).toEqual([]);
    expect(obj.positions.length).toBe(mesh.positions.length);
    for (let i = 0; i < mesh.positions.length; i++) expect(obj.positions[i]).toBeCloseTo(mesh.positions[i], 6);
    for (let i = 0; i < mesh.uvs!.length; i += 2) {
      expect(obj.uvs[i]).toBeCloseTo(mesh.uvs![i], 6);
      expect(obj.uvs[i + 1]).toBeCloseTo(1 - mesh.uvs![i + 1], 6);
    }
    expect([...obj.faceV]).toEqual([...mesh.indices]);
    expect([...obj.faceVt]).toEqual([...mesh.indices]);
    expect(obj.colors![3]).toBeCloseTo(mesh.colors![3] / 255, 4);
    expect(obj.mtllib).toEqual(['mesh.mtl']);
  });

  it('three.js OBJLoader reads the OBJ with the same triangles, uvs and colours', () => {
    const group = new OBJLoader().parse(text(encodeObj(mesh, { mtlFile: 'mesh.mtl' })));
    const geometry = (group.children[0] as unknown as { geometry: import('three').BufferGeometry }).geometry;
    const pos = geometry.getAttribute('position');
    expect(pos.count).toBe(mesh.indices.length); // OBJLoader de-indexes
    const uv = geometry.getAttribute('uv');
    const color = geometry.getAttribute('color');
    for (let c = 0; c < mesh.indices.length; c++) {
      const v = mesh.indices[c];
      expect(pos.getX(c)).toBeCloseTo(mesh.positions[3 * v], 5);
      expect(pos.getZ(c)).toBeCloseTo(mesh.positions[3 * v + 2], 5);
      expect(uv.getY(c)).toBeCloseTo(1 - mesh.uvs![2 * v + 1], 5);
      expect(color.getX(c)).toBeCloseTo(mesh.colors![3 * v] / 255, 3);
    }
  });

  it('three.js PLYLoader and our parser read the binary PLY', () => {
    const bytes = encodePly(mesh, { textureFile: 'texture.png' });
    const geometry = new PLYLoader().parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    expect(geometry.getAttribute('position').count).toBe(24);
    expect(geometry.getIndex()!.count).toBe(mesh.indices.length);
    expect(geometry.getAttribute('uv').getY(5)).toBeCloseTo(1 - mesh.uvs![11], 6);
    expect(geometry.getAttribute('color').getX(7)).toBeCloseTo(mesh.colors![21] / 255, 5);
    const ply = parsePly(bytes);
    expect([...ply.indices]).toEqual([...mesh.indices]);
    expect([...ply.positions]).toEqual([...mesh.positions]);
    expect([...ply.colors!]).toEqual([...mesh.colors!]);
    expect(ply.comments).toContain('TextureFile texture.png');
  });

  it('writes OBJ without optional attributes', () => {
    const bare = parseObj(encodeObj({ positions: mesh.positions, indices: mesh.indices }, { mtlFile: null }));
    expect(bare.errors).toEqual([]);
    expect([...bare.faceVt]).toEqual(new Array(mesh.indices.length).fill(-1));
  });
});

describe('PNG', () => {
  it('encodes RGBA8 and 16-bit grey that fast-png decodes identically', () => {
    const image = checker(37);
    const decoded = decodePng(encodePng({ ...image, channels: 4 }));
    expect(decoded.width).toBe(37);
    expect([...decoded.data]).toEqual([...image.data]);
    const depth = Uint16Array.from({ length: 13 * 7 }, (_, i) => (i * 977) % 65536);
    const d = decodePng(encodePng({ width: 13, height: 7, data: depth, channels: 1 }));
    expect(d.depth).toBe(16);
    expect([...d.data]).toEqual([...depth]);
  });
});

describe('validateMeshOutput', () => {
  const mesh = cube();
  const saved = saveMeshBothFormats(mesh, { folder: 'feedforward', model: 'feedforward', texture: checker(32) });
  const report = emptyReport();
  report.meshes = [saved.report];

  it('accepts a complete result zip', () => {
    const result = validateMeshOutput(zipOutputs(saved.files, report));
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.meshes).toEqual([{ folder: 'feedforward', vertices: 24, faces: 12, texture: { file: 'feedforward/texture.png', width: 32, height: 32 } }]);
    expect(Object.keys(saved.files).sort()).toEqual(['feedforward/mesh.mtl', 'feedforward/mesh.obj', 'feedforward/mesh.ply', 'feedforward/texture.png']);
  });

  const mutate = (edit: (files: Record<string, Uint8Array>) => void) => {
    const files = unzipSync(zipOutputs(saved.files, report));
    edit(files);
    return validateMeshOutput(zipSync(files));
  };

  it.each([
    ['a missing texture', (f: Record<string, Uint8Array>) => delete f['feedforward/texture.png'], /texture texture.png named by map_Kd is missing/],
    ['a corrupt texture', (f: Record<string, Uint8Array>) => (f['feedforward/texture.png'] = f['feedforward/texture.png'].slice(0, 60)), /cannot be decoded/],
    ['an empty OBJ', (f: Record<string, Uint8Array>) => (f['feedforward/mesh.obj'] = new Uint8Array(0)), /OBJ is empty/],
    ['an out-of-range face', (f: Record<string, Uint8Array>) => (f['feedforward/mesh.obj'] = new TextEncoder().encode(text(f['feedforward/mesh.obj']).replace(/\nf 1\//, '\nf 99/'))), /index out of range/],
    ['a NaN vertex', (f: Record<string, Uint8Array>) => (f['feedforward/mesh.obj'] = new TextEncoder().encode(text(f['feedforward/mesh.obj']).replace(/\nv [^ ]+/, '\nv nan'))), /bad vertex|non-finite/],
    ['a missing PLY', (f: Record<string, Uint8Array>) => delete f['feedforward/mesh.ply'], /PLY is missing/],
    ['a truncated PLY', (f: Record<string, Uint8Array>) => (f['feedforward/mesh.ply'] = f['feedforward/mesh.ply'].slice(0, -20)), /truncated/],
    ['a PLY of another mesh', (f: Record<string, Uint8Array>) => (f['feedforward/mesh.ply'] = encodePly({ ...mesh, positions: mesh.positions.map((v) => v * 2) })), /positions differ/],
    ['a missing MTL', (f: Record<string, Uint8Array>) => delete f['feedforward/mesh.mtl'], /MTL mesh.mtl is missing/],
    ['a missing report', (f: Record<string, Uint8Array>) => delete f['report.json'], /report.json: missing/],
  ])('rejects %s with a reason', (_name, edit, reason) => {
    const result = mutate(edit);
    expect(result.ok).toBe(false);
    expect(result.errors.join('\n')).toMatch(reason);
  });

  it('accepts sparse SfM points as a point-only PLY and rejects a broken one', () => {
    const points = encodePly({ positions: Float32Array.from([0, 0, 0, 1, 2, 3, -1, 0.5, 2]), indices: new Uint32Array(0) });
    const parsed = parsePly(points);
    expect(parsed.vertexCount).toBe(3);
    expect(parsed.faceCount).toBe(0);
    expect(validateMeshOutput(zipOutputs({ ...saved.files, 'sfm/points.ply': points }, report)).errors).toEqual([]);
    const broken = validateMeshOutput(zipOutputs({ ...saved.files, 'sfm/points.ply': points.slice(0, -5) }, report));
    expect(broken.errors.join('\n')).toMatch(/sfm\/points.ply: PLY cannot be read/);
  });

  it('rejects bytes that are not a zip', () => {
    expect(validateMeshOutput(new Uint8Array([1, 2, 3])).errors[0]).toMatch(/zip/);
  });
});

describe('zip writer', () => {
  it('writes archives that fflate reads back byte for byte, stored and deflated', async () => {
    const { zipFiles, chooseZipLevel, DEFLATE_LIMIT_BYTES } = await import('../../src/export/zip');
    const { crc32 } = await import('../../src/export/crc32');
    const big = new Uint8Array(100_003).map((_, i) => (i * 31) % 251);
    const files: [string, Uint8Array, 0 | 1 | 6][] = [['a/ü.txt', new TextEncoder().encode('hello hello hello hello '.repeat(50)), 6], ['b.bin', big, 0], ['empty', new Uint8Array(0), 1]];
    const back = unzipSync(zipFiles(files));
    expect(Object.keys(back).sort()).toEqual(['a/ü.txt', 'b.bin', 'empty']);
    for (const [name, data] of files) expect(back[name]).toEqual(data);
    // crc32 (slice-by-8) against the bitwise definition, at unaligned offsets.
    const slow = (b: Uint8Array) => { let c = ~0; for (const x of b) { c ^= x; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; } return ~c >>> 0; };
    for (const [s, e] of [[0, 0], [1, 17], [3, 1000], [5, 100_003]]) expect(crc32(big, s, e)).toBe(slow(big.subarray(s, e)));
    expect(chooseZipLevel(DEFLATE_LIMIT_BYTES + 1)).toBe(0);
    expect(chooseZipLevel(1000)).toBe(1);
  });
});
