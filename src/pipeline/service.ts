/**
 * What the worker does, independent of Comlink: holds the GPU context (recreated after a loss), runs one job at a
 * time with an AbortController (cancel, device loss), and guarantees the VRAM manager is clean when a job ends.
 */
import type { GpuStatus, InspectResult, JobRequest, JobResult, ProgressCallback, SelfTestOptions, SelfTestResult, RenderRequest, SynthRequest } from '../../workers/api';
import { describeError, WebReconError } from '../core/errors';
import { throttleProgress } from '../core/progress';
import { createGpuContext, deviceLostError, probeGpu, type GpuContext } from '../gpu/device';
import type { VramUsage } from '../gpu/vram';
import { GpuSelfTestModel, type SelfTestInput, type SelfTestOutput } from '../models/gpuSelfTest';
import { summarizeCapture, runIngest } from './ingestStage';
import { runReconstructionJob } from './job';
import { loadTexturedObj } from '../io/objMesh';
import { MeshRenderers } from '../stages/render/renderMesh';
import { runModels, type ModelEntry } from './runner';

export class WorkerService {
  private gpu: GpuContext | null = null;
  private gpuPromise: Promise<GpuContext> | null = null;
  private current: AbortController | null = null;

  async probeGpu(): Promise<GpuStatus> {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const probe = await probeGpu();
    if (!probe.available) return { available: false, reason: probe.reason, crossOriginIsolated: isolated };
    try {
      const gpu = await this.getGpu();
      return { available: true, adapter: gpu.summary, crossOriginIsolated: isolated };
    } catch (error) {
      return { available: false, reason: describeError(error).message, crossOriginIsolated: isolated };
    }
  }

  /** The shared context; a new device after a loss. */
  async getGpu(budgetBytes?: number): Promise<GpuContext> {
    if (this.gpu && !this.gpu.isLost()) return this.gpu;
    this.gpu = null;
    this.gpuPromise ??= createGpuContext(budgetBytes ? { budgetBytes } : {}).then(
      (gpu) => {
        this.gpu = gpu;
        this.gpuPromise = null;
        void gpu.lost.then(() => {
          if (this.gpu === gpu) this.gpu = null;
        });
        return gpu;
      },
      (error: unknown) => {
        this.gpuPromise = null;
        throw error;
      },
    );
    return this.gpuPromise;
  }

  getVramUsage(): VramUsage | null {
    return this.gpu?.vram.getVramUsage() ?? null;
  }

  cancel(): boolean {
    if (!this.current) return false;
    this.current.abort();
    return true;
  }

  async simulateDeviceLoss(): Promise<void> {
    this.gpu?.device.destroy();
  }

