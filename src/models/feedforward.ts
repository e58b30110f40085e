/**
 * The feed-forward reconstruction model (the ReconViaGen role of the server design): depth per view -> TSDF fusion
 * -> marching cubes -> texture -> mesh, exported under feedforward/. Depth comes from the given depth maps, else
 * from the photos: by default the learned MVS network (stages/depth/mvsNet.ts, weights in public/weights,
 * hash-checked) refined by NCC passes (NETWORK_NCC_RULE), else the classical plane sweep alone (WGSL NCC; on request or
 * as the fallback, NETWORK_DEFAULT_RULE below). Both produce (depth, confidence) maps that go through the same
 * consistency filter, then the same fusion.
 */
import { CancelledError, GpuDeviceLostError, InputError, describeError } from '../core/errors';
import { saveMeshBothFormats } from '../export/saveMesh';
import { availablePhotoDecoder, availableResizingDecoder } from '../io/decode';
import type { JobInput, JobOutput } from '../pipeline/jobTypes';
import type { StageContext } from '../stages/context';
import { DEFAULT_MVS_MODEL, estimateDepthNetwork, loadMvsNetwork, releaseMvsNetwork, type MvsNetwork, type NetworkMvsStats } from '../stages/depth/mvsNet';
import { estimateDepthPlaneSweep, type MvsStats } from '../stages/depth/planeSweep';
import { fuseDepthMaps, type FusionOptions, type FusionResult } from '../stages/fusion/fuseDepth';
import type { BakeSettings } from '../stages/texture/bake';
import { textureMesh, type TextureResult } from '../stages/texture/textureMesh';
import type { JobOptions } from '../../workers/api';
import { BaseReconstructionModel } from './base';

export interface FeedforwardResult {
  vertices: number;
  faces: number;
  volume: { dims: number[]; voxelSize: number; origin: number[] };
  depthSource: 'given' | 'plane-sweep' | 'network';
  mvs?: MvsStats | NetworkMvsStats;
  fusion: FusionResult['stats'];
  texture: TextureResult['stats'];
}

/**
 * FOCAL_SENSITIVITY_RULE (planeSweep.ts focalSensitivity): above this the depth stage warns that the depth scale follows
 * the focal length several-fold. Orbit captures sit near 1 (the temple 1.08, the castle 0.96 on the H200); 7-Scenes'
 * redkitchen, a panning video with a nominal 525 px colour focal, at 6.79 (docs/benchmarks.md, session 19).
 */
export const FOCAL_SENSITIVITY_WARN = 3;

export class FeedforwardModel extends BaseReconstructionModel<JobInput, JobOutput, FeedforwardResult> {
  readonly modelName = 'feedforward';

