/**
 * The depth stage's per-view inputs made on the GPU (image_prep.wgsl): the plane sweep's 8-bit luma (and its 2x2 mip)
 * written straight into the sweep's r8unorm texture array, and the network's float RGB planes written into its input
 * buffer. The CPU used to make both (a box filter in JS per view, ~4-7 ms for 640x480 on the CPU machine, and 3.7 MB of
 * float planes uploaded per view); now a view's RGBA8 image (1.2 MB at 640x480) goes up once per consumer.
 *
 * Boxes and rounding are integer arithmetic, the same in the CPU references here (lumaBoxCpu, rgbPlanesCpu):
 * luma = round-half-up(sum(299 R + 587 G + 114 B) / (1000 n)); planes = sum / (255 n) (float division, to rounding).
 */
import { getComputePipeline } from '../../gpu/kernel';
import type { VramScope } from '../../gpu/vram';
import prepWgsl from './image_prep.wgsl?raw';

export interface PrepImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

const PARAMS_BYTES = 32;

/** Box of output index i of `dst` over `src` samples: [start, end), integer arithmetic (image_prep.wgsl). */
export function boxRange(i: number, src: number, dst: number): [number, number] {
  const start = Math.floor((i * src) / dst);
  return [start, Math.max(start + 1, Math.min(src, Math.floor(((i + 1) * src + dst - 1) / dst)))];
}

/**
 * Per output pixel of width x height, the R, G and B sums over its box of the image and the box's pixel count (4 per
 * pixel): the CPU side of image_prep.wgsl's boxSum, shared by the luma and the planes.
 */
export function boxSumsCpu(image: PrepImage, width: number, height: number): Uint32Array {
  const out = new Uint32Array(4 * width * height);
  const d = image.data;
  const xs = Array.from({ length: width }, (_, x) => boxRange(x, image.width, width));
  for (let y = 0; y < height; y++) {
    const [y0, y1] = boxRange(y, image.height, height);
    for (let x = 0; x < width; x++) {
      const [x0, x1] = xs[x];
      let r = 0, g = 0, b = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) {
        const i = 4 * (yy * image.width + xx);
        r += d[i];
        g += d[i + 1];
        b += d[i + 2];
      }
      out.set([r, g, b, (x1 - x0) * (y1 - y0)], 4 * (y * width + x));
    }
  }
  return out;
}

/** CPU reference of image_prep.wgsl's luma: box-filtered Rec. 601 luma of a view's working image at width x height. */
export function lumaBoxCpu(image: PrepImage, width: number, height: number): Uint8Array {
  const s = boxSumsCpu(image, width, height);
  return Uint8Array.from({ length: width * height }, (_, p) => {
    const n = s[4 * p + 3];
    return Math.floor((299 * s[4 * p] + 587 * s[4 * p + 1] + 114 * s[4 * p + 2] + 500 * n) / (1000 * n));
  });
}

/** CPU reference of image_prep.wgsl's rgbPlanes: box-filtered R, G, B planes in 0..1 ([3, H, W]), into `out`. */
export function rgbPlanesCpu(image: PrepImage, width: number, height: number, out = new Float32Array(3 * width * height)): Float32Array {
  const s = boxSumsCpu(image, width, height), n = width * height;
  for (let p = 0; p < n; p++) {
    const k = 255 * s[4 * p + 3];
    out[p] = s[4 * p] / k;
    out[n + p] = s[4 * p + 1] / k;
    out[2 * n + p] = s[4 * p + 2] / k;
  }
  return out;
}

/** 2x2 box downscale (mip level 1: floor of each side), rounded: the CPU reference of image_prep.wgsl's halve. */
export function halveCpu(luma: Uint8Array, width: number, height: number): Uint8Array {
  const w = Math.floor(width / 2), h = Math.floor(height / 2);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = 2 * y * width + 2 * x;
    out[y * w + x] = (luma[i] + luma[i + 1] + luma[i + width] + luma[i + width + 1] + 2) >> 2;
  }
  return out;
}

/** Words per row of packed 8-bit luma: rows of a multiple of 256 bytes (copyBufferToTexture's bytesPerRow). */
const rowWordsOf = (width: number) => Math.ceil(width / 256) * 64;

/**
 * A GPU image preparer for one depth call: its buffers come from `scope` and go in `release()`. The staging buffer
 * holds one view's RGBA at a time (queue order makes the reuse safe: each view's upload is written before its work
 * is submitted, and the next upload after it).
 */
