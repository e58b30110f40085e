/**
 * Decimation to a face budget with meshoptimizer's simplifier (WASM; works in the worker), borders locked, then
 * unused vertices compacted away. Normals are recomputed; colours follow their vertices.
 */
import { MeshoptSimplifier } from 'meshoptimizer';
import { compactMesh, computeVertexNormals, type Mesh } from '../../core/mesh';

export type TexturePreset = 'draft' | 'standard' | 'high';

/** Faces kept per preset, and the texture atlas size. */
export const FACE_BUDGET: Record<TexturePreset, number> = { draft: 50_000, standard: 200_000, high: 1_000_000 };
export const ATLAS_SIZE: Record<TexturePreset, number> = { draft: 1024, standard: 2048, high: 4096 };

export async function decimateMesh(mesh: Mesh, targetFaces: number): Promise<Mesh & { error: number }> {
  if (mesh.indices.length / 3 <= targetFaces) return { ...mesh, error: 0 };
  await MeshoptSimplifier.ready;
  const [indices, error] = MeshoptSimplifier.simplify(mesh.indices, mesh.positions, 3, targetFaces * 3, 0.05, ['LockBorder']);
  // Only the referenced vertices, in first-use order; the normals are recomputed for the simplified surface.
  const { positions, indices: out, colors } = compactMesh({ positions: mesh.positions, indices, ...(mesh.colors ? { colors: mesh.colors } : {}) }, indices);
  return { positions, indices: out, normals: computeVertexNormals(positions, out), ...(colors ? { colors } : {}), error };
}