  protected async infer(input: JobInput, output: JobOutput): Promise<FeedforwardResult> {
    const gpu = this.requireGpu();
    const { capture } = input;
    const views = capture.views.filter((v) => !v.heldOut);
    const stage = (name: string, from: number, to: number): StageContext => ({
      gpu,
      scope: this.ctx.scope,
      signal: this.ctx.signal,
      progress: (done, total, message) => this.reportProgress(from + ((to - from) * done) / Math.max(1, total), `${name}: ${message}`, done / Math.max(1, total)),
      warn: this.ctx.warn,
    });
    let depthSource: FeedforwardResult['depthSource'] = 'given';
    let mvs: MvsStats | NetworkMvsStats | null = null;
    if (!capture.hasDepth) {
      if (views.filter((v) => v.camFromWorld).length < 2) {
        throw new InputError('Fewer than two photos have a camera: structure from motion could not register them (see the warnings) and no cameras were given (COLMAP, transforms.json, Middlebury, Strecha, ...).');
      }
      const { method, model, ...mvsOptions } = input.options.mvs ?? {};
      // The camera stage's points, for mvs.range 'points' (SPARSE_RANGE_RULE, planeSweep.ts pointRanges).
      const options = { preset: input.options.preset, ...(capture.scenePoints ? { scenePoints: capture.scenePoints } : {}), ...mvsOptions };
      // NETWORK_DEFAULT_RULE: the network method (NETWORK_NCC_RULE: the plane sweep plus an NCC pass around the
      // network's depth) is the default. On the H200 (2026-11-25, standard, docs/benchmarks.md sessions 10-11) it beats
      // the sweep end to end on bob, lego, the temple and the fountain and ties it on spot, and loses a little on
      // 7-Scenes (whose sensor reference disagrees with the photos at the 10% level), at ~1.5-2x the sweep's VRAM
      // peak. Without an explicit method, weights that cannot be loaded, or a network run that fails (out of GPU
      // memory included), give the plane sweep with a warning; mvs.method = 'network' makes such a failure fail the
      // job, 'planesweep' runs the sweep alone.
      const required = method === 'network';
      // The depth stage starts now for the page (its bar and timing), not at its first finished view.
      this.reportProgress(1, `depth: ${views.length} views`, 0);
      const net = method !== 'planesweep' ? await this.loadNetwork(model ?? DEFAULT_MVS_MODEL, required) : null;
      // A fallback after a failed network run takes the stage bar's second half (the bar never goes back).
      const sweep = (from = 1) => estimateDepthPlaneSweep(views, options, stage('depth', from, 40));
      // A failure to hand the sessions back must neither hide the network's own error nor stop the fallback or the job.
      const release = (n: MvsNetwork) => releaseMvsNetwork(n).catch((error) => this.ctx.warn(`The depth network's sessions could not be released (${describeError(error).message}); their GPU memory may stay in use until the page reloads.`));
      const estimated: Awaited<ReturnType<typeof estimateDepthNetwork>> | Awaited<ReturnType<typeof estimateDepthPlaneSweep>> = await this.stage('depth', async () => {
        if (!net) return sweep();
        try {
          // The sessions go before the NCC passes allocate theirs (releaseMvsNetwork may run twice).
          return await estimateDepthNetwork(views, net, options, stage('depth', 3, 40), { afterNetwork: () => release(net) });
        } catch (error) {
          if (required || error instanceof CancelledError || error instanceof InputError || error instanceof GpuDeviceLostError || this.ctx.signal.aborted || this.requireGpu().isLost()) throw error;
          await release(net);
          this.ctx.warn(`The depth network failed on these photos (${describeError(error).message}); depth comes from the classical plane sweep instead.`);
          return sweep(21);
        } finally {
          await release(net);
        }
      });
      estimated.depths.forEach((d, i) => {
        if (d) views[i].depthMeters = d;
      });
      depthSource = (estimated.stats as Partial<NetworkMvsStats>).method === 'network' ? 'network' : 'plane-sweep';
      mvs = estimated.stats;
      const sensitivity = mvs.focalSensitivity;
      if (sensitivity !== null && sensitivity > FOCAL_SENSITIVITY_WARN) {
        this.ctx.warn(
          `The camera turned much more than it moved between the photos that give each other depth: depth from them follows the focal length about ${sensitivity.toFixed(1)}-fold (a 1% error in the focal length moves depths by ~${Math.round(sensitivity)}%). ` +
            'Check the focal length if the cameras were given with a nominal one; photos taken while walking around the object are far less sensitive.',
        );
      }
    }
    const posed = views.filter((v) => v.camFromWorld && v.depthMeters);
    if (posed.length === 0) {
      throw new InputError('No photo with a depth map has a camera pose. Provide cameras (COLMAP, transforms.json, 7-Scenes poses, ...); structure from motion runs only for photos without depth maps.');
    }
    const skippedViews = views.length - posed.length;
    if (skippedViews) this.ctx.warn(`${skippedViews} view(s) without depth or pose are not fused.`);
    const fusionFrom = depthSource === 'given' ? 1 : 40;
    // "stage: message": the page starts the fusion stage's bar here, not at the first integrated view.
    this.reportProgress(fusionFrom, `fusion: fusing ${posed.length} depth maps`, 0);
    const fused = await this.stage('fusion', () => fuseDepthMaps(posed, fusionOptionsOf(input.options), stage('fusion', fusionFrom, 80)));
    this.ctx.recordStage('integrate', fused.stats.integrateMs);
    this.ctx.recordStage('marching-cubes', fused.stats.marchMs);
    this.ctx.recordStage('mesh-cleanup', fused.stats.cleanupMs);
    if (fused.mesh.indices.length === 0) {
      throw new InputError('Fusion produced an empty surface: the depth maps do not overlap or the cameras do not match them.');
    }
    this.checkCancelled();
    const textured = await this.stage('texture', () =>
      textureMesh(fused.mesh, capture.views, input.options.preset, stage('texture', 85, 97), {
        // Sharper textures from the original photos where they are larger than the working images.
        decodePhoto: availablePhotoDecoder(),
        decodeResized: availableResizingDecoder(),
        bake: bakeSettingsOf(input.options, depthSource, fused.spec.voxelSize),
      }),
    );
    this.ctx.recordStage('decimate', textured.stats.decimateMs);
    this.ctx.recordStage('atlas', textured.stats.atlasMs);
    this.ctx.recordStage('texture-photos', textured.stats.photoDecodeMs);
    this.ctx.recordStage('bake', textured.stats.visibilityMs + textured.stats.blendMs + textured.stats.surfaceMs);
    this.reportProgress(97, 'writing the mesh');
    const saved = await this.stage('export', () => saveMeshBothFormats(textured.mesh, { folder: 'feedforward', model: this.modelName, texture: textured.mesh.texture }));
    Object.assign(output.files, saved.files);
    output.meshes.push(saved.report);
    output.texturedMeshes = { ...output.texturedMeshes, [this.modelName]: textured.mesh };
    return {
      vertices: saved.report.vertices,
      faces: saved.report.faces,
      volume: { dims: fused.spec.dims, voxelSize: fused.spec.voxelSize, origin: fused.spec.origin },
      depthSource,
      ...(mvs ? { mvs } : {}),
      fusion: fused.stats,
      texture: textured.stats,
    };
  }

