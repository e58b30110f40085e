/**
 * The ONLY file that imports onnxruntime-web. It uses the native WebGPU EP build ('onnxruntime-web/webgpu'), which
 * accepts our GPUDevice, so ORT and our WGSL kernels share one device and one VRAM manager. Everything leaving this
 * file is our own type; ORT objects never escape.
 *
 * Rules (docs/WEBGPU-FACTS.md): session creation and runs are serialised through one queue; GPU outputs are ORT's
 * pooled buffers: they are dispose()d (registered with the VRAM manager, disposed before the session is released),
 * never destroy()ed.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { VramScope } from '../gpu/vram';

export type TensorDataType = 'float32' | 'int32' | 'uint32' | 'float16' | 'int64';

export interface GpuTensorInput {
  location: 'gpu';
  buffer: GPUBuffer;
  dims: number[];
  dataType: TensorDataType;
}

export interface CpuTensorInput {
  location: 'cpu';
  data: Float32Array | Int32Array | Uint32Array | BigInt64Array;
  dims: number[];
  dataType: TensorDataType;
}

export type TensorInput = GpuTensorInput | CpuTensorInput;

export interface GpuTensorOutput {
  location: 'gpu';
  /** ORT's pooled buffer: read it or bind it, never destroy it. Valid until disposed. */
  buffer: GPUBuffer;
  dims: number[];
  dataType: TensorDataType;
  /** Copies the tensor to the CPU. */
  download(): Promise<Float32Array | Int32Array | Uint32Array>;
  dispose(): void;
}

export interface CpuTensorOutput {
  location: 'cpu';
  data: Float32Array | Int32Array | Uint32Array;
  dims: number[];
  dataType: TensorDataType;
}

export type TensorOutput = GpuTensorOutput | CpuTensorOutput;

export type ExecutionProvider = 'webgpu' | 'wasm';

export interface OrtSessionHandle {
  readonly label: string;
  readonly executionProvider: ExecutionProvider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, TensorInput>): Promise<Record<string, TensorOutput>>;
  /** Releases the session early (its GPU outputs must be disposed first); otherwise the scope's cleanup does. */
  release(): Promise<void>;
}

export interface CreateSessionOptions {
  label: string;
  /** The VRAM scope of the owning model: the session and its GPU outputs are registered there. */
  scope: VramScope;
  /** Our shared device for the WebGPU EP; null selects the wasm (CPU) EP. */
  device: GPUDevice | null;
  /** Keep outputs on the GPU (WebGPU EP only). Default true with a device. */
  outputsOnGpu?: boolean;
}

export interface OrtConfig {
  /** wasm threads; 1 when the page is not cross-origin isolated. */
  numThreads?: number;
}

/** One promise queue for every session creation and run (ORT rejects concurrent runs on a session). */
let tail: Promise<unknown> = Promise.resolve();
function enqueue<T>(task: () => Promise<T>): Promise<T> {
  const result = tail.then(task, task);
  tail = result.catch(() => undefined);
  return result;
}

let configured = false;
export function configureOrt(config: OrtConfig = {}): void {
  if (configured) return;
  configured = true;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = config.numThreads ?? (isolated ? Math.max(1, Math.min(4, cores)) : 1);
  ort.env.logLevel = 'warning';
}

/** Which EP to use given the device (pure, for tests and the UI). */
export function selectExecutionProvider(device: GPUDevice | null): ExecutionProvider {
  return device ? 'webgpu' : 'wasm';
}

const BYTES_PER_ELEMENT: Record<TensorDataType, number> = { float32: 4, int32: 4, uint32: 4, float16: 2, int64: 8 };

export function tensorByteSize(dims: readonly number[], dataType: TensorDataType): number {
  return dims.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dataType];
}

export async function createSession(modelBytes: Uint8Array, options: CreateSessionOptions): Promise<OrtSessionHandle> {
  configureOrt();
  const provider = selectExecutionProvider(options.device);
  const outputsOnGpu = provider === 'webgpu' && (options.outputsOnGpu ?? true);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: provider === 'webgpu'
      ? [{ name: 'webgpu', device: options.device } as unknown as ort.InferenceSession.ExecutionProviderConfig]
      : ['wasm'],
    graphOptimizationLevel: 'all',
    ...(outputsOnGpu ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
  };
  const session = await enqueue(() => ort.InferenceSession.create(modelBytes, sessionOptions));
  options.scope.registerOrtSession(session, `ort-session:${options.label}`);
  const scope = options.scope;
  const label = options.label;
  return {
    label,
    executionProvider: provider,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    release: () => enqueue(() => scope.release(session)),
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, input] of Object.entries(feeds)) {
        ortFeeds[name] = input.location === 'gpu'
          ? ort.Tensor.fromGpuBuffer(input.buffer, { dataType: input.dataType as 'float32', dims: input.dims })
          : new ort.Tensor(input.dataType as 'float32', input.data as Float32Array, input.dims);
      }
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await enqueue(() => session.run(ortFeeds));
      } finally {
        // Input wrappers of our own buffers: dispose() does not destroy the buffer (it is ours).
        for (const [name, input] of Object.entries(feeds)) if (input.location === 'gpu') ortFeeds[name].dispose();
      }
      const outputs: Record<string, TensorOutput> = {};
      for (const [name, value] of Object.entries(results)) {
        const tensor = value as ort.Tensor;
        const dims = [...tensor.dims];
        const dataType = tensor.type as TensorDataType;
        if (tensor.location === 'gpu-buffer') {
          scope.registerOrtTensor(tensor, `ort-output:${label}:${name}`);
          outputs[name] = {
            location: 'gpu',
            buffer: tensor.gpuBuffer as GPUBuffer,
            dims,
            dataType,
            download: async () => (await tensor.getData()) as Float32Array,
            dispose: () => {
              void scope.release(tensor);
            },
          };
        } else {
          outputs[name] = { location: 'cpu', data: tensor.data as Float32Array, dims, dataType };
        }
      }
      return outputs;
    },
  };
}
