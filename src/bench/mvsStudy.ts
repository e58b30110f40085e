/**
 * Depth-filter study (issue 7 follow-up): on a capture WITH depth maps (a synthetic one), hide the depth, run one MVS
 * method once, and score its unfiltered maps and every requested consistency-filter setting against the truth inside
 * the masks, at the MVS resolution (where the filter works). Answers "how much good depth does each filter step
 * throw away, and how good is what it keeps". Each variant's maps get the enclosed-hole fill where the depth stage
 * would run it (since session 14; before, the filter alone was scored). Runs in the worker through kernelCheck.
 */
import { projectPoint } from '../core/camera';
import type { CaptureView } from '../core/capture';
import type { StageContext } from '../stages/context';
import type { ConsistencyOptions, MvsOptions, RawDepthMaps } from '../stages/depth/planeSweep';

export interface MvsStudySpec {
  kind: 'mvs-filter-study';
  files: { path: string; bytes: ArrayBuffer }[];
  preset: 'draft' | 'standard' | 'high';
  method: 'plane-sweep' | 'network';
  model?: string;
  /** MVS options for the run itself (longSide, depthCount, ...); the filter settings come from `variants`. */
  mvs?: Omit<MvsOptions, 'preset' | 'keepRaw'>;
  variants: (Partial<ConsistencyOptions> & { label: string; edgeRadius?: number; edgeJump?: number; holeFill?: boolean })[];
  /** Views to use (all when absent): a subset keeps SwiftShader runs short. */
  viewLimit?: number;
  /** Every n-th view only (before viewLimit): a video capture thinned out keeps its whole camera path. */
  viewStride?: number;
  /** Views skipped at the start (after viewStride, before viewLimit): a window of a video capture. */
  viewOffset?: number;
  /**
   * Diagnostics: photo name -> name of the photo whose camera it takes instead of its own (e.g. the previous frame's
   * pose, to test whether a video's colour frames and poses are out of step).
   */
  poseOf?: Record<string, string>;
  /**
   * Diagnostics: every photo's focal lengths (fx, fy) times this before anything runs, the principal point kept. The
   * truth depth maps stay as ingest registered them. Answers what another colour focal would give 7-Scenes end to end.
   */
  focalScale?: number;
  /** Refine the given cameras first (JobOptions.refineCameras, GIVEN_POSE_BA_RULE); its stats land in the result. */
  refineCameras?: boolean | Partial<import('../stages/sfm/refineGiven').GivenPoseOptions>;
}

/**
 * Raw plane-sweep output of a capture without depth (diagnostics, e.g. the temple): the unfiltered (depth, confidence)
 * maps, the filtered depth, and the luma images at the MVS size, with cameras, for study outside the browser.
 */
export interface MvsRawSpec {
  kind: 'mvs-raw';
  files: { path: string; bytes: ArrayBuffer }[];
  preset: 'draft' | 'standard' | 'high';
  mvs?: Omit<MvsOptions, 'preset' | 'keepRaw'>;
  /** Names of the photos to use (all posed photos when absent). */
  names?: string[];
}

export async function runMvsRaw(ctx: StageContext, spec: MvsRawSpec): Promise<Record<string, unknown>> {
  const { ingestCapture } = await import('../io/ingest');
  const { decodePhotoInBrowser } = await import('../io/decode');
  const { estimateDepthPlaneSweep } = await import('../stages/depth/planeSweep');
  const capture = await ingestCapture(spec.files, { preset: spec.preset, decodePhoto: decodePhotoInBrowser });
  const views = capture.views.filter((v) => !v.heldOut && (!spec.names || spec.names.includes(v.name)));
  const t0 = performance.now();
  const out = await estimateDepthPlaneSweep(views, { preset: spec.preset, ...spec.mvs, keepRaw: true }, ctx);
  const ms = performance.now() - t0;
  const raw = out.raw!;
  const { width, height } = raw;
  const filtered = new Float32Array(raw.viewIndex.length * width * height);
  const luma = new Uint8Array(raw.viewIndex.length * width * height);
  raw.viewIndex.forEach((vi, k) => {
    const v = views[vi], d = out.depths[vi]!;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const sx = Math.min(v.width - 1, Math.floor(((x + 0.5) * v.width) / width)), sy = Math.min(v.height - 1, Math.floor(((y + 0.5) * v.height) / height));
      const j = sy * v.width + sx, p = 4 * j;
      filtered[k * width * height + y * width + x] = d[j];
      luma[k * width * height + y * width + x] = Math.round(0.299 * v.image.data[p] + 0.587 * v.image.data[p + 1] + 0.114 * v.image.data[p + 2]);
    }
  });
  return { ms, stats: out.stats, width, height, names: raw.viewIndex.map((i) => views[i].name), Ks: raw.Ks, poses: raw.poses, sources: raw.sources, ranges: raw.ranges, raw: raw.data, filtered, luma };
}

