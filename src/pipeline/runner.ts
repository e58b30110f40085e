/**
 * The job runner: runs the chosen models one after another, calling cleanupGpuMemory between them, checking
 * cancellation between steps, and turning any throw into a `failed` result without killing the worker.
 */
import { describeError } from '../core/errors';
import type { ProgressSink } from '../core/progress';
import type { ModelReport } from '../core/report';
import type { GpuContext } from '../gpu/device';
import type { VramManager } from '../gpu/vram';
import type { BaseReconstructionModel, InferenceResult, ModelContext } from '../models/base';

export interface ModelEntry<I, Out> {
  name: string;
  /** Relative share of the job's progress bar (default 1). */
  weight?: number;
  create(ctx: ModelContext): BaseReconstructionModel<I, Out>;
}

export interface RunEnv {
  gpu: GpuContext | null;
  vram: VramManager;
  signal: AbortSignal;
  progress: ProgressSink;
  warn(message: string): void;
  recordStage(model: string, name: string, ms: number): void;
  /** The overall progress range the models share (e.g. 10..90; ingest and export take the rest). */
  overallRange: [number, number];
  /** Called after each model's inference (before its cleanup) and after the cleanup. */
  observe?(model: string, phase: 'before-cleanup' | 'after-cleanup'): void;
}

export interface RunModelsResult {
  reports: ModelReport[];
  results: Map<string, InferenceResult<object>>;
  peakBytes: number;
}

export async function runModels<I, Out>(entries: ModelEntry<I, Out>[], input: I, output: Out, env: RunEnv): Promise<RunModelsResult> {
  const reports: ModelReport[] = [];
  const results = new Map<string, InferenceResult<object>>();
  const totalWeight = entries.reduce((sum, e) => sum + (e.weight ?? 1), 0) || 1;
  const [lo, hi] = env.overallRange;
  let done = 0;
  let jobPeak = env.vram.getVramUsage().peakBytes;
  for (const entry of entries) {
    const share = ((entry.weight ?? 1) / totalWeight) * (hi - lo);
    const base = lo + (done / totalWeight) * (hi - lo);
    done += entry.weight ?? 1;
    if (env.signal.aborted) {
      reports.push({ name: entry.name, status: 'cancelled', ms: 0, vramPeakBytes: 0, liveBytesAfterCleanup: env.vram.getVramUsage().ownBytes });
      continue;
    }
    const start = performance.now();
    env.vram.resetPeak();
    const ctx: ModelContext = {
      gpu: env.gpu,
      scope: env.vram.scope(entry.name, env.signal),
      signal: env.signal,
      onProgress: (model, progress, step, stage) =>
        env.progress({ type: 'model', model, progress, step, overall: base + (share * progress) / 100, ...(stage === undefined ? {} : { stage }) }),
      warn: env.warn,
      recordStage: (name, ms) => env.recordStage(entry.name, name, ms),
    };
    let result: InferenceResult<object>;
    let model: BaseReconstructionModel<I, Out> | null = null;
    try {
      model = entry.create(ctx);
      result = await model.inference(input, output);
    } catch (error) {
      // inference() never throws; this catches a failing constructor.
      result = { status: 'failed', error: describeError(error) };
    }
    const peak = env.vram.getVramUsage().peakBytes;
    jobPeak = Math.max(jobPeak, peak);
    env.observe?.(entry.name, 'before-cleanup');
    let liveAfter = 0;
    try {
      const cleaned = model ? await model.cleanup() : await ctx.scope.cleanup();
      liveAfter = cleaned.liveBytes - cleaned.externalBytes;
    } catch (error) {
      env.warn(`${entry.name}: cleanup failed: ${describeError(error).message}`);
      liveAfter = env.vram.getVramUsage().ownBytes;
    }
    env.observe?.(entry.name, 'after-cleanup');
    env.progress({ type: 'vram', ...pick(env.vram.getVramUsage()) });
    results.set(entry.name, result);
    reports.push({
      name: entry.name,
      status: result.status,
      ms: performance.now() - start,
      vramPeakBytes: peak,
      liveBytesAfterCleanup: liveAfter,
      ...(result.status !== 'success' ? { error: result.error } : { details: detailsOf(result) }),
    });
  }
  return { reports, results, peakBytes: jobPeak };
}

function pick(usage: { liveBytes: number; peakBytes: number }) {
  return { liveBytes: usage.liveBytes, peakBytes: usage.peakBytes };
}

/** The model's own figures (everything but the status) for report.json. */
function detailsOf(result: InferenceResult<object>): Record<string, unknown> {
  const { status: _status, ...rest } = result as { status: string } & Record<string, unknown>;
  return rest;
}
