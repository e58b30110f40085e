/**
 * The page's side of the worker: a Comlink remote plus helpers that collect progress, used by the UI, the Playwright
 * tests and the headless runner (bench/reconstruct.ts) alike, so all three drive the same worker API.
 */
import * as Comlink from 'comlink';
import type { ProgressEvent } from '../core/progress';
import type { InputFile, InspectResult, JobOptions, JobRequest, JobResult, ReconstructApi, SelfTestOptions, SelfTestResult, SynthRequest } from '../../workers/api';
import { fetchDataFiles } from './dataSource';

export interface ReconstructClient {
  api: Comlink.Remote<ReconstructApi>;
  /** Runs a job; progress events go to `onProgress` and are also returned. */
  runJob(request: JobRequest, onProgress?: (e: ProgressEvent) => void): Promise<{ result: JobResult; events: ProgressEvent[] }>;
  selfTest(options: SelfTestOptions, onProgress?: (e: ProgressEvent) => void): Promise<{ result: SelfTestResult; events: ProgressEvent[] }>;
  inspectCapture(request: JobRequest, onProgress?: (e: ProgressEvent) => void): Promise<{ result: InspectResult; events: ProgressEvent[] }>;
  synthesize(request: SynthRequest, onProgress?: (e: ProgressEvent) => void): Promise<{ files: Record<string, Uint8Array>; gt: unknown }>;
  /** Fetches a capture served under /data/ (tests, benchmarks, the GPU machine). */
  fetchDataFiles(dir: string, pattern?: string): Promise<InputFile[]>;
  /** Fetches /data/<dir> and runs a job on it; the zip stays in the page (window.webreconLastZip), the rest returns. */
  runDataJob(dir: string, options: JobOptions, pattern?: string): Promise<{ result: Omit<JobResult, 'zip'> & { zipBytes: number }; events: ProgressEvent[]; fetchMs: number }>;
  /** Terminates the worker and starts a fresh one (recovery after a lost device or a stuck job). */
  restart(): void;
}

export function createReconstructClient(): ReconstructClient {
  let worker = spawn();
  let api = Comlink.wrap<ReconstructApi>(worker);
  const client: ReconstructClient = {
    get api() {
      return api;
    },
    async runJob(request, onProgress) {
      const events: ProgressEvent[] = [];
      const result = await api.runJob(
        Comlink.transfer(request, request.files.map((f) => f.bytes)),
        Comlink.proxy((event: ProgressEvent) => {
          events.push(event);
          onProgress?.(event);
        }),
      );
      return { result, events };
    },
    async selfTest(options, onProgress) {
      const events: ProgressEvent[] = [];
      const result = await api.selfTest(
        options,
        Comlink.proxy((event: ProgressEvent) => {
          events.push(event);
          onProgress?.(event);
        }),
      );
      return { result, events };
    },
    async inspectCapture(request, onProgress) {
      const events: ProgressEvent[] = [];
      const result = await api.inspectCapture(
        Comlink.transfer(request, request.files.map((f) => f.bytes)),
        Comlink.proxy((event: ProgressEvent) => {
          events.push(event);
          onProgress?.(event);
        }),
      );
      return { result, events };
    },
    synthesize(request, onProgress) {
      return api.synthesize(
        Comlink.transfer(request, request.files.map((f) => f.bytes)),
        Comlink.proxy((event: ProgressEvent) => onProgress?.(event)),
      );
    },
    fetchDataFiles(dir, pattern) {
      const re = pattern ? new RegExp(pattern) : null;
      return fetchDataFiles(dir, re ? (p) => re.test(p) : undefined);
    },
    async runDataJob(dir, options, pattern) {
      const start = performance.now();
      const files = await client.fetchDataFiles(dir, pattern);
      const fetchMs = performance.now() - start;
      const { result, events } = await client.runJob({ files, options });
      (window as unknown as { webreconLastZip?: Uint8Array | null }).webreconLastZip = result.zip;
      const { zip, ...rest } = result;
      return { result: { ...rest, zipBytes: zip?.length ?? 0 }, events, fetchMs };
    },
    restart() {
      api[Comlink.releaseProxy]();
      worker.terminate();
      worker = spawn();
      api = Comlink.wrap<ReconstructApi>(worker);
    },
  };
  return client;
}

function spawn(): Worker {
  return new Worker(new URL('../../workers/reconstruct.worker.ts', import.meta.url), { type: 'module', name: 'webrecon-reconstruct' });
}
