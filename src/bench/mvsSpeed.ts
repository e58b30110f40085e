/**
 * Speed of the learned MVS network (issue 7: "depth for one 640x480 view with 4 source views under 30 ms; record ORT
 * time vs our WGSL time"). Synthetic views (random texture, an arc of cameras): the content does not change the work.
 *
 * Two figures per setting: the per-phase split (every phase waited for on the GPU, so the phases add up to more than
 * the pipelined run) and the plain wall time of a run, medians over `repeats` after a warm-up run. "Per view" is what
 * one more view costs in a capture: its features (the feature time divided by the views) plus one reference view's two
 * stages.
 */
import { lookAt } from '../core/camera';
import type { StageContext } from '../stages/context';
import type { CaptureView } from '../core/capture';
import { FEATURE_BATCH, estimateDepthNetwork, loadMvsNetwork, releaseMvsNetwork, runNetwork, type NetworkPhaseTiming, type NetworkViewInput } from '../stages/depth/mvsNet';
import { estimateDepthPlaneSweep, type MvsOptions } from '../stages/depth/planeSweep';

export interface MvsSpeedSpec {
  kind: 'mvs-net-speed';
  model: string;
  /** Network input size (multiples of 16); the depth comes out at half of it. */
  size: [number, number];
  /** Views with features: one reference and its sources (default 5: 4 sources). */
  views?: number;
  repeats?: number;
  /** Feature batches to compare (default [1, FEATURE_BATCH]). */
  featureBatches?: number[];
  /**
   * Also time the product's depth call (estimateDepthNetwork: the network for every view as reference, then the NCC
   * passes, merge, filter and hole fill of NETWORK_NCC_RULE) on `productViews` views (default 10) in a ring around
   * the object, warm, medians of `repeats`; "per view" = the call's time divided by the views.
   */
  product?: boolean;
  productViews?: number;
  /** MVS options of the product timing (e.g. refineSamples). */
  productMvs?: Omit<MvsOptions, 'preset'>;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const round = (x: number) => Math.round(x * 100) / 100;

export async function runMvsSpeed(ctx: StageContext, spec: MvsSpeedSpec) {
  const [W, H] = spec.size;
  const count = spec.views ?? 5;
  const repeats = spec.repeats ?? 7;
  const net = await loadMvsNetwork(spec.model, ctx.gpu.device, ctx.scope);
  try {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const f = 0.9 * W;
    const views: NetworkViewInput[] = Array.from({ length: count }, (_, v) => {
      const rgb = Float32Array.from({ length: 3 * W * H }, rand);
      const a = ((v - (count - 1) / 2) * 8 * Math.PI) / 180;
      return { rgb: () => rgb, K: [f, 0, (W - 1) / 2, 0, f, (H - 1) / 2, 0, 0, 1], pose: lookAt([3 * Math.sin(a), 0, -3 * Math.cos(a)], [0, 0, 0]) };
    });
    const sources = views.map((_, v) => (v === 0 ? Array.from({ length: count - 1 }, (_, k) => k + 1).slice(0, 4) : []));
    const ranges = views.map(() => ({ invNear: 1 / 1.5, invFar: 1 / 6 }));
    const results: Record<string, unknown>[] = [];
    for (const featureBatch of spec.featureBatches ?? [1, FEATURE_BATCH]) {
      await runNetwork(net, views, { width: W, height: H }, sources, ranges, ctx, { featureBatch });
      const phases: NetworkPhaseTiming[] = [];
      const wall: number[] = [];
      const features: number[] = [];
      const stages: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const timing: NetworkPhaseTiming = { upload: 0, featureOrt: 0, costVolume: 0, regularisationOrt: 0, regress: 0 };
        await runNetwork(net, views, { width: W, height: H }, sources, ranges, ctx, { featureBatch, timing });
        phases.push(timing);
        const t0 = performance.now();
        const r = await runNetwork(net, views, { width: W, height: H }, sources, ranges, ctx, { featureBatch });
        wall.push(performance.now() - t0);
        features.push(r.featureMs);
        stages.push(r.stagesMs);
      }
      const split = Object.fromEntries((Object.keys(phases[0]) as (keyof NetworkPhaseTiming)[]).map((k) => [k, round(median(phases.map((p) => p[k])))]));
      const featureMs = median(features), stagesMs = median(stages);
      results.push({
        featureBatch, views: count, split,
        wallMs: round(median(wall)), featureMs: round(featureMs), stagesMs: round(stagesMs),
        perViewMs: round(featureMs / count + stagesMs),
        ortShareOfSplit: round((split.featureOrt + split.regularisationOrt) / Object.values(split).reduce((a, b) => a + b, 0)),
      });
    }
    const product = spec.product ? await productSpeed(ctx, net, W, H, spec.productViews ?? 10, repeats, rand, spec.productMvs ?? {}) : undefined;
    return { model: spec.model, size: [W, H], depthSize: [W / 2, H / 2], executionProvider: net.feature.executionProvider, results, ...(product ? { product } : {}) };
  } finally {
    await releaseMvsNetwork(net);
  }
}