interface Truth {
  width: number;
  height: number;
  depth: Float32Array;
  inside: Uint8Array;
  /** Pixels within 2 of a truth depth edge (a neighbour 10% off, or without truth): where registration and mixed pixels land. */
  edge: Uint8Array;
}

/** Marks pixels with a neighbour within `radius` whose depth differs by more than `jump` (relative) or is missing. */
function depthEdges(depth: (i: number) => number, width: number, height: number, radius: number, jump: number, missingIsEdge: boolean): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = y * width + x, d = depth(i);
    if (!(d > 0)) continue;
    search: for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) {
      const xx = x + dx, yy = y + dy;
      if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
      const e = depth(yy * width + xx);
      if (e > 0 ? Math.abs(e - d) > jump * d : missingIsEdge) {
        out[i] = 1;
        break search;
      }
    }
  }
  return out;
}

/** Truth and mask sampled at the MVS pixel centres (the box filter's centre in the working image). */
function truthAt(view: CaptureView, depth: Float32Array, width: number, height: number): Truth {
  const out = new Float32Array(width * height), inside = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const sx = Math.min(view.width - 1, Math.floor(((x + 0.5) * view.width) / width));
    const sy = Math.min(view.height - 1, Math.floor(((y + 0.5) * view.height) / height));
    const j = sy * view.width + sx;
    out[y * width + x] = depth[j];
    inside[y * width + x] = depth[j] > 0 && (!view.mask || view.mask[j] !== 0) ? 1 : 0;
  }
  return { width, height, depth: out, inside, edge: depthEdges((i) => out[i], width, height, 2, 0.1, true) };
}

/** The values at fractions `qs` of `a` (sorted in place; index floor(q (n - 1))), to 3 decimals; NaN when empty. */
function quantiles(a: number[], qs: number[]): number[] {
  a.sort((x, y) => x - y);
  return qs.map((q) => Math.round((a[Math.floor(q * (a.length - 1))] ?? NaN) * 1000) / 1000);
}

