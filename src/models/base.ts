/**
 * BaseReconstructionModel: the seed's model contract. A model has a name, loads its weights, runs
 * `inference(input, output)` and resolves to `{status: 'success', ...}` or `{status: 'failed', error}` (or
 * 'cancelled'); it never throws out of `inference`. Progress goes to the UI as `{model, progress, step}`. Every GPU
 * resource it makes goes through its VRAM scope (owner = modelName), which `cleanup()` hands back.
 */
import { CancelledError, describeError, throwIfAborted, type ErrorInfo } from '../core/errors';
import type { GpuContext } from '../gpu/device';
import type { CleanupResult, VramScope } from '../gpu/vram';

export interface ModelContext {
  /** The shared GPU; null when WebGPU is unavailable (only CPU-capable models can run then). */
  gpu: GpuContext | null;
  /** VRAM scope owned by this model. */
  scope: VramScope;
  signal: AbortSignal;
  /** progress 0..100 within this model; stage 0..1 within the step's stage, when known. */
  onProgress(model: string, progress: number, step: string, stage?: number): void;
  warn(message: string): void;
  /** Records a stage timing for report.json. */
  recordStage(name: string, ms: number): void;
}

export type InferenceResult<O> =
  | ({ status: 'success' } & O)
  | { status: 'failed'; error: ErrorInfo }
  | { status: 'cancelled'; error: ErrorInfo };

export abstract class BaseReconstructionModel<I = unknown, Out = unknown, O extends object = object> {
  abstract readonly modelName: string;
  protected readonly ctx: ModelContext;
  private lastProgress = 0;

  constructor(ctx: ModelContext) {
    this.ctx = ctx;
  }

  /** Loads weights (download, hash check, session creation). Default: nothing to load. */
  async loadWeights(): Promise<void> {}

  /** The model's work. Throw on failure; call `this.checkCancelled()` between batches. */
  protected abstract infer(input: I, output: Out): Promise<O>;

  async inference(input: I, output: Out): Promise<InferenceResult<O>> {
    try {
      this.checkCancelled();
      await this.loadWeights();
      this.checkCancelled();
      const result = await this.infer(input, output);
      this.reportProgress(100, 'done');
      return { status: 'success', ...result };
    } catch (error) {
      const info = describeError(error);
      return info.code === 'cancelled' ? { status: 'cancelled', error: info } : { status: 'failed', error: info };
    }
  }

  /** Forwards `{model, progress, step}` to the UI; progress is clamped to 0..100 and never moves backwards. */
  reportProgress(progress: number, step: string, stage?: number): void {
    const p = Math.max(this.lastProgress, Math.min(100, Math.max(0, progress)));
    this.lastProgress = p;
    this.ctx.onProgress(this.modelName, p, step, stage === undefined ? undefined : Math.min(1, Math.max(0, stage)));
  }

  /** Hands every GPU resource of this model back to the VRAM manager. */
  cleanup(): Promise<CleanupResult> {
    return this.ctx.scope.cleanup();
  }

  protected checkCancelled(): void {
    throwIfAborted(this.ctx.signal);
  }

  /** Times a stage and records it in the report. */
  protected async stage<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.ctx.recordStage(name, performance.now() - start);
    }
  }

  protected requireGpu(): GpuContext {
    const gpu = this.ctx.gpu;
    if (!gpu) throw new Error(`${this.modelName}: this model needs WebGPU, which is not available here.`);
    if (gpu.isLost()) throw new CancelledError('The GPU device was lost.');
    return gpu;
  }
}
