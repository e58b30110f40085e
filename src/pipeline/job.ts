/**
 * One reconstruction job: files in -> models (in the chosen order, VRAM cleaned between them) -> zip + report.json.
 */
import type { JobRequest, JobResult } from '../../workers/api';
import { describeError, WebReconError } from '../core/errors';
import type { ProgressSink } from '../core/progress';
import { emptyReport, type Report } from '../core/report';
import type { GpuContext } from '../gpu/device';
import { createCpuOnlyVramManager } from '../gpu/vram';
import { validateMeshOutput } from '../export/validate';
import { zipOutputs } from '../export/zip';
import { availableModels, MODEL_REGISTRY } from '../models/registry';
import type { JobInput, JobOutput } from './jobTypes';
import { reportCapture, runIngest } from './ingestStage';
import { runModels, type ModelEntry } from './runner';
import { availablePhotoDecoder, availableResizingDecoder } from '../io/decode';
import type { StageContext } from '../stages/context';
import { refineGivenCameras } from '../stages/sfm/refineGiven';
import { needsSfm, runSfm } from '../stages/sfm/runSfm';
import { registrationSummary } from '../stages/sfm/solve';
import { encodePly } from '../export/ply';

/** Where the zip keeps structure from motion's sparse points. */
export const SPARSE_POINTS_FILE = 'sfm/points.ply';

export interface JobEnv {
  gpu: GpuContext | null;
  /** Why there is no GPU, when there is none. */
  gpuError: string | null;
  signal: AbortSignal;
  progress: ProgressSink;
}

export function zipNameFor(request: JobRequest): string {
  const base = (request.options.captureName ?? 'webrecon').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'webrecon';
  return `${base}-mesh.zip`;
}

