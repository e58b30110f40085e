/**
 * Descriptor matching on the GPU (match.wgsl). Every image's descriptors go up once; pairs are matched in batches,
 * both directions of every pair of a batch in one dispatch, with one readback per batch. The ratio and mutual tests
 * then run on the CPU over the nearest-neighbour records (a few bytes per feature): O(n) work, the same function the
 * CPU reference uses.
 */
import { throwIfAborted } from '../../../core/errors';
import { getComputePipeline, splitWorkgroups } from '../../../gpu/kernel';
import { readBuffers, uploadBuffer } from '../../../gpu/readback';
import type { GpuTimer } from '../../../gpu/timer';
import type { StageContext } from '../../context';
import type { ImageFeatures, PairMatches } from '../types';
import matchWgsl from './match.wgsl?raw';
import { descriptorNorms, filterMatches, type MatchOptions, type Nearest } from './matchCpu';

export interface GpuMatchOptions extends MatchOptions {
  /**
   * Queries (features of both directions) per submission; bounds the result buffer (16 bytes each). Default 2^21, and
   * 2^15 on CPU fallback adapters, where one submission of a whole capture ran for minutes and Cancel waited for it.
   */
  queriesPerBatch?: number;
  /** The tiled kernel (workgroup memory); default: on every adapter but a CPU fallback one (see match.wgsl). */
  tiled?: boolean;
  timer?: GpuTimer | null;
}

/** Descriptor sets resident on the GPU, addressed by feature offset. */
export class DescriptorStore {
  readonly offsets: number[] = [];
  readonly counts: number[] = [];
  readonly desc: GPUBuffer;
  readonly norms: GPUBuffer;

  constructor(private readonly ctx: StageContext, sets: Uint8Array[]) {
    let total = 0;
    for (const s of sets) {
      this.offsets.push(total);
      this.counts.push(s.length / 128);
      total += s.length / 128;
    }
    const all = new Uint8Array(Math.max(1, total) * 128);
    sets.forEach((s, k) => all.set(s, this.offsets[k] * 128));
    const norms = descriptorNorms(all.subarray(0, total * 128));
    this.desc = uploadBuffer(ctx.gpu.device, ctx.scope, 'match:descriptors', all, GPUBufferUsage.STORAGE);
    this.norms = uploadBuffer(ctx.gpu.device, ctx.scope, 'match:norms', norms.length ? norms : new Uint32Array(1), GPUBufferUsage.STORAGE);
  }

  dispose(): void {
    this.ctx.scope.destroy(this.desc);
    this.ctx.scope.destroy(this.norms);
  }
}

/** One direction: every descriptor of set `query` against every descriptor of set `ref`. */
export interface NearestJob {
  query: number;
  ref: number;
}

/** Nearest and second-nearest for a batch of jobs: one dispatch, one readback. */
/** The tiled kernel everywhere but on CPU fallback adapters (see match.wgsl). */
const tiledByDefault = (ctx: StageContext): boolean => !ctx.gpu.summary.isFallbackAdapter;

