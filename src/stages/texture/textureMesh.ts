/**
 * The texture stage: fused mesh -> decimation to the preset's face budget -> UV atlas -> texture baked from the
 * photos -> TexturedMesh (per-vertex uvs; PLY colours sampled from the texture).
 */
import { scaleK } from '../../core/camera';
import type { CaptureView } from '../../core/capture';
import { throwIfAborted } from '../../core/errors';
import { decodeAhead, decodeAtMost, type PhotoDecoder, type ResizingDecoder } from '../../io/decode';
import { computeVertexNormals, removeSmallComponents, type Mesh, type TexturedMesh } from '../../core/mesh';
import type { StageContext } from '../context';
import { buildAtlas } from './atlas';
import { bakeTexture, sampleVertexColors, type BakeSettings, type BakeStats, type BakeView } from './bake';
import { ATLAS_SIZE, decimateMesh, FACE_BUDGET, type TexturePreset } from './decimate';
import { pinholeOfOriginal } from '../sfm/undistort';
import { fillSmallHoles, SMALL_PIECE_FILTER } from './meshCleanup';

export interface TextureResult {
  mesh: TexturedMesh;
  stats: BakeStats & { facesIn: number; removedFaces: number; holesFilled: number; facesOut: number; charts: number; atlasFill: number; decimateMs: number; atlasMs: number; photoLongSide: number; photoDecodeMs: number };
}

/** Long side of the photos the texture is baked from: finer than the working images where the originals allow. */
export const BAKE_LONG_SIDE: Record<TexturePreset, number> = { draft: 1024, standard: 2048, high: 4096 };
/** Photo + visibility-depth bytes per bake pixel, and the most the bake's photos may take together. */
const BAKE_BYTES_PER_PIXEL = 8;
const BAKE_PHOTO_BUDGET = 1024 * 1024 * 1024;

export interface TextureOptions {
  /** Decodes the original photos again at the bake resolution; without it the working images are used. */
  decodePhoto?: PhotoDecoder;
  /** Decodes and resizes in one step where that gives decodePhoto's pixels (decodeAtMost): the resize leaves the worker's thread. */
  decodeResized?: ResizingDecoder;
  /** Override BAKE_LONG_SIDE[preset]. */
  bakeLongSide?: number;
  /** Override ATLAS_SIZE[preset] (texels per side; benchmarks). */
  atlasSize?: number;
  /** Override FACE_BUDGET[preset] (benchmarks). */
  faceBudget?: number;
  /** Bake settings passed through to bakeTexture; set bake.edgeMargin to the geometry's uncertainty (the fusion voxel
   * size, world units) so views give no weight near depth edges within it (else 2 pixels). */
  bake?: BakeSettings;
}

/**
 * The photos to bake from: each view's original decoded again at up to `longSide` (never above its full size), with
 * its K scaled and its mask carried over (nearest); the long side shrinks until all of them fit the byte budget.
 * Views whose original cannot be decoded again fall back to the working image.
 */