/**
 * The product's depth call on `count` views of W x H (random texture, a ring of cameras looking at the origin, 30 degrees
 * apart up to 12 views), warm: the network method (estimateDepthNetwork with its NCC passes) and, for comparison, the plane sweep alone
 * (estimateDepthPlaneSweep), both at MVS size W x H (longSide = W) over the same depth range.
 */
async function productSpeed(ctx: StageContext, net: Awaited<ReturnType<typeof loadMvsNetwork>>, W: number, H: number, count: number, repeats: number, rand: () => number, mvs: Omit<MvsOptions, 'preset'>) {
  const f = 0.9 * W;
  const views: CaptureView[] = Array.from({ length: count }, (_, v) => {
    const a = (v * 2 * Math.PI) / Math.max(count, 12);
    const rgba = Uint8Array.from({ length: 4 * W * H }, (_, i) => (i % 4 === 3 ? 255 : Math.floor(256 * rand())));
    return {
      index: v, name: `v${v}`, path: `v${v}`, key: `v${v}`, width: W, height: H, fullWidth: W, fullHeight: H,
      image: { width: W, height: H, data: rgba }, depthMeters: null, mask: null,
      K: [f, 0, (W - 1) / 2, 0, f, (H - 1) / 2, 0, 0, 1], distortion: null, intrinsicsSource: 'file' as const,
      camFromWorld: lookAt([3 * Math.sin(a), 0.3 * (v % 2), -3 * Math.cos(a)], [0, 0, 0]), exif: null, heldOut: false,
      source: { bytes: new ArrayBuffer(0), mime: 'image/png' },
    };
  });
  const options: MvsOptions = { preset: 'standard', longSide: W, depthRange: { near: 1.5, far: 6 }, ...mvs };
  const quiet = { ...ctx, progress: () => {} };
  const timeIt = async (run: () => Promise<{ stats: object }>) => {
    await run();
    const walls: number[] = [];
    const stats: Record<string, number>[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const r = await run();
      walls.push(performance.now() - t0);
      stats.push(r.stats as Record<string, number>);
    }
    const wallMs = median(walls);
    const keys = ['featureMs', 'stagesMs', 'nccMs', 'sweepMs', 'filterMs'].filter((k) => typeof stats[0][k] === 'number');
    return { wallMs: round(wallMs), perViewMs: round(wallMs / count), ...Object.fromEntries(keys.map((k) => [k, round(median(stats.map((s) => s[k])))])) };
  };
  const network = await timeIt(() => estimateDepthNetwork(views, net, options, quiet));
  const planeSweep = await timeIt(() => estimateDepthPlaneSweep(views, options, quiet));
  return { views: count, size: [W, H], network, planeSweep };
}
