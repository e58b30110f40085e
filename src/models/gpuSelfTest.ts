/**
 * GPU self-test model: proves that onnxruntime-web and our WGSL kernels share one device and that the VRAM manager
 * sees and frees everything. It builds a tiny conv net (seeded), runs it `steps` times on the shared device with
 * the input in our own GPUBuffer (Tensor.fromGpuBuffer) and the output left on the GPU, accumulates every output
 * with our own kernel, reads the sum back once and compares it with a CPU reference.
 * Offered in the GPU panel ("Self-test") and used by the browser tests.
 */
import accumulateWgsl from '../gpu/kernels/accumulate.wgsl?raw';
import { bindBuffers, getComputePipeline, splitWorkgroups } from '../gpu/kernel';
import { gpuDone, readBuffer, uploadBuffer } from '../gpu/readback';
import { buildTinyConvNet, runTinyConvNetCpu, seededRandom, type TinyConvNet } from '../ml/onnxBuilder';
import { createSession, type OrtSessionHandle } from '../ml/ort';
import { BaseReconstructionModel, type ModelContext } from './base';

export interface SelfTestInput {
  seed: number;
  size: number;
  steps: number;
}

export interface SelfTestOutput {
  maxAbsDiff: number;
  steps: number;
  outputDims: number[];
  executionProvider: string;
}

const WORKGROUP_SIZE = 64;

export class GpuSelfTestModel extends BaseReconstructionModel<SelfTestInput, unknown, SelfTestOutput> {
  readonly modelName: string;
  private net: TinyConvNet | null = null;
  private session: OrtSessionHandle | null = null;
  private readonly seed: number;

  constructor(ctx: ModelContext, modelName: string, seed: number) {
    super(ctx);
    this.modelName = modelName;
    this.seed = seed;
  }

  override async loadWeights(): Promise<void> {
    const gpu = this.requireGpu();
    this.net = buildTinyConvNet(this.seed);
    this.session = await this.stage('load', () =>
      createSession(this.net!.bytes, { label: this.modelName, scope: this.ctx.scope, device: gpu.device }),
    );
    this.reportProgress(5, 'session created');
  }

  protected async infer(input: SelfTestInput): Promise<SelfTestOutput> {
    const gpu = this.requireGpu();
    const { device } = gpu;
    const net = this.net!;
    const session = this.session!;
    const { size, steps } = input;
    const rand = seededRandom(this.seed * 7 + 1);
    const inputData = Float32Array.from({ length: net.inChannels * size * size }, () => rand());
    const count = net.outChannels * size * size;
    const scope = this.ctx.scope;
    const inputBuffer = uploadBuffer(device, scope, `${this.modelName}:input`, inputData);
    const acc = scope.createBuffer({ label: `${this.modelName}:acc`, size: count * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const params = scope.createBuffer({ label: `${this.modelName}:params`, size: 8, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([count, 0]));
    device.queue.writeBuffer(params, 4, new Float32Array([1]));
    const pipeline = getComputePipeline(device, { label: 'selftest.accumulate', code: accumulateWgsl, constants: { WORKGROUP_SIZE } });
    let outputDims: number[] = [];
    await this.stage('run', async () => {
      for (let step = 0; step < steps; step++) {
        this.checkCancelled();
        const outputs = await session.run({ input: { location: 'gpu', buffer: inputBuffer, dims: [1, net.inChannels, size, size], dataType: 'float32' } });
        const output = outputs.output;
        if (output.location !== 'gpu') throw new Error('self-test: ORT returned the output on the CPU, expected a GPU buffer');
        outputDims = output.dims;
        const encoder = device.createCommandEncoder({ label: 'selftest.accumulate' });
        const pass = encoder.beginComputePass({ label: 'selftest.accumulate' });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindBuffers(device, pipeline, 'selftest.accumulate', [output.buffer, acc, params]));
        pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(count / WORKGROUP_SIZE), device.limits.maxComputeWorkgroupsPerDimension));
        pass.end();
        device.queue.submit([encoder.finish()]);
        await gpuDone(device, this.ctx.signal);
        output.dispose();
        this.reportProgress(5 + (90 * (step + 1)) / steps, `step ${step + 1}/${steps}`);
      }
    });
    const sum = new Float32Array(await readBuffer(device, scope, acc));
    const reference = runTinyConvNetCpu(net, inputData, size, size);
    let maxAbsDiff = 0;
    for (let i = 0; i < count; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(sum[i] - steps * reference[i]));
    return { maxAbsDiff, steps, outputDims, executionProvider: session.executionProvider };
  }
}