  /**
   * The MVS network's weights (download with progress, sha256 check, Cache API) and its ORT sessions on our device,
   * registered with this model's VRAM scope. `required` (mvs.method = 'network'): a failure fails the job; otherwise
   * it is a warning and the plane sweep runs instead.
   */
  private async loadNetwork(name: string, required: boolean): Promise<MvsNetwork | null> {
    const gpu = this.requireGpu();
    try {
      return await this.stage('load-network', () => loadMvsNetwork(name, gpu.device, this.ctx.scope, {
        signal: this.ctx.signal,
        onProgress: (loaded, total, file) => this.reportProgress((3 * loaded) / Math.max(1, total), `depth: downloading the network ${file} (${Math.round(loaded / 1024)} / ${Math.round(total / 1024)} KiB)`),
      }));
    } catch (error) {
      if (required || error instanceof CancelledError || error instanceof GpuDeviceLostError || this.ctx.signal.aborted || gpu.isLost()) throw error;
      this.ctx.warn(`The depth network could not be used (${describeError(error).message}); depth comes from the classical plane sweep instead.`);
      return null;
    }
  }
}

/** Fusion options of a job: the preset, the crop box, and JobOptions.fusion's overrides. */
export function fusionOptionsOf(options: JobOptions): FusionOptions {
  return {
    preset: options.preset,
    ...(options.cropBox ? { bounds: options.cropBox } : {}),
    ...(options.fusion?.voxelsPerSide ? { voxelsPerSide: options.fusion.voxelsPerSide } : {}),
    ...(options.fusion?.hullFill !== undefined ? { hullFill: options.fusion.hullFill } : {}),
  };
}

/**
 * The bake settings of the feed-forward model. Depth estimated from photos fattens foreground edges by up to ~2 voxels,
 * and the photo there shows background (the sky fringe on fountain's walls): no colour from a view within that margin
 * of a depth edge (spot: no cost; JobOptions.texture.edgeMarginVoxels overrides the 2). Given depth (RGB-D, synthetic)
 * is accurate at its edges; a room-size voxel projected would exclude up to 12 px around every edge of a cluttered
 * kitchen (6 redkitchen frames: 78% of the seen surface textured instead of > 90%), so there only the bake's 2 px
 * minimum applies.
 */
export function bakeSettingsOf(options: JobOptions, depthSource: FeedforwardResult['depthSource'], voxelSize: number): BakeSettings {
  return {
    edgeMargin: depthSource === 'given' ? 0 : (options.texture?.edgeMarginVoxels ?? 2) * voxelSize,
    ...(options.texture?.exposureCompensation !== undefined ? { exposureCompensation: options.texture.exposureCompensation } : {}),
  };
}
