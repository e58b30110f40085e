/// <reference lib="webworker" />
/**
 * The reconstruction worker: owns the one GPUDevice, the VRAM manager and every model. Exposed with Comlink.
 * ORT's wasm threads re-run this module under the name "em-pthread*": nothing at top level may run then.
 */
import * as Comlink from 'comlink';
import { WorkerService } from '../src/pipeline/service';
import type { ReconstructApi } from './api';

declare const self: DedicatedWorkerGlobalScope;

if (!self.name?.startsWith('em-pthread')) {
  const service = new WorkerService();
  const api: ReconstructApi = {
    probeGpu: () => service.probeGpu(),
    runJob: async (request, onProgress) => {
      const result = await service.runJob(request, onProgress);
      return result.zip ? Comlink.transfer(result, [result.zip.buffer as ArrayBuffer]) : result;
    },
    inspectCapture: (request, onProgress) => service.inspectCapture(request, onProgress),
    cancelJob: async () => service.cancel(),
    getVramUsage: async () => service.getVramUsage(),
    selfTest: (options, onProgress) => service.selfTest(options, onProgress),
    simulateDeviceLoss: () => service.simulateDeviceLoss(),
    synthesize: async (request, onProgress) => {
      const result = await service.synthesize(request, onProgress);
      return Comlink.transfer(result, Object.values(result.files).map((f) => f.buffer as ArrayBuffer));
    },
    renderViews: async (request) => {
      const images = await service.renderViews(request);
      return Comlink.transfer(images, Object.values(images).map((f) => f.buffer as ArrayBuffer));
    },
    bakeCheck: async (request) => {
      const { runBakeCheck } = await import('../src/bench/bakeCheck');
      return runBakeCheck(await service.getGpu(), request);
    },
    kernelCheck: async (spec) => {
      const { runKernelCheck } = await import('../src/bench/kernelChecks');
      return runKernelCheck(await service.getGpu(), spec);
    },
    benchmark: async (spec) => {
      if (spec.kind === 'fusion') {
        const { benchmarkFusion } = await import('../src/bench/fusionBench');
        return benchmarkFusion(await service.getGpu(), spec);
      }
      if (spec.kind === 'sfm-features') {
        const { benchmarkSfmFeatures } = await import('../src/bench/sfmChecks');
        return benchmarkSfmFeatures(await service.getGpu(), spec);
      }
      if (spec.kind === 'refine') {
        const { benchmarkRefine } = await import('../src/bench/refineBench');
        return benchmarkRefine(await service.getGpu(), spec);
      }
      const { benchmarkExport } = await import('../src/bench/exportBench');
      return { ...benchmarkExport(spec.triangles, spec.textureSize, spec.repeats ?? 3) };
    },
  };
  Comlink.expose(api);
}
