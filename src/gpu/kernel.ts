/**
 * Compute pipeline cache and dispatch helpers. Pipelines are cached per device (a WeakMap, so a lost device takes
 * its cache with it); the key holds compile-time information only (label, code, entry point, override constants):
 * sizes go in uniforms.
 */

export interface ComputeKernel {
  label: string;
  code: string;
  entryPoint?: string;
  /** WGSL `override` values: compile-time options such as workgroup sizes. */
  constants?: Record<string, number>;
}

const cache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function cacheKey(kernel: ComputeKernel): string {
  const constants = kernel.constants ? JSON.stringify(Object.entries(kernel.constants).sort()) : '';
  return `${kernel.label}\u0000${kernel.entryPoint ?? 'main'}\u0000${constants}\u0000${kernel.code}`;
}

export function getComputePipeline(device: GPUDevice, kernel: ComputeKernel): GPUComputePipeline {
  let pipelines = cache.get(device);
  if (!pipelines) {
    pipelines = new Map();
    cache.set(device, pipelines);
  }
  const key = cacheKey(kernel);
  let pipeline = pipelines.get(key);
  if (!pipeline) {
    const module = device.createShaderModule({ label: kernel.label, code: kernel.code });
    pipeline = device.createComputePipeline({
      label: kernel.label,
      layout: 'auto',
      compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants: kernel.constants },
    });
    pipelines.set(key, pipeline);
  }
  return pipeline;
}

/**
 * Workgroup counts for `workgroups` 1-D groups, split over x and y so that neither exceeds the per-dimension limit.
 * Kernels recover the linear index as `wid.x + wid.y * nwg.x` and bounds-check it against their element count.
 */
export function splitWorkgroups(workgroups: number, maxPerDimension = 65535): [number, number, number] {
  if (workgroups <= maxPerDimension) return [Math.max(1, workgroups), 1, 1];
  const y = Math.ceil(workgroups / maxPerDimension);
  if (y > maxPerDimension) throw new Error(`kernel: ${workgroups} workgroups exceed ${maxPerDimension}^2`);
  const x = Math.ceil(workgroups / y);
  return [x, y, 1];
}

/** Bind group from a list of buffers at bindings 0..n-1 of group 0. */
export function bindBuffers(device: GPUDevice, pipeline: GPUComputePipeline, label: string, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}
