/**
 * Export benchmark workload: a textured grid mesh of ~N triangles (a wavy sheet with per-vertex uvs, normals and
 * colours) and a texture, exported as OBJ + MTL + PNG + PLY and zipped. Shared by the worker benchmark and Node.
 */
import { computeVertexNormals, type TexturedMesh } from '../core/mesh';
import { saveMeshBothFormats } from '../export/saveMesh';
import { zipOutputs } from '../export/zip';

export function makeGridMesh(triangles: number, textureSize: number): TexturedMesh {
  const side = Math.max(2, Math.round(Math.sqrt(triangles / 2)) + 1);
  const n = side * side;
  const positions = new Float32Array(n * 3), uvs = new Float32Array(n * 2), colors = new Uint8Array(n * 3);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
    const i = y * side + x, u = x / (side - 1), v = y / (side - 1);
    positions.set([u * 2 - 1, v * 2 - 1, 0.1 * Math.sin(u * 20) * Math.cos(v * 17)], 3 * i);
    uvs.set([u, v], 2 * i);
    colors.set([(u * 255) | 0, (v * 255) | 0, 128], 3 * i);
  }
  const indices = new Uint32Array((side - 1) * (side - 1) * 6);
  let k = 0;
  for (let y = 0; y + 1 < side; y++) for (let x = 0; x + 1 < side; x++) {
    const a = y * side + x;
    indices.set([a, a + 1, a + side + 1, a, a + side + 1, a + side], k);
    k += 6;
  }
  const data = new Uint8Array(textureSize * textureSize * 4);
  for (let y = 0; y < textureSize; y++) for (let x = 0; x < textureSize; x++) {
    const i = 4 * (y * textureSize + x);
    data[i] = (x * 7 + y * 3) & 255; data[i + 1] = (x ^ y) & 255; data[i + 2] = ((x * y) >> 6) & 255; data[i + 3] = 255;
  }
  return { positions, indices, uvs, colors, normals: computeVertexNormals(positions, indices), texture: { width: textureSize, height: textureSize, data } };
}

export interface ExportTiming {
  triangles: number;
  vertices: number;
  textureSize: number;
  objMs: number;
  plyMs: number;
  pngMs: number;
  zipMs: number;
  totalMs: number;
  zipBytes: number;
  objBytes: number;
}

export function timeExport(mesh: TexturedMesh): ExportTiming {
  const t0 = performance.now();
  const saved = saveMeshBothFormats(mesh, { folder: 'feedforward', model: 'feedforward', texture: mesh.texture, timings: true });
  const t1 = performance.now();
  const zip = zipOutputs(saved.files, null);
  const t2 = performance.now();
  const timings = saved.timings!;
  return {
    triangles: mesh.indices.length / 3,
    vertices: mesh.positions.length / 3,
    textureSize: mesh.texture.width,
    objMs: timings.obj,
    plyMs: timings.ply,
    pngMs: timings.png,
    zipMs: t2 - t1,
    totalMs: t2 - t0,
    zipBytes: zip.length,
    objBytes: saved.files['feedforward/mesh.obj'].length,
  };
}

/** Warm-up run, then `repeats` timed runs; the median total is the figure. */
export function benchmarkExport(triangles: number, textureSize: number, repeats = 3): { runs: ExportTiming[]; medianTotalMs: number } {
  const mesh = makeGridMesh(triangles, textureSize);
  timeExport(makeGridMesh(20_000, 256));
  const runs = Array.from({ length: repeats }, () => timeExport(mesh));
  const totals = runs.map((r) => r.totalMs).sort((a, b) => a - b);
  return { runs, medianTotalMs: totals[Math.floor(totals.length / 2)] };
}