/** Scores depth maps (one value per pixel, 0 = none) against the truth inside the masks. */
function score(maps: (k: number, i: number) => number, truths: Truth[], n: number, good?: (k: number, i: number) => boolean) {
  let inside = 0, kept = 0, sum = 0, w1 = 0, w2 = 0, d125 = 0, bad = 0, outside = 0, keptOutside = 0, goodRaw = 0, goodKept = 0;
  let keptEdge = 0, badEdge = 0, sumInterior = 0;
  // Kept depth / truth by distance from the image centre (4 rings of a quarter of the half-diagonal): a lens or
  // registration model error shows as a radial trend.
  const rings: number[][] = [[], [], [], []];
  const perView: number[] = [];
  // Kept depth over the truth: a scale or registration error of the truth shows as a shifted median, per view.
  const ratios: number[] = [];
  const perViewRatio: number[] = [];
  const perViewAbsRel: number[] = [];
  // Kept depth / truth by image third, left to right then top to bottom: a tilt of the geometry shows as a trend.
  const thirds: number[][] = Array.from({ length: 6 }, () => []);
  truths.forEach((t, k) => {
    let vi = 0, vk = 0, viewSum = 0;
    const viewRatios: number[] = [];
    for (let i = 0; i < n; i++) {
      const d = maps(k, i);
      if (!t.inside[i]) {
        outside++;
        if (d > 0) keptOutside++;
        continue;
      }
      inside++;
      vi++;
      const isGood = good?.(k, i) ?? false;
      if (isGood) goodRaw++;
      if (d <= 0) continue;
      kept++;
      vk++;
      if (isGood) goodKept++;
      const e = Math.abs(d - t.depth[i]) / t.depth[i];
      viewRatios.push(d / t.depth[i]);
      thirds[Math.min(2, Math.floor((3 * (i % t.width)) / t.width))].push(d / t.depth[i]);
      thirds[3 + Math.min(2, Math.floor((3 * Math.floor(i / t.width)) / t.height))].push(d / t.depth[i]);
      sum += e;
      viewSum += e;
      if (e < 0.01) w1++;
      if (e < 0.02) w2++;
      if (Math.max(d / t.depth[i], t.depth[i] / d) < 1.25) d125++;
      if (e > 0.1) bad++;
      const ring = Math.min(3, Math.floor((4 * Math.hypot((i % t.width) + 0.5 - t.width / 2, Math.floor(i / t.width) + 0.5 - t.height / 2)) / Math.hypot(t.width / 2, t.height / 2)));
      rings[ring].push(d / t.depth[i]);
      if (t.edge[i]) {
        keptEdge++;
        if (e > 0.1) badEdge++;
      } else sumInterior += e;
    }
    perView.push(Math.round((1000 * vk) / Math.max(1, vi)) / 1000);
    viewRatios.sort((a, b) => a - b);
    perViewRatio.push(viewRatios.length ? Math.round(1000 * viewRatios[viewRatios.length >> 1]) / 1000 : 0);
    perViewAbsRel.push(Math.round((10000 * viewSum) / Math.max(1, vk)) / 10000);
    for (const v of viewRatios) ratios.push(v);
  });
  ratios.sort((a, b) => a - b);
  const quantile = (q: number) => (ratios.length ? Math.round(10000 * ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]) / 10000 : 0);
  const r = (v: number) => Math.round(v * 10000) / 10000;
  // AbsRel of the kept depth with the global factor that brings the median ratio to 1 (median scaling): the depth's
  // shape without its scale. On 7-Scenes the scale follows the assumed colour focal ~7-fold (session 19).
  const median = ratios.length ? ratios[ratios.length >> 1] : 1;
  const absRelMedianScaled = r(ratios.reduce((acc, q) => acc + Math.abs(q / median - 1), 0) / Math.max(1, ratios.length));
  return {
    coverage: r(kept / Math.max(1, inside)),
    absRel: r(sum / Math.max(1, kept)),
    within1: r(w1 / Math.max(1, kept)),
    within2: r(w2 / Math.max(1, kept)),
    delta125: r(d125 / Math.max(1, kept)),
    over10: r(bad / Math.max(1, kept)),
    keptOutsideMask: r(keptOutside / Math.max(1, outside)),
    // Diagnostics: the kept depth within 2 px of a truth depth edge, its share of the >10% errors, AbsRel away from them.
    ringRatios: rings.map((r) => (r.length ? [r.length, ...quantiles(r, [0.25, 0.5, 0.75])] : [0])),
    truthEdge: { kept: r(keptEdge / Math.max(1, kept)), over10: r(badEdge / Math.max(1, bad)), absRelInterior: r(sumInterior / Math.max(1, kept - keptEdge)) },
    ...(good ? { goodKept: r(goodKept / Math.max(1, goodRaw)) } : {}),
    ratioQuartiles: [quantile(0.25), quantile(0.5), quantile(0.75)],
    absRelMedianScaled,
    thirdRatios: thirds.map((a) => {
      a.sort((x, y) => x - y);
      return a.length ? Math.round(1000 * a[a.length >> 1]) / 1000 : 0;
    }),
    perView,
    perViewRatio,
    perViewAbsRel,
  };
}

/**
 * The camera stage's own scene points (refined given cameras' tracks, SfM's points) against the kept depth and the
 * truth at the pixels they project to, in the scored views: quartiles of kept / point depth (where there is kept
 * depth) and of truth / point depth (where there is truth: more and other points). Kept depth on its points says the
 * MVS follows the camera stage's geometry, and a scale error against the truth comes with that geometry.
 */