  /** Runs `work` as the one current job, aborting it if the device is lost. */
  private async exclusive<T>(gpu: GpuContext | null, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.current) throw new WebReconError('input', 'A job is already running; cancel it or wait for it to finish.');
    const controller = new AbortController();
    this.current = controller;
    void gpu?.lost.then((info) => controller.abort(deviceLostError(info)));
    try {
      return await work(controller.signal);
    } finally {
      this.current = null;
    }
  }

  async runJob(request: JobRequest, onProgress: ProgressCallback): Promise<JobResult> {
    const progress = throttleProgress(onProgress);
    let gpu: GpuContext | null = null;
    let gpuError: string | null = null;
    try {
      gpu = await this.getGpu(request.options.vramBudgetBytes);
    } catch (error) {
      gpuError = describeError(error).message;
    }
    // The context may predate this job (created at the page's probe): its budget is capped here, for this job only.
    const budgeted = !this.current && request.options.vramBudgetBytes ? gpu : null;
    budgeted?.vram.limitBudget(request.options.vramBudgetBytes!);
    try {
      return await this.exclusive(gpu, (signal) => runReconstructionJob(request, { gpu, gpuError, signal, progress }));
    } finally {
      budgeted?.vram.limitBudget(null);
      progress.flush();
    }
  }

  async inspectCapture(request: JobRequest, onProgress: ProgressCallback): Promise<InspectResult> {
    const progress = throttleProgress(onProgress);
    try {
      return await this.exclusive(null, async (signal) => {
        const start = performance.now();
        const capture = await runIngest(request, progress, signal, [0, 100]);
        return { status: 'success', capture: summarizeCapture(capture, performance.now() - start) } as const;
      });
    } catch (error) {
      return { status: 'failed', error: describeError(error) };
    } finally {
      progress.flush();
    }
  }

  async synthesize(request: SynthRequest, onProgress: ProgressCallback): Promise<{ files: Record<string, Uint8Array>; gt: unknown }> {
    const gpu = await this.getGpu();
    const { synthesizeCapture } = await import('../synth/synthesize');
    return this.exclusive(gpu, async (signal) => {
      const scope = gpu.vram.scope('synth', signal);
      try {
        const files = Object.fromEntries(request.files.map((f) => [f.name, new Uint8Array(f.bytes)]));
        return await synthesizeCapture(request.objName, files, request.options, {
          gpu,
          scope,
          signal,
          progress: (done, total, message) => onProgress({ type: 'model', model: 'synth', progress: (100 * done) / total, step: message, overall: (100 * done) / total }),
          warn: (message) => onProgress({ type: 'warning', message }),
        });
      } finally {
        await scope.cleanup();
      }
    });
  }

  async renderViews(request: RenderRequest): Promise<Record<string, Uint8Array>> {
    const gpu = await this.getGpu();
    return this.exclusive(gpu, async (signal) => {
      const scope = gpu.vram.scope('render', signal);
      const ctx = { gpu, scope, signal, progress: () => undefined, warn: () => undefined };
      try {
        const files = Object.fromEntries(request.files.map((f) => [f.name, new Uint8Array(f.bytes)]));
        const renderers = new MeshRenderers(ctx, loadTexturedObj(request.objName, files).renderable, { mipmaps: request.mipmaps });
        const out: Record<string, Uint8Array> = {};
        for (const view of request.views) {
          const rendered = await renderers.of(view.width, view.height).render({ K: view.K, camFromWorld: view.camFromWorld });
          out[view.name] = rendered.rgba;
          if (request.depth) out[`${view.name}#depth`] = new Uint8Array(rendered.depth.buffer, rendered.depth.byteOffset, rendered.depth.byteLength);
        }
        renderers.dispose();
        return out;
      } finally {
        await scope.cleanup();
      }
    });
  }

  async selfTest(options: SelfTestOptions, onProgress: ProgressCallback): Promise<SelfTestResult> {
    const progress = throttleProgress(onProgress);
    const gpu = await this.getGpu();
    const count = options.models ?? 2;
    const input: SelfTestInput = { seed: 1, size: options.size ?? 16, steps: options.steps ?? 4 };
    const outputs: SelfTestResult['outputs'] = [];
    const afterEachModel: SelfTestResult['afterEachModel'] = [];
    const ownersDuringModels: SelfTestResult['ownersDuringModels'] = [];
    const entries: ModelEntry<SelfTestInput, unknown>[] = Array.from({ length: count }, (_, k) => ({
      name: `selftest-${k + 1}`,
      create: (ctx) => new GpuSelfTestModel(ctx, `selftest-${k + 1}`, k + 1),
    }));
    try {
      return await this.exclusive(gpu, async (signal) => {
        const run = await runModels(entries, input, null, {
          gpu,
          vram: gpu.vram,
          signal,
          progress,
          warn: (message) => progress({ type: 'warning', message }),
          recordStage: () => undefined,
          overallRange: [0, 100],
          observe: (model, phase) => {
            const usage = gpu.vram.getVramUsage();
            if (phase === 'before-cleanup') ownersDuringModels.push({ model, owners: Object.keys(usage.owners) });
            else afterEachModel.push({ model, ownBytes: usage.ownBytes, externalBytes: usage.externalBytes, owners: Object.keys(usage.owners) });
          },
        });
        for (const [model, result] of run.results) {
          if (result.status === 'success') {
            const out = result as unknown as SelfTestOutput;
            outputs.push({ model, maxAbsDiff: out.maxAbsDiff, steps: out.steps, outputDims: out.outputDims, executionProvider: out.executionProvider });
          }
        }
        const statuses = run.reports.map((r) => r.status);
        const status = statuses.includes('cancelled') ? 'cancelled' : statuses.every((s) => s === 'success') ? 'success' : 'failed';
        const failed = run.reports.find((r) => r.error);
        return {
          status,
          models: run.reports,
          outputs,
          afterEachModel,
          ownersDuringModels,
          vram: gpu.vram.getVramUsage(),
          uncapturedErrors: [...gpu.uncapturedErrors],
          ...(failed?.error ? { error: failed.error } : {}),
        };
      });
    } finally {
      progress.flush();
    }
  }
}