export async function nearestBatch(ctx: StageContext, store: DescriptorStore, jobs: NearestJob[], timer: GpuTimer | null = null, tiled = tiledByDefault(ctx)): Promise<Nearest[]> {
  const { device } = ctx.gpu;
  const table = new Uint32Array(Math.max(1, jobs.length) * 8);
  let groups = 0, outputs = 0;
  jobs.forEach((job, k) => {
    const qCount = store.counts[job.query];
    table.set([store.offsets[job.query], qCount, store.offsets[job.ref], store.counts[job.ref], outputs, groups, 0, 0], 8 * k);
    groups += Math.ceil(qCount / 64);
    outputs += qCount;
  });
  if (groups === 0) return jobs.map(() => ({ index: new Uint32Array(0), d1: new Uint32Array(0), d2: new Uint32Array(0) }));
  const pipeline = getComputePipeline(device, { label: 'match.nearest', code: matchWgsl, entryPoint: tiled ? 'main' : 'main_direct' });
  const jobBuffer = uploadBuffer(device, ctx.scope, 'match:jobs', table, GPUBufferUsage.STORAGE);
  const params = uploadBuffer(device, ctx.scope, 'match:params', new Uint32Array([jobs.length, groups, 0, 0]), GPUBufferUsage.UNIFORM);
  const result = ctx.scope.createBuffer({ label: 'match:result', size: outputs * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  try {
    const encoder = device.createCommandEncoder({ label: 'match.nearest' });
    const pass = encoder.beginComputePass({ label: 'match.nearest', timestampWrites: timer?.timestampWrites('match.nearest') });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({
      label: 'match.nearest',
      layout: pipeline.getBindGroupLayout(0),
      entries: [params, jobBuffer, store.desc, store.norms, result].map((buffer, binding) => ({ binding, resource: { buffer } })),
    }));
    pass.dispatchWorkgroups(...splitWorkgroups(groups, device.limits.maxComputeWorkgroupsPerDimension));
    pass.end();
    device.queue.submit([encoder.finish()]);
    const [bytes] = await readBuffers(device, ctx.scope, [result]);
    const u = new Uint32Array(bytes);
    return jobs.map((_, k) => {
      const off = table[8 * k + 4], n = table[8 * k + 1];
      const out: Nearest = { index: new Uint32Array(n), d1: new Uint32Array(n), d2: new Uint32Array(n) };
      for (let a = 0; a < n; a++) {
        out.index[a] = u[4 * (off + a)];
        out.d1[a] = u[4 * (off + a) + 1];
        out.d2[a] = u[4 * (off + a) + 2];
      }
      return out;
    });
  } finally {
    ctx.scope.destroy(jobBuffer);
    ctx.scope.destroy(params);
    ctx.scope.destroy(result);
  }
}

/**
 * Putative matches for each pair (i, j): nearest neighbours of i's descriptors among j's with Lowe's ratio test, and
 * (default) the mutual check against j -> i. Pairs are batched (both directions of many pairs per dispatch);
 * progress and cancellation between batches. Only the descriptors of the images the pairs name go to the GPU (a few
 * extra pairs, MIRROR_NEIGHBOUR_RULE's, upload a few images, not the capture).
 */
export async function matchPairs(ctx: StageContext, features: ImageFeatures[], pairs: [number, number][], options: GpuMatchOptions = {}): Promise<PairMatches[]> {
  const mutual = options.mutual ?? true;
  const tiled = options.tiled ?? tiledByDefault(ctx);
  const perBatch = options.queriesPerBatch ?? (tiledByDefault(ctx) ? 1 << 21 : 1 << 15);
  const used = new Set(pairs.flat());
  const none = new Uint8Array(0);
  const store = new DescriptorStore(ctx, features.map((f, k) => (used.has(k) ? f.descriptors.subarray(0, f.count * 128) : none)));
  const out: PairMatches[] = [];
  try {
    let start = 0;
    while (start < pairs.length) {
      throwIfAborted(ctx.signal);
      ctx.progress(start, pairs.length, `matching: pair ${start + 1}/${pairs.length}`);
      let end = start, queries = 0;
      while (end < pairs.length) {
        const [i, j] = pairs[end];
        const q = features[i].count + (mutual ? features[j].count : 0);
        if (end > start && queries + q > perBatch) break;
        queries += q;
        end++;
      }
      const batch = pairs.slice(start, end);
      const jobs: NearestJob[] = batch.flatMap(([i, j]) => (mutual ? [{ query: i, ref: j }, { query: j, ref: i }] : [{ query: i, ref: j }]));
      const nearest = await nearestBatch(ctx, store, jobs, options.timer ?? null, tiled);
      batch.forEach(([i, j], k) => {
        const fwd = nearest[mutual ? 2 * k : k];
        const bwd = mutual ? nearest[2 * k + 1] : null;
        out.push({ i, j, matches: filterMatches(fwd, bwd, options) });
      });
      start = end;
    }
    ctx.progress(pairs.length, pairs.length, 'matching done');
    return out;
  } finally {
    store.dispose();
  }
}