function pointRatios(points: Float32Array, raw: RawDepthMaps, kept: (k: number, i: number) => number, truths: Truth[]) {
  const { width, height } = raw;
  const keptOverPoint: number[] = [], truthOverPoint: number[] = [];
  raw.viewIndex.forEach((_, k) => {
    for (let q = 0; q + 2 < points.length; q += 3) {
      const { u: pu, v: pv, depth: zc } = projectPoint(raw.Ks[k], raw.poses[k], points[q], points[q + 1], points[q + 2]);
      if (!(zc > 0)) continue;
      const u = Math.round(pu), v = Math.round(pv);
      if (u < 0 || v < 0 || u >= width || v >= height) continue;
      const i = v * width + u, d = kept(k, i), t = truths[k].depth[i];
      if (d > 0) keptOverPoint.push(d / zc);
      if (t > 0 && truths[k].inside[i]) truthOverPoint.push(t / zc);
    }
  });
  const quartiles = (a: number[]) => (a.length ? quantiles(a, [0.25, 0.5, 0.75]) : []);
  return { keptOverPoint: [keptOverPoint.length, ...quartiles(keptOverPoint)], truthOverPoint: [truthOverPoint.length, ...quartiles(truthOverPoint)] };
}

export async function runMvsStudy(ctx: StageContext, spec: MvsStudySpec): Promise<Record<string, unknown>> {
  const { ingestCapture } = await import('../io/ingest');
  const { decodePhotoInBrowser } = await import('../io/decode');
  const { filterConsistent, consistencyOptions, estimateDepthPlaneSweep, holeFillSettings } = await import('../stages/depth/planeSweep');
  const capture = await ingestCapture(spec.files, { preset: spec.preset, decodePhoto: decodePhotoInBrowser });
  if (spec.poseOf) {
    const byName = new Map(capture.views.map((v) => [v.name, v.camFromWorld]));
    const swapped = Object.entries(spec.poseOf).map(([name, from]) => {
      if (!byName.has(name) || !byName.get(from)) throw new Error(`mvs-filter-study: poseOf names an unknown or unposed photo (${name} <- ${from})`);
      return [name, byName.get(from)!] as const;
    });
    for (const [name, pose] of swapped) capture.views.find((v) => v.name === name)!.camFromWorld = pose;
  }
  if (spec.focalScale) {
    for (const v of capture.views) {
      v.K = v.K.slice();
      v.K[0] *= spec.focalScale;
      v.K[4] *= spec.focalScale;
    }
  }
  let cameraRefinement: unknown;
  if (spec.refineCameras) {
    const { refineGivenCameras } = await import('../stages/sfm/refineGiven');
    cameraRefinement = await refineGivenCameras(capture, ctx, spec.refineCameras === true ? {} : spec.refineCameras);
  }
  let views = capture.views.filter((v) => !v.heldOut);
  if (spec.viewStride && spec.viewStride > 1) views = views.filter((_, i) => i % spec.viewStride! === 0);
  if (spec.viewOffset) views = views.slice(spec.viewOffset);
  if (spec.viewLimit) views = views.slice(0, spec.viewLimit);
  const truthsFull = views.map((v) => v.depthMeters);
  if (truthsFull.some((t) => !t)) throw new Error('mvs-filter-study: every view needs a depth map (the truth)');
  for (const v of views) v.depthMeters = null;
  const options: MvsOptions = { preset: spec.preset, ...(capture.scenePoints ? { scenePoints: capture.scenePoints } : {}), ...spec.mvs, keepRaw: true };
  const t0 = performance.now();
  let raw: RawDepthMaps | undefined;
  if (spec.method === 'network') {
    const { loadMvsNetwork, estimateDepthNetwork, releaseMvsNetwork } = await import('../stages/depth/mvsNet');
    const net = await loadMvsNetwork(spec.model ?? 'mvsnet', ctx.gpu.device, ctx.scope);
    try {
      raw = (await estimateDepthNetwork(views, net, options, ctx)).raw;
    } finally {
      await releaseMvsNetwork(net);
    }
  } else {
    raw = (await estimateDepthPlaneSweep(views, options, ctx)).raw;
  }
  const mvsMs = performance.now() - t0;
  if (!raw) throw new Error('mvs-filter-study: the MVS run returned no raw maps');
  const { width, height } = raw;
  const n = width * height;
  const truths = raw.viewIndex.map((vi) => truthAt(views[vi], truthsFull[vi]!, width, height));
  const rawDepth = (k: number, i: number) => raw.data[2 * (k * n + i)];
  const isGood = (k: number, i: number) => {
    const d = rawDepth(k, i), t = truths[k].depth[i];
    return d > 0 && t > 0 && Math.abs(d - t) / t < 0.01;
  };
  // Confidence distribution of good and bad raw depths inside the masks (deciles), to choose the threshold.
  const confGood: number[] = [], confBad: number[] = [];
  truths.forEach((t, k) => {
    for (let i = 0; i < n; i++) {
      if (!t.inside[i] || rawDepth(k, i) <= 0) continue;
      (isGood(k, i) ? confGood : confBad).push(raw.data[2 * (k * n + i) + 1]);
    }
  });
  const deciles = (a: number[]) => quantiles(a, [0.1, 0.25, 0.5, 0.75, 0.9]);
  const { fillDepthHoles, DEFAULT_HOLE_FILL } = await import('../stages/depth/holeFill');
  // The depth stage's own fill (the network alone, nccRefine false, filters without it: mvsNet.ts).
  const productHoleFill = spec.method === 'network' && options.nccRefine === false ? null : holeFillSettings(options, views);
  const variants = spec.variants.map(({ label, edgeRadius, edgeJump, holeFill, ...v }) => {
    // the product's confidence floor: 0.5 for the network's own depth, 0.6 for NCC depth (the sweep, the network method)
    const o = { ...consistencyOptions(options, spec.method === 'network' && options.nccRefine === false ? 0.5 : 0.6), ...v };
    const t1 = performance.now();
    const filtered = filterConsistent(raw.data, raw.viewIndex.length, width, height, raw.poses, raw.Ks, raw.sources, o);
    // Study-only: drop kept depth within edgeRadius of a jump of more than edgeJump in the kept map itself.
    if (edgeRadius) {
      for (let k = 0; k < raw.viewIndex.length; k++) {
        const map = filtered.subarray(k * n, (k + 1) * n);
        const edges = depthEdges((i) => map[i], width, height, edgeRadius, edgeJump ?? 0.05, false);
        for (let i = 0; i < n; i++) if (edges[i]) map[i] = 0;
      }
    }
    // The product's enclosed-hole fill after the filter, as the depth stage runs it (planeSweep.ts: on by default for
    // captures without masks, as 7-Scenes; mvs.holeFill sets it), unless the variant says otherwise. Before session 14
    // the study scored the filter alone.
    const settings = holeFill === undefined ? productHoleFill : holeFill ? (productHoleFill ?? DEFAULT_HOLE_FILL) : null;
    const fill = settings !== null;
    const filled = settings ? fillDepthHoles(filtered, raw.viewIndex.length, width, height, settings) : 0;
    const ms = Math.round(performance.now() - t1);
    return { label, ...o, holeFill: fill, holeFilled: filled, ...(edgeRadius ? { edgeRadius, edgeJump: edgeJump ?? 0.05 } : {}), ms, ...score((k, i) => filtered[k * n + i], truths, n, isGood), ...(capture.scenePoints ? { scenePoints: pointRatios(capture.scenePoints, raw, (k, i) => filtered[k * n + i], truths) } : {}) };
  });
  return {
    method: spec.method,
    views: raw.viewIndex.length,
    width,
    height,
    mvsMs: Math.round(mvsMs),
    sources: raw.sources.map((s) => s.length),
    ranges: raw.ranges?.map((r) => [Math.round(1000 / r.invNear) / 1000, Math.round(1000 / r.invFar) / 1000]),
    raw: score(rawDepth, truths, n, isGood),
    confidence: { good: deciles(confGood), bad: deciles(confBad) },
    variants,
    ...(cameraRefinement ? { cameraRefinement } : {}),
  };
}
