/**
 * The seed's save_mesh_both_formats: one model's mesh as OBJ + MTL + PNG + binary PLY, under `<folder>/`.
 * Files are returned as a name -> bytes map, to be zipped with report.json (zip.ts).
 */
import type { Mesh, RgbaImage } from '../core/mesh';
import type { MeshReport } from '../core/report';
import { encodeMtl, encodeObj } from './obj';
import { encodePly } from './ply';
import { encodeRgbaPng } from './png';

export interface SavedMesh {
  files: Record<string, Uint8Array>;
  report: MeshReport;
  /** Milliseconds per writer, when asked for. */
  timings?: { obj: number; ply: number; png: number };
}

export interface SaveMeshOptions {
  /** Folder in the zip, e.g. "feedforward" or "refine". */
  folder: string;
  model: string;
  /** Diffuse texture; the mesh must have uvs. */
  texture?: RgbaImage | null;
  textureFile?: string;
  /** Further maps (refinement): file name -> image. */
  extraMaps?: { normal?: RgbaImage; specular?: RgbaImage };
  pngLevel?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  timings?: boolean;
}

export function saveMeshBothFormats(mesh: Mesh, options: SaveMeshOptions): SavedMesh {
  const { folder } = options;
  const texture = options.texture ?? null;
  if (texture && !mesh.uvs) throw new Error('export: a texture was given but the mesh has no uvs');
  const textureFile = texture ? options.textureFile ?? 'texture.png' : null;
  const normalFile = options.extraMaps?.normal ? 'texture_n.png' : undefined;
  const specularFile = options.extraMaps?.specular ? 'texture_ks.png' : undefined;
  const files: Record<string, Uint8Array> = {};
  const t0 = performance.now();
  files[`${folder}/mesh.obj`] = encodeObj(mesh, { mtlFile: 'mesh.mtl', header: `WebRecon ${options.model}` });
  files[`${folder}/mesh.mtl`] = encodeMtl({ textureFile, normalMapFile: normalFile, specularMapFile: specularFile });
  const t1 = performance.now();
  // Level 4, not fflate's default 6: on baked photo textures (2048^2; fountain, lego) level 6 took 2.6 s against
  // 1.3-1.4 s at level 4 for files 2-3% larger (encodeRgbaPng in Node, 2026-11-24); the export is on the user's wait.
  const level = options.pngLevel ?? 4;
  if (texture && textureFile) files[`${folder}/${textureFile}`] = encodeRgbaPng(texture, level);
  if (options.extraMaps?.normal && normalFile) files[`${folder}/${normalFile}`] = encodeRgbaPng(options.extraMaps.normal, level);
  if (options.extraMaps?.specular && specularFile) files[`${folder}/${specularFile}`] = encodeRgbaPng(options.extraMaps.specular, level);
  const t2 = performance.now();
  files[`${folder}/mesh.ply`] = encodePly(mesh, { textureFile, comment: `WebRecon ${options.model}` });
  const t3 = performance.now();
  return {
    ...(options.timings ? { timings: { obj: t1 - t0, png: t2 - t1, ply: t3 - t2 } } : {}),
    files,
    report: {
      model: options.model,
      obj: `${folder}/mesh.obj`,
      ply: `${folder}/mesh.ply`,
      vertices: mesh.positions.length / 3,
      faces: mesh.indices.length / 3,
      texture: textureFile ? `${folder}/${textureFile}` : null,
    },
  };
}
