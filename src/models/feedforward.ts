/**
 * The feed-forward reconstruction model (the ReconViaGen role of the server design): depth per view -> TSDF fusion
 * -> marching cubes -> mesh, exported under feedforward/. Depth comes from the given depth maps; the learned
 * multi-view stereo network will fill it in for photos without depth (issue 7), into this same fusion.
 */
import { InputError } from '../core/errors';
import { saveMeshBothFormats } from '../export/saveMesh';
import type { JobInput, JobOutput } from '../pipeline/jobTypes';
import type { StageContext } from '../stages/context';
import { fuseDepthMaps, type FusionResult } from '../stages/fusion/fuseDepth';
import { textureMesh, type TextureResult } from '../stages/texture/textureMesh';
import { BaseReconstructionModel } from './base';

export interface FeedforwardResult {
  vertices: number;
  faces: number;
  volume: { dims: number[]; voxelSize: number; origin: number[] };
  fusion: FusionResult['stats'];
  texture: TextureResult['stats'];
}

export class FeedforwardModel extends BaseReconstructionModel<JobInput, JobOutput, FeedforwardResult> {
  readonly modelName = 'feedforward';

  protected async infer(input: JobInput, output: JobOutput): Promise<FeedforwardResult> {
    const gpu = this.requireGpu();
    const { capture } = input;
    const views = capture.views.filter((v) => !v.heldOut);
    if (!capture.hasDepth) {
      throw new InputError('These photos have no depth maps. The feed-forward model currently fuses given depth (an RGB-D capture: depth/ PNGs in millimetres); depth from photos alone is not available yet.');
    }
    const posed = views.filter((v) => v.camFromWorld && v.depthMeters);
    if (posed.length === 0) {
      throw new InputError('No photo with a depth map has a camera pose. Provide cameras (COLMAP, transforms.json, 7-Scenes poses, ...); structure from motion is not available yet.');
    }
    const skippedViews = views.length - posed.length;
    if (skippedViews) this.ctx.warn(`${skippedViews} view(s) without depth or pose are not fused.`);
    const stage = (name: string, from: number, to: number): StageContext => ({
      gpu,
      scope: this.ctx.scope,
      signal: this.ctx.signal,
      progress: (done, total, message) => this.reportProgress(from + ((to - from) * done) / Math.max(1, total), `${name}: ${message}`),
      warn: this.ctx.warn,
    });
    this.reportProgress(1, `fusing ${posed.length} depth maps`);
    const fused = await this.stage('fusion', () => fuseDepthMaps(posed, { preset: input.options.preset }, stage('fusion', 1, 80)));
    this.ctx.recordStage('integrate', fused.stats.integrateMs);
    this.ctx.recordStage('marching-cubes', fused.stats.marchMs);
    this.ctx.recordStage('mesh-cleanup', fused.stats.cleanupMs);
    if (fused.mesh.indices.length === 0) {
      throw new InputError('Fusion produced an empty surface: the depth maps do not overlap or the cameras do not match them.');
    }
    this.checkCancelled();
    const textured = await this.stage('texture', () => textureMesh(fused.mesh, capture.views, input.options.preset, stage('texture', 85, 97)));
    this.ctx.recordStage('decimate', textured.stats.decimateMs);
    this.ctx.recordStage('atlas', textured.stats.atlasMs);
    this.ctx.recordStage('bake', textured.stats.visibilityMs + textured.stats.blendMs + textured.stats.surfaceMs);
    this.reportProgress(97, 'writing the mesh');
    const saved = await this.stage('export', () => saveMeshBothFormats(textured.mesh, { folder: 'feedforward', model: this.modelName, texture: textured.mesh.texture }));
    Object.assign(output.files, saved.files);
    output.meshes.push(saved.report);
    return {
      vertices: saved.report.vertices,
      faces: saved.report.faces,
      volume: { dims: fused.spec.dims, voxelSize: fused.spec.voxelSize, origin: fused.spec.origin },
      fusion: fused.stats,
      texture: textured.stats,
    };
  }
}