export async function runReconstructionJob(request: JobRequest, env: JobEnv): Promise<JobResult> {
  const start = performance.now();
  const report: Report = emptyReport();
  report.options = { ...request.options };
  report.adapter = env.gpu?.summary ?? null;
  const zipName = zipNameFor(request);
  const warn = (message: string) => {
    report.warnings.push(message);
    env.progress({ type: 'warning', message });
  };
  const progress: ProgressSink = (event) => {
    if (event.type === 'warning') report.warnings.push(event.file ? `${event.file}: ${event.message}` : event.message);
    env.progress(event);
  };
  // GPU validation errors nobody captured (a shader that does not compile, a bad binding) leave kernels writing nothing,
  // and the job fails later with a misleading message ("no valid depth"); the report and the page name them.
  // Noted once: before the zip's report.json is written on success, else when the job ends.
  // Counted, not indexed: the device keeps only its latest 100 messages, so a long session still gets its warning.
  const gpuErrorsBefore = env.gpu?.uncapturedErrorCount() ?? 0;
  let gpuErrorsNoted = false;
  const noteGpuErrors = () => {
    if (gpuErrorsNoted) return;
    gpuErrorsNoted = true;
    const count = (env.gpu?.uncapturedErrorCount() ?? 0) - gpuErrorsBefore;
    if (count <= 0 || !env.gpu) return;
    const messages = env.gpu.uncapturedErrorsSince(gpuErrorsBefore).slice(0, 3);
    warn(`${count} uncaught GPU error(s) during this job (please report them): ${messages.join(' | ').slice(0, 600)}`);
  };
  // Uncaptured errors are reported asynchronously: the queue drains (at most 2 s: a lost device may never answer) so
  // that this job's land in its own report.
  const drainQueue = async () => {
    if (!env.gpu) return;
    await Promise.race([env.gpu.device.queue.onSubmittedWorkDone().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);
  };
  const finish = (status: JobResult['status'], zip: Uint8Array | null, error?: unknown): JobResult => {
    noteGpuErrors();
    report.status = status;
    if (error !== undefined) report.error = describeError(error);
    const usage = env.gpu?.vram.getVramUsage();
    report.vram.liveBytesAtEnd = usage ? usage.ownBytes : 0;
    report.totalMs = performance.now() - start;
    env.progress({ type: 'job', phase: 'done', overall: 100, message: status });
    return { status, zip, zipName, report, ...(report.error ? { error: report.error } : {}) };
  };
  try {
    env.progress({ type: 'job', phase: 'start', overall: 0, message: 'starting' });
    const unknown = request.options.models.filter((m) => !(m in MODEL_REGISTRY));
    if (request.options.models.length === 0) throw new WebReconError('input', 'No model was chosen to run.');
    if (unknown.length) {
      throw new WebReconError('input', `Unknown model(s): ${unknown.join(', ')}. Available: ${availableModels().join(', ') || 'none'}.`);
    }
    if (!env.gpu) warn(`No WebGPU: ${env.gpuError ?? 'unknown reason'}`);
    const ingestStart = performance.now();
    const capture = await runIngest(request, progress, env.signal, [0, 10]);
    report.stages.push({ name: 'ingest', ms: performance.now() - ingestStart });
    reportCapture(report, capture);
    let modelsFrom = 10;
    // A camera stage before the models (structure from motion, refinement of given cameras): its own VRAM scope, freed
    // before the models start, its share [from, from + span] of the job's bar, and its time in the report.
    const cameraStage = async <T>(name: string, scopeName: string, from: number, span: number, run: (ctx: StageContext) => Promise<T>): Promise<T> => {
      const gpu = env.gpu!;
      const start = performance.now();
      const scope = gpu.vram.scope(scopeName, env.signal);
      let result: T;
      try {
        result = await run({
          gpu,
          scope,
          signal: env.signal,
          warn,
          progress: (done, total, message) => env.progress({ type: 'job', phase: 'sfm', overall: from + (span * done) / Math.max(1, total), stage: done / Math.max(1, total), message: `cameras: ${message}` }),
        });
      } finally {
        await scope.cleanup();
      }
      report.stages.push({ name, ms: performance.now() - start });
      return result;
    };
    let sparsePoints: Float32Array | null = null, sparseColors: Uint8Array | null = null;
    if (needsSfm(capture) && !capture.hasDepth && env.gpu) {
      // No cameras: find them (structure from motion), in its own VRAM scope, freed before the models start.
      env.progress({ type: 'job', phase: 'sfm', overall: 10, message: 'finding the cameras' });
      const sfm = await cameraStage('sfm', 'sfm', 10, 20, (ctx) => runSfm(capture, ctx, { decodePhoto: availablePhotoDecoder(), decodeResized: availableResizingDecoder(), verifyWorkers: request.options.sfm?.verifyWorkers, dumpInput: request.options.sfm?.dumpInput,
        learnedFeatures: request.options.sfm?.features === 'xfeat' ? { ...(request.options.sfm.modelsUrl ? { baseUrl: request.options.sfm.modelsUrl } : {}) } : undefined }));
      report.sfm = { ...sfm.stats, pointsFile: SPARSE_POINTS_FILE };
      sparsePoints = sfm.points;
      sparseColors = sfm.colors;
      const summary = registrationSummary(sfm.stats.registered, sfm.stats.views);
      if (summary) warn(summary);
      for (const u of report.sfm.unregistered) warn(`${u.name} was not registered: ${u.reason}`);
      reportCapture(report, capture, new Map(report.sfm.unregistered.map((u) => [u.name, u.reason])));
      modelsFrom = 30;
    }
    // GIVEN_POSE_DEFAULT_RULE: absent, refineCameras is on for 7-Scenes-format poses (an RGB-D tracker's, KinectFusion)
    // when the depth maps are not given, so depth comes from the photos: on redkitchen (H200, draft, docs/benchmarks.md
    // session 12) the filtered depth goes from 1.2% kept at AbsRel 0.36 / delta 0.39 to 10.4% at 0.095 / 0.93. With
    // the depth maps given, the poses are the ones the depth was tracked with and stay as they are.
    const refineCameras = request.options.refineCameras ?? (capture.cameraFormat === '7scenes' && !capture.hasDepth);
    if (refineCameras && capture.hasPoses && capture.cameraFormat !== 'sfm' && env.gpu) {
      // GIVEN_POSE_BA_RULE (refineGiven.ts): the given poses, adjusted to the photos, in their own VRAM scope.
      env.progress({ type: 'job', phase: 'sfm', overall: modelsFrom, message: 'refining the given cameras' });
      report.cameraRefinement = await cameraStage('refine-cameras', 'cameras', modelsFrom, 5, async (ctx) => {
        try {
          return await refineGivenCameras(capture, ctx);
        } catch (error) {
          // An optional step: anything but cancellation or a lost device leaves the given poses and the job goes on.
          if (env.signal.aborted || ctx.gpu.isLost() || describeError(error).code === 'cancelled') throw error;
          warn(`Refining the given cameras failed (${describeError(error).message}); the given cameras are used as they are.`);
          return undefined;
        }
      });
      const r = report.cameraRefinement;
      if (r && !r.accepted) warn(`The given cameras were kept as they are: ${r.reason}.`);
      else if (r) reportCapture(report, capture);
      modelsFrom += 5;
    }
    const input: JobInput = { options: request.options, capture };
    const output: JobOutput = { files: {}, meshes: [] };
    const entries: ModelEntry<JobInput, JobOutput>[] = request.options.models.map((name) => ({ name, ...MODEL_REGISTRY[name] }));
    env.gpu?.vram.resetPeak();
    const run = await runModels(entries, input, output, {
      gpu: env.gpu,
      vram: env.gpu?.vram ?? createCpuOnlyVramManager(),
      signal: env.signal,
      progress: env.progress,
      warn,
      recordStage: (model, name, ms) => report.stages.push({ model, name, ms }),
      overallRange: [modelsFrom, 90],
    });
    report.models = run.reports;
    report.vram.peakBytes = run.peakBytes;
    report.vram.externalPeakBytes = env.gpu?.vram.getVramUsage().externalPeakBytes ?? 0;
    report.meshes = output.meshes;
    if (run.reports.some((r) => r.status === 'cancelled')) return finish('cancelled', null, run.reports.find((r) => r.error)?.error);
    const failed = run.reports.find((r) => r.status === 'failed');
    if (output.meshes.length === 0) return finish('failed', null, failed?.error ?? new WebReconError('model', 'No model produced a mesh.'));
    env.progress({ type: 'job', phase: 'export', overall: 92, message: 'writing the zip' });
    if (failed) warn(`${failed.name} failed: ${failed.error?.message}; the zip holds the other models' results.`);
    // The sparse points of structure from motion, for the viewer (and any point-cloud tool).
    if (sparsePoints) output.files[SPARSE_POINTS_FILE] = encodePly({ positions: sparsePoints, indices: new Uint32Array(0), ...(sparseColors ? { colors: sparseColors } : {}) }, { comment: 'WebRecon sparse points (structure from motion)' });
    await drainQueue();
    noteGpuErrors();
    const zip = zipOutputs(output.files, report);
    const validation = validateMeshOutput(zip);
    if (!validation.ok) throw new WebReconError('export', `The result failed validation: ${validation.errors.slice(0, 3).join('; ')}`);
    return finish('success', zip);
  } catch (error) {
    await env.gpu?.vram.cleanupGpuMemory().catch(() => undefined);
    await drainQueue();
    return finish(describeError(error).code === 'cancelled' ? 'cancelled' : 'failed', null, error);
  }
}