export async function bakeViewsOf(views: CaptureView[], longSide: number, ctx: StageContext, decodePhoto?: PhotoDecoder, decodeResized?: ResizingDecoder): Promise<{ views: BakeView[]; longSide: number }> {
  const posed = views.filter((v) => v.camFromWorld && !v.heldOut);
  const working = (v: CaptureView): BakeView => ({ width: v.width, height: v.height, K: v.K, camFromWorld: v.camFromWorld!, rgba: v.image.data });
  const workingLong = Math.max(...posed.map((v) => Math.max(v.width, v.height)), 1);
  let target = Math.min(longSide, Math.max(...posed.map((v) => Math.max(v.fullWidth, v.fullHeight)), 1));
  const pixelsAt = (side: number) => posed.reduce((s, v) => s + (v.fullWidth * v.fullHeight * Math.min(1, side / Math.max(v.fullWidth, v.fullHeight)) ** 2), 0);
  // The photos sit in one storage buffer (4 bytes a pixel), the visibility depth in another.
  const budget = Math.min(BAKE_PHOTO_BUDGET, 2 * ctx.gpu.device.limits.maxStorageBufferBindingSize);
  while (target > workingLong && pixelsAt(target) * BAKE_BYTES_PER_PIXEL > budget) target = Math.floor(target * 0.85);
  if (!decodePhoto || target <= workingLong) return { views: posed.map(working), longSide: workingLong };
  const out: BakeView[] = [];
  const sideOf = (v: CaptureView) => Math.min(target, Math.max(v.fullWidth, v.fullHeight));
  const decodeOf = decodeAhead(posed.length, (k) => {
    const v = posed[k];
    return sideOf(v) <= Math.max(v.width, v.height) ? null : decodeAtMost(v.source, v.fullWidth, v.fullHeight, sideOf(v), decodePhoto, decodeResized);
  });
  for (const [k, v] of posed.entries()) {
    throwIfAborted(ctx.signal);
    const decoding = decodeOf(k);
    if (!decoding) {
      out.push(working(v));
      continue;
    }
    try {
      const decoded = await decoding;
      // The original is distorted where SfM estimated a lens distortion (the working image was resampled then).
      const { width, height, data } = pinholeOfOriginal(v, decoded);
      if (v.mask) {
        for (let y = 0; y < height; y++) {
          const my = Math.min(v.height - 1, Math.floor(((y + 0.5) * v.height) / height));
          for (let x = 0; x < width; x++) {
            const mx = Math.min(v.width - 1, Math.floor(((x + 0.5) * v.width) / width));
            data[4 * (y * width + x) + 3] = v.mask[my * v.width + mx];
          }
        }
      }
      out.push({ width, height, K: scaleK(v.K, width / v.width, height / v.height), camFromWorld: v.camFromWorld!, rgba: data });
    } catch (error) {
      ctx.warn(`Texture: ${v.name} could not be decoded again at full resolution (${(error as Error).message}); its working image is used.`);
      out.push(working(v));
    }
    ctx.progress(k + 1, posed.length, `photos for the texture ${k + 1}/${posed.length}`);
  }
  return { views: out, longSide: target };
}

export async function textureMesh(mesh: Mesh, views: CaptureView[], preset: TexturePreset, ctx: StageContext, options: TextureOptions = {}): Promise<TextureResult> {
  const t0 = performance.now();
  // Floaters dropped and small holes closed first: the decimator keeps borders locked and would spend faces on both.
  const pruned = removeSmallComponents(mesh, SMALL_PIECE_FILTER);
  const filled = fillSmallHoles(pruned);
  if (pruned.removedFaces || filled.holesFilled) ctx.progress(0, 1, `cleanup: ${pruned.removedFaces} faces of small pieces removed, ${filled.holesFilled} holes filled`);
  const decimated = await decimateMesh(filled, options.faceBudget ?? FACE_BUDGET[preset]);
  const t1 = performance.now();
  // The atlas is seconds of CPU work on a large mesh (6 s for 200k faces on the H200's CPU): say so before it starts.
  ctx.progress(0, 1, `UV atlas for ${(decimated.indices.length / 3).toLocaleString('en-US')} faces`);
  const size = options.atlasSize ?? ATLAS_SIZE[preset];
  const atlas = buildAtlas(decimated, size, 4);
  const t2 = performance.now();
  const sourceNormals = decimated.normals ?? computeVertexNormals(decimated.positions, decimated.indices);
  const normals = new Float32Array(atlas.positions.length);
  atlas.sourceVertex.forEach((src, v) => normals.set(sourceNormals.subarray(3 * src, 3 * src + 3), 3 * v));
  const { views: bakeViews, longSide } = await bakeViewsOf(views, options.bakeLongSide ?? BAKE_LONG_SIDE[preset], ctx, options.decodePhoto, options.decodeResized);
  const t3 = performance.now();
  const baked = await bakeTexture({ positions: atlas.positions, normals, indices: atlas.indices, uvs: atlas.uvs, atlasSize: size, padding: 4, ...options.bake }, bakeViews, ctx);
  const textured: TexturedMesh = { positions: atlas.positions, indices: atlas.indices, normals, uvs: atlas.uvs, texture: baked.texture };
  textured.colors = sampleVertexColors(textured);
  return {
    mesh: textured,
    stats: { ...baked.stats, facesIn: mesh.indices.length / 3, removedFaces: pruned.removedFaces, holesFilled: filled.holesFilled, facesOut: atlas.indices.length / 3, charts: atlas.charts, atlasFill: atlas.fill, decimateMs: t1 - t0 /* small-piece removal and hole filling included */, atlasMs: t2 - t1, photoLongSide: longSide, photoDecodeMs: t3 - t2 },
  };
}
