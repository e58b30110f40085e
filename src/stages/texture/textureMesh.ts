/**
 * The texture stage: fused mesh -> decimation to the preset's face budget -> UV atlas -> texture baked from the
 * photos -> TexturedMesh (per-vertex uvs; PLY colours sampled from the texture).
 */
import type { CaptureView } from '../../core/capture';
import { computeVertexNormals, type Mesh, type TexturedMesh } from '../../core/mesh';
import type { StageContext } from '../context';
import { buildAtlas } from './atlas';
import { bakeTexture, sampleVertexColors, type BakeStats, type BakeView } from './bake';
import { ATLAS_SIZE, decimateMesh, FACE_BUDGET, type TexturePreset } from './decimate';

export interface TextureResult {
  mesh: TexturedMesh;
  stats: BakeStats & { facesIn: number; facesOut: number; charts: number; atlasFill: number; decimateMs: number; atlasMs: number };
}

export async function textureMesh(mesh: Mesh, views: CaptureView[], preset: TexturePreset, ctx: StageContext): Promise<TextureResult> {
  const t0 = performance.now();
  const decimated = await decimateMesh(mesh, FACE_BUDGET[preset]);
  const t1 = performance.now();
  const size = ATLAS_SIZE[preset];
  const atlas = buildAtlas(decimated, size, 4);
  const t2 = performance.now();
  const sourceNormals = decimated.normals ?? computeVertexNormals(decimated.positions, decimated.indices);
  const normals = new Float32Array(atlas.positions.length);
  atlas.sourceVertex.forEach((src, v) => normals.set(sourceNormals.subarray(3 * src, 3 * src + 3), 3 * v));
  const bakeViews: BakeView[] = views
    .filter((v) => v.camFromWorld && !v.heldOut)
    .map((v) => ({ width: v.width, height: v.height, K: v.K, camFromWorld: v.camFromWorld!, rgba: v.image.data }));
  const baked = await bakeTexture({ positions: atlas.positions, normals, indices: atlas.indices, uvs: atlas.uvs, atlasSize: size, padding: 4 }, bakeViews, ctx);
  const textured: TexturedMesh = { positions: atlas.positions, indices: atlas.indices, normals, uvs: atlas.uvs, texture: baked.texture };
  textured.colors = sampleVertexColors(textured);
  return {
    mesh: textured,
    stats: { ...baked.stats, facesIn: mesh.indices.length / 3, facesOut: atlas.indices.length / 3, charts: atlas.charts, atlasFill: atlas.fill, decimateMs: t1 - t0, atlasMs: t2 - t1 },
  };
}
