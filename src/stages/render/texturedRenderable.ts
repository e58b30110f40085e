/**
 * A textured mesh as the rasteriser's corner array (the refinement's keep check, benchmarks that render held-out views): white vertex
 * colours, the mesh's normals when asked for (else +Z: a textured draw does not shade).
 */
import type { TexturedMesh } from '../../core/mesh';
import { FLOATS_PER_CORNER, type RenderableMesh } from './types';

export function texturedRenderable(mesh: TexturedMesh, useNormals: boolean): RenderableMesh {
  const corners = new Float32Array(mesh.indices.length * FLOATS_PER_CORNER);
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < mesh.positions.length; i += 3) for (let k = 0; k < 3; k++) {
    min[k] = Math.min(min[k], mesh.positions[i + k]);
    max[k] = Math.max(max[k], mesh.positions[i + k]);
  }
  for (let i = 0; i < mesh.indices.length; i++) {
    const v = mesh.indices[i];
    corners.set(mesh.positions.subarray(3 * v, 3 * v + 3), FLOATS_PER_CORNER * i);
    corners.set(mesh.uvs.subarray(2 * v, 2 * v + 2), FLOATS_PER_CORNER * i + 3);
    corners.set(useNormals && mesh.normals ? mesh.normals.subarray(3 * v, 3 * v + 3) : [0, 0, 1], FLOATS_PER_CORNER * i + 5);
    corners.set([1, 1, 1], FLOATS_PER_CORNER * i + 8);
  }
  const centre = [0, 1, 2].map((k) => (min[k] + max[k]) / 2) as [number, number, number];
  return { corners, texture: mesh.texture, centre, radius: Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) / 2 };
}
