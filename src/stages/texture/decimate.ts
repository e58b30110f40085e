/**
 * Decimation to a face budget with meshoptimizer's simplifier (WASM; works in the worker), borders locked, then
 * unused vertices compacted away. Normals are recomputed; colours follow their vertices.
 */
import { MeshoptSimplifier } from 'meshoptimizer';
import { computeVertexNormals, type Mesh } from '../../core/mesh';

export type TexturePreset = 'draft' | 'standard' | 'high';

/** Faces kept per preset, and the texture atlas size. */
export const FACE_BUDGET: Record<TexturePreset, number> = { draft: 50_000, standard: 200_000, high: 1_000_000 };
export const ATLAS_SIZE: Record<TexturePreset, number> = { draft: 1024, standard: 2048, high: 4096 };

export async function decimateMesh(mesh: Mesh, targetFaces: number): Promise<Mesh & { error: number }> {
  if (mesh.indices.length / 3 <= targetFaces) return { ...mesh, error: 0 };
  await MeshoptSimplifier.ready;
  const [indices, error] = MeshoptSimplifier.simplify(mesh.indices, mesh.positions, 3, targetFaces * 3, 0.05, ['LockBorder']);
  // Compact: keep only referenced vertices, in first-use order.
  const remap = new Int32Array(mesh.positions.length / 3).fill(-1);
  let count = 0;
  const out = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (remap[v] < 0) remap[v] = count++;
    out[i] = remap[v];
  }
  const positions = new Float32Array(count * 3);
  const colors = mesh.colors ? new Uint8Array(count * 3) : undefined;
  for (let v = 0; v < remap.length; v++) {
    const r = remap[v];
    if (r < 0) continue;
    positions.set(mesh.positions.subarray(3 * v, 3 * v + 3), 3 * r);
    if (colors && mesh.colors) colors.set(mesh.colors.subarray(3 * v, 3 * v + 3), 3 * r);
  }
  return { positions, indices: out, normals: computeVertexNormals(positions, out), ...(colors ? { colors } : {}), error };
}