export function createImagePrep(device: GPUDevice, scope: VramScope) {
  const owned: GPUBuffer[] = [];
  const own = (b: GPUBuffer) => (owned.push(b), b);
  // Made on first use: a call that never prepares an image allocates nothing.
  let params: GPUBuffer | null = null;
  let rgba: GPUBuffer | null = null;
  let luma0: GPUBuffer | null = null, luma1: GPUBuffer | null = null;
  const pipelineOf = (entryPoint: string) => getComputePipeline(device, { label: `prep.${entryPoint}`, code: prepWgsl, entryPoint });
  const ensure = (current: GPUBuffer | null, bytes: number, label: string, usage: number) => {
    if (current && current.size >= bytes) return current;
    if (current) {
      scope.destroy(current);
      owned.splice(owned.indexOf(current), 1);
    }
    return own(scope.createBuffer({ label, size: Math.max(256, bytes), usage }));
  };
  const upload = (image: PrepImage, width: number, height: number, rowWords: number, rowWords1: number, planeOffset: number) => {
    if (image.data.length !== 4 * image.width * image.height) throw new Error(`imagePrep: ${image.width}x${image.height} image with ${image.data.length} bytes`);
    params ??= own(scope.createBuffer({ label: 'prep:params', size: PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
    rgba = ensure(rgba, image.data.byteLength, 'prep:rgba', GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(rgba, 0, image.data as Uint8Array<ArrayBuffer>);
    device.queue.writeBuffer(params, 0, new Uint32Array([image.width, image.height, width, height, rowWords, rowWords1, planeOffset, 0]));
  };
  /** A dispatch of `entryPoint` with the params (binding 0) and the uploaded image (binding 1) bound, plus `entries`. */
  const dispatch = (encoder: GPUCommandEncoder, entryPoint: string, entries: GPUBindGroupEntry[], x: number, y: number) => {
    const pipeline = pipelineOf(entryPoint);
    entries = [{ binding: 0, resource: { buffer: params! } }, ...(entryPoint === 'halve' ? [] : [{ binding: 1, resource: { buffer: rgba! } }]), ...entries];
    const pass = encoder.beginComputePass({ label: `prep.${entryPoint}` });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ label: `prep.${entryPoint}`, layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(x, y);
    pass.end();
  };
  return {
    /**
     * The view's luma at width x height into `layer` of the r8unorm texture array (mip level 0) and, with `withHalf`,
     * its 2x2 box into mip level 1. Submits.
     */
    luma(image: PrepImage, width: number, height: number, texture: GPUTexture, layer: number, withHalf: boolean): void {
      const rowWords = rowWordsOf(width), w1 = Math.floor(width / 2), h1 = Math.floor(height / 2), rowWords1 = rowWordsOf(Math.max(1, w1));
      upload(image, width, height, rowWords, rowWords1, 0);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
      luma0 = ensure(luma0, rowWords * 4 * height, 'prep:luma0', usage);
      const encoder = device.createCommandEncoder({ label: 'prep.luma' });
      dispatch(encoder, 'luma', [{ binding: 2, resource: { buffer: luma0 } }], Math.ceil(Math.ceil(width / 4) / 8), Math.ceil(height / 8));
      encoder.copyBufferToTexture({ buffer: luma0, bytesPerRow: rowWords * 4, rowsPerImage: height }, { texture, mipLevel: 0, origin: [0, 0, layer] }, [width, height, 1]);
      if (withHalf) {
        luma1 = ensure(luma1, rowWords1 * 4 * h1, 'prep:luma1', usage);
        dispatch(encoder, 'halve', [{ binding: 2, resource: { buffer: luma1 } }, { binding: 4, resource: { buffer: luma0 } }], Math.ceil(Math.ceil(w1 / 4) / 8), Math.ceil(h1 / 8));
        encoder.copyBufferToTexture({ buffer: luma1, bytesPerRow: rowWords1 * 4, rowsPerImage: h1 }, { texture, mipLevel: 1, origin: [0, 0, layer] }, [w1, h1, 1]);
      }
      device.queue.submit([encoder.finish()]);
    },
    /** The view's box-filtered RGB planes in 0..1 ([3, H, W]) into `out` at `offsetFloats` (downscaling only). Submits. */
    planes(image: PrepImage, width: number, height: number, out: GPUBuffer, offsetFloats: number): void {
      if (image.width < width || image.height < height) throw new Error('imagePrep.planes: the box filter only shrinks');
      upload(image, width, height, 0, 0, offsetFloats);
      const encoder = device.createCommandEncoder({ label: 'prep.planes' });
      dispatch(encoder, 'rgbPlanes', [{ binding: 3, resource: { buffer: out } }], Math.ceil(width / 8), Math.ceil(height / 8));
      device.queue.submit([encoder.finish()]);
    },
    release(): void {
      for (const b of owned) scope.destroy(b);
      owned.length = 0;
      params = rgba = luma0 = luma1 = null;
    },
  };
}

export type ImagePrep = ReturnType<typeof createImagePrep>;
