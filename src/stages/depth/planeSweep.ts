/**
 * Classical multi-view stereo (the baseline the learned network must beat): plane sweep with NCC over 4 source views
 * per reference (WGSL, plane_sweep_ncc.wgsl), winner-take-all with sub-sample refinement, then geometric consistency
 * across neighbouring views and a confidence threshold (CPU). Depth maps come out at the working size, 0 = unknown.
 */
import { cameraCentre, convergencePoint, rotationAngleDeg, viewDirection } from '../../core/camera';

export { convergencePoint };
import type { CaptureView } from '../../core/capture';
import { WORKING_LONG_SIDE } from '../../io/ingest';
import { InputError, throwIfAborted } from '../../core/errors';
import { bindBuffers, getComputePipeline, splitWorkgroups } from '../../gpu/kernel';
import { gpuDone, readBuffer } from '../../gpu/readback';
import type { StageContext } from '../context';
import { DEFAULT_HOLE_FILL, fillDepthHoles, type HoleFillOptions } from './holeFill';
import { createImagePrep, type ImagePrep } from './imagePrep';
import filterWgsl from './mvs_filter.wgsl?raw';
import holeFillWgsl from './mvs_hole_fill.wgsl?raw';
import mergeWgsl from './mvs_merge.wgsl?raw';
import sweepWgsl from './plane_sweep_ncc.wgsl?raw';

export type MvsPreset = 'draft' | 'standard' | 'high';
/**
 * MVS_RESOLUTION_RULE: the depth maps' long side. Standard estimates depth at its working images' own size (1024,
 * ingest.ts WORKING_LONG_SIDE) instead of 640: on the H200 (standard, holdout 8, docs/benchmarks.md session 17) lego
 * (800 px photos) goes 23.44 -> 23.90 dB held-out, the fountain 27.33 -> 27.87 dB (59.0% -> 59.5% covered), for
 * depth 5.6 -> 7.4 s / 0.8 -> 1.3 s and a VRAM peak of 997 -> 1557 / 521 -> 812 MiB. Photos of 640 px or less (spot,
 * bob, the temple, 7-Scenes) are not affected. High stays below its 1600 px working images: at 1600 the fountain's
 * feed-forward mesh scored 28.41 dB at its validation photo against 28.51 at 1024 and 28.63 at 960 (one photo; the
 * spread is noise-sized), for a 2.0 against 1.7 GB peak; 1024 keeps high no coarser than standard.
 */
export const MVS_LONG_SIDE: Record<MvsPreset, number> = { draft: 320, standard: WORKING_LONG_SIDE.standard, high: WORKING_LONG_SIDE.standard };
export const MVS_DEPTHS: Record<MvsPreset, number> = { draft: 96, standard: 192, high: 256 };

const MAX_SOURCES = 4;
const PARAMS_BYTES = 336;

export interface MvsOptions {
  preset: MvsPreset;
  /** Override the MVS image long side / the number of depth hypotheses (tests). */
  longSide?: number;
  /**
   * The network only: the most its input may be enlarged over the working image (1 = never, the default). Its depth
   * comes out at half its input, so 2 lets it give depth at the working image's own resolution.
   */
  maxUpscale?: number;
  depthCount?: number;
  /** Consistent neighbours needed to keep a depth. */
  minConsistent?: number;
  minConfidence?: number;
  /** 2 (default): a second, narrowed sweep around the first result; 1: one sweep over the whole range. */
  passes?: 1 | 2;
  /**
   * Resolution divisor of the first of two passes: 2 (default) sweeps the whole range at half resolution, where the
   * NCC window covers 4x the area (low-texture surfaces: plaster, plastic) and a plane step moves a source pixel half
   * as far, then the full-resolution pass searches +-2 coarse steps around the median of the 3x3 coarse depths; 1:
   * both passes at full resolution (the session-3 sweep).
   */
  coarseScale?: 1 | 2;
  /** NCC window radius (3 = 7x7, the default: on lego / temple it keeps 23% / 4.2% of pixels against 15% / 3.0% for 5x5). */
  windowRadius?: number;
  /** Relative depth agreement for the consistency filter (0.01 = 1%). */
  depthTolerance?: number;
  /** Reprojection distance of the consistency filter, in pixels of the depth maps. */
  reprojectionPx?: number;
  sampling?: ConsistencyOptions['sampling'];
  lowConfidenceWitnesses?: boolean;
  excuseHidden?: boolean;
  /**
   * 'visible' (default): per-view ranges narrowed by sweepRanges; 'points': each view's range from the scene points it
   * sees (SPARSE_RANGE_RULE, pointRanges) where there are `scenePoints`, else as 'visible'; 'full': sweepRange's whole
   * range (0.4x..1.6x the convergence depth; forward captures 0.1x..40x). 'points' is not the default: on the H200
   * (docs/benchmarks.md, session 14) it was neutral where measured (7-Scenes filter study AbsRel 0.0890 at 6.67% kept
   * against 0.0850 at 6.05%; the temple through SfM 18.95% kept against 19.34%); it does help where the cameras'
   * layout misleads the guess (the unit test: axes converging 1 m ahead of a wall 2 m away).
   */
  range?: 'points' | 'visible' | 'full';
  /** Scene points (x, y, z triples in the poses' frame) from the camera stage (CaptureSet.scenePoints). */
  scenePoints?: Float32Array;
  /**
   * Known scene depth range in scene units (every view sweeps near..far): from the user, sparse points or a depth
   * sensor's specification. Captures whose cameras do not converge otherwise sweep a guess (sweepGeometry) that on
   * 7-Scenes' redkitchen is 0.07..27 m around a 1.1..2.8 m scene, leaving ~5 of 96 coarse planes on the scene.
   */
  depthRange?: { near: number; far: number };
  /**
   * Filling of enclosed small holes in the filtered maps (holeFill.ts; false = off, settings = on). Default: on with
   * DEFAULT_HOLE_FILL when no view has a mask (with masks fusion's silhouette fill closes holes). Temple at draft:
   * +49k of 768k pixels; the mesh goes from speckled fragments to a closed base, columns and roof.
   */
  holeFill?: Partial<HoleFillOptions> | false;
  /** Also return the unfiltered (depth, confidence) maps at the MVS resolution with their cameras (diagnostics). */
  keepRaw?: boolean;
  /**
   * The network only (NETWORK_NCC_RULE, mvsNet.ts): the plane sweep runs as well, plus a third, full-resolution NCC pass
   * that searches +-`priorSteps` coarse plane steps (inverse depth) around the network's depth; per pixel the better
   * NCC of the sweep's own fine pass and this one is kept, then the sweep's filter. Default true; false: the network's
   * own half-resolution depth goes to the filter.
   */
  nccRefine?: boolean;
  /** Half-width of the network-guided NCC pass's search, in coarse plane steps (default 6). */
  priorSteps?: number;
  /** The network's depths below this confidence are not used as a prior for the NCC pass (default 0). */
  priorConfidence?: number;
  /** The network-guided pass's depth replaces the sweep's only where its NCC confidence is higher by this (default 0). */
  mergeMargin?: number;
  /** Depth samples per pixel of the passes that search around a prior (fine, network-guided); default max(16, depthCount / 3). */
  refineSamples?: number;
  /**
   * The passes without a prior (the coarse pass, a single sweep) through the tiled kernel (plane_sweep_ncc.wgsl
   * mainTiled: each workgroup warps its tile of every source once per plane into workgroup memory). Default true;
   * false: the per-pixel kernel, as before (benchmarks compare the two).
   */
  tiledSweep?: boolean;
  /** The network only: views whose features stay on the GPU at once (FEATURE_CACHE_RULE, mvsNet.ts; default by memory). */
  featureCacheViews?: number;
  /** The network only: views per feature-network run (RunNetworkOptions.featureBatch). */
  featureBatch?: number;
}

/**
 * A first pass given from elsewhere (the network): (depth, confidence) per pixel at width x height for each view the
 * sweep uses, in the sweep's order; it replaces the coarse sweep.
 */
export interface DepthPrior {
  /** The pairs on the CPU, or already on the GPU (the network method's; used in place, not copied). */
  data: Float32Array | GPUBuffer;
  width: number;
  height: number;
}

/** The unfiltered MVS output: (depth, confidence) per pixel of `width` x `height` for each of `viewIndex`. */
export interface RawDepthMaps {
  data: Float32Array;
  width: number;
  height: number;
  /** Index into the caller's `views` of each map. */
  viewIndex: number[];
  Ks: number[][];
  poses: number[][];
  sources: number[][];
  ranges?: { invNear: number; invFar: number }[];
}

/**
 * The enclosed-hole fill the depth stage runs after its filter (options.holeFill), or null. By default only for
 * captures without masks: with masks, fusion's silhouette fill already closes the holes inside them, and filling the
 * depth as well cost spot (draft, photos only, SwiftShader) 0.57 dB held-out PSNR and 0.013 points of Chamfer.
 */
export function holeFillSettings(options: MvsOptions, views: { mask: Uint8Array | null }[]): HoleFillOptions | null {
  const fill = options.holeFill === undefined ? views.every((v) => !v.mask) : options.holeFill !== false;
  return fill ? { ...DEFAULT_HOLE_FILL, ...(options.holeFill || {}) } : null;
}

/** The per-view sweep ranges an MVS run uses (options.range). */
export function viewRanges(options: MvsOptions, poses: number[][], Ks: number[][], width: number, height: number, target: number[], sources: number[][], forward = false): { invNear: number; invFar: number }[] {
  if (options.depthRange) {
    const { near, far } = options.depthRange;
    if (!(near > 0 && far > near)) throw new InputError(`The depth range must satisfy 0 < near < far (got ${near}..${far}).`);
    return poses.map(() => ({ invNear: 1 / near, invFar: 1 / far }));
  }
  if (options.range === 'full') return poses.map((p) => sweepRange(p, target, forward));
  const visible = sweepRanges(poses, Ks, width, height, target, sources, options.minConsistent ?? 2, forward);
  if (options.range !== 'points' || !options.scenePoints) return visible;
  // The points' range replaces the guess (it is evidence; the guess may miss the scene entirely: cameras that
  // converge 1 m ahead of a wall 2 m away); a view that sees too few points keeps the guess.
  const fromPoints = pointRanges(options.scenePoints, poses, Ks, width, height);
  return visible.map((v, r) => fromPoints[r] ?? v);
}

/** SPARSE_RANGE_RULE's settings: points a view must see, the depth quantiles kept, and the margin around them. */
export const SPARSE_RANGE = { minPoints: 30, quantile: 0.02, nearFactor: 0.8, farFactor: 1.25, spanPad: 0.1 };

/**
 * SPARSE_RANGE_RULE: a view's sweep range from the scene points that project into it (in front, inside the image):
 * the 2nd to 98th percentile of their depths, widened to 0.8x near and 1.25x far and then by 10% of the inverse-depth
 * span on both sides; null where fewer than 30 points project into the view. The points are where the camera stage
 * matched texture, so the surfaces the photos can match lie among them; the visibility-based range alone is a guess
 * from the cameras' layout (7-Scenes' redkitchen: 0.07..27 m around a 1.1..2.8 m scene), and with a fixed number of
 * hypotheses a narrower range is a finer step. This is how COLMAP and MVSNet pipelines bound their sweeps too.
 * Occluded points count (visibility is not known per point), which can only widen the range.
 */
export function pointRanges(points: Float32Array, poses: number[][], Ks: number[][], width: number, height: number, settings = SPARSE_RANGE): ({ invNear: number; invFar: number } | null)[] {
  const count = Math.floor(points.length / 3);
  return poses.map((p, r) => {
    const K = Ks[r];
    const depths: number[] = [];
    for (let k = 0; k < count; k++) {
      const x = points[3 * k], y = points[3 * k + 1], z = points[3 * k + 2];
      const zc = p[8] * x + p[9] * y + p[10] * z + p[11];
      if (!(zc > 0)) continue;
      const xc = p[0] * x + p[1] * y + p[2] * z + p[3], yc = p[4] * x + p[5] * y + p[6] * z + p[7];
      const u = (K[0] * xc + K[1] * yc) / zc + K[2], v = (K[4] * yc) / zc + K[5];
      if (u >= -0.5 && v >= -0.5 && u <= width - 0.5 && v <= height - 0.5) depths.push(zc);
    }
    if (depths.length < settings.minPoints) return null;
    depths.sort((a, b) => a - b);
    const at = (q: number) => depths[Math.min(depths.length - 1, Math.max(0, Math.round(q * (depths.length - 1))))];
    const invNear = 1 / (at(settings.quantile) * settings.nearFactor), invFar = 1 / (at(1 - settings.quantile) * settings.farFactor);
    const pad = settings.spanPad * (invNear - invFar);
    return { invNear: invNear + pad, invFar: Math.max(0.5 * invFar, invFar - pad) };
  });
}

/**
 * Where the sweep looks. Cameras around an object converge: their axes pass near one point, in front of them all, and
 * that point is the target. Cameras moved through a scene (a hand-held walk through a room, a forward-facing capture)
 * do not: the least-squares point of nearly parallel axes lies anywhere, on 7-Scenes' redkitchen 0.3 m BEHIND every
 * camera, which made every range [0, 0]. Those are `forward` captures: the target becomes a point 10x the spread of
 * the camera centres ahead of them (for choosing sources by baseline angle), and sweepRange searches 0.1x..40x its
 * straight-line distance from each camera (whichever way the camera faces; inverse depth is uniform, so the far end
 * costs few planes). Without scene points the cameras' spread is the only scale there is: a capture whose camera
 * moved 1 m but that looks at things 0.3 m away would still miss them (SfM's points would give the real range).
 */
export function sweepGeometry(poses: number[][]): { target: number[]; forward: boolean } {
  const target = convergencePoint(poses);
  const centres = poses.map(cameraCentre);
  const mean = [0, 1, 2].map((k) => centres.reduce((sum, c) => sum + c[k], 0) / centres.length);
  const spread = Math.sqrt(centres.reduce((sum, c) => sum + (c[0] - mean[0]) ** 2 + (c[1] - mean[1]) ** 2 + (c[2] - mean[2]) ** 2, 0) / centres.length);
  const depthOf = (p: number[], x: number[]) => p[8] * x[0] + p[9] * x[1] + p[10] * x[2] + p[11];
  const depths = poses.map((p) => depthOf(p, target));
  // Converging: the point is in front of every camera and not absurdly far compared with how far the cameras moved.
  if (spread > 0 && depths.every((d) => d > 0) && Math.max(...depths) < 100 * spread) return { target, forward: false };
  const dir = [0, 0, 0];
  for (const p of poses) for (let k = 0; k < 3; k++) dir[k] += p[8 + k]; // the optical axis: row 3 of R
  const n = Math.hypot(dir[0], dir[1], dir[2]) || 1;
  const reach = 10 * (spread || 1);
  return { target: mean.map((m, k) => m + (dir[k] / n) * reach), forward: true };
}

/** The consistency filter's settings from MVS options, with the defaults of each method's confidence. */
export function consistencyOptions(options: MvsOptions, defaultConfidence: number): ConsistencyOptions {
  return {
    minConsistent: options.minConsistent ?? 2,
    minConfidence: options.minConfidence ?? defaultConfidence,
    depthTolerance: options.depthTolerance ?? 0.01,
    // 1 px and the nearest witness pixel. 2 px keeps more depth inside spot's masks (42% against 29%, filter study in
    // docs/benchmarks.md) but lets through enough wrong depth to cost the mesh end to end (H200, spot draft photos
    // only: Chamfer 0.52% -> 0.71%, held-out PSNR 17.5 -> 15.5 dB); bilinear witness depth cost 0.2 dB there too.
    reprojectionPx: options.reprojectionPx ?? 1,
    sampling: options.sampling ?? 'nearest',
    // On: the network's confidence separates good from bad depth weakly (median 0.68 vs 0.49 on spot), and refusing
    // low-confidence witnesses dropped 13% of what it kept (spot, 12 views).
    lowConfidenceWitnesses: options.lowConfidenceWitnesses ?? true,
    // Off by default: on a 12-view sphere ring it keeps 86% of exact depth instead of 71%, but it also lets 7.5% of
    // depth with random 4-8% errors through (0.7% without); not yet measured on real captures.
    excuseHidden: options.excuseHidden ?? false,
  };
}

export interface MvsStats {
  views: number;
  width: number;
  height: number;
  depthCount: number;
  sweepMs: number;
  filterMs: number;
  keptFraction: number;
  /** FOCAL_SENSITIVITY_RULE: how many percent the depth scale moves per percent of focal-length error (null: unknown). */
  focalSensitivity: number | null;
}

/**
 * FOCAL_SENSITIVITY_RULE. Between a view and a source the camera turns by theta and moves by b across the view's axis;
 * at depth z the rotation moves the image by ~f theta and the motion by ~f b / z. The depth comes from what the
 * rotation (through the focal length) does not explain, so a focal error of e (relative) reads as a depth error of
 * ~e theta z / b. This is the median of theta z / b over every view's sources, z being the view's median kept depth.
 * Orbits around an object turn by about b / z (~1); 7-Scenes' redkitchen, a camera panning 35 deg while moving 20 cm,
 * gives 6.4, and its depth scale moved 7% per 1% of focal on the H200 (docs/benchmarks.md, session 19).
 */
export function focalSensitivity(poses: number[][], sources: number[][], medianDepth: (view: number) => number): number | null {
  const values: number[] = [];
  poses.forEach((a, i) => {
    const z = medianDepth(i);
    if (!(z > 0)) return;
    const ci = cameraCentre(a), axis = viewDirection(a);
    for (const j of sources[i]) {
      const theta = (rotationAngleDeg(a, poses[j]) * Math.PI) / 180;
      const cj = cameraCentre(poses[j]);
      const d = [cj[0] - ci[0], cj[1] - ci[1], cj[2] - ci[2]];
      const along = d[0] * axis[0] + d[1] * axis[1] + d[2] * axis[2];
      const across = Math.sqrt(Math.max(0, d[0] * d[0] + d[1] * d[1] + d[2] * d[2] - along * along));
      if (across > 0) values.push((theta * z) / across);
    }
  });
  if (values.length === 0) return null;
  values.sort((x, y) => x - y);
  return values[values.length >> 1];
}

/** focalSensitivity with each view's median depth from its filtered map; rounded to 0.01. */
export function focalSensitivityOf(poses: number[][], sources: number[][], filtered: Float32Array, count: number, n: number): number | null {
  const medians = medianDepths(filtered, count, n);
  const s = focalSensitivity(poses, sources, (r) => medians[r]);
  return s === null ? null : Math.round(100 * s) / 100;
}

/** The median positive value of each view's map in `maps` (count maps of n values), from every 7th pixel; 0 when none. */
export function medianDepths(maps: Float32Array, count: number, n: number): number[] {
  return Array.from({ length: count }, (_, r) => {
    const values: number[] = [];
    for (let i = r * n; i < (r + 1) * n; i += 7) if (maps[i] > 0) values.push(maps[i]);
    values.sort((x, y) => x - y);
    return values.length ? values[values.length >> 1] : 0;
  });
}


/**
 * Inverse-depth range searched by the coarse sweep: 0.4x to 1.6x the depth of where the cameras converge; for forward
 * captures (sweepGeometry) 0.1x to 40x the distance to the point ahead of them.
 */
export function sweepRange(pose: number[], target: number[], forward = false): { invNear: number; invFar: number } {
  const c = cameraCentre(pose);
  if (forward) {
    const dist = Math.max(1e-6, Math.hypot(target[0] - c[0], target[1] - c[1], target[2] - c[2]));
    return { invNear: 1 / (dist * 0.1), invFar: 1 / (dist * 40) };
  }
  const dist = Math.max(1e-6, pose[8] * (target[0] - c[0]) + pose[9] * (target[1] - c[1]) + pose[10] * (target[2] - c[2]));
  return { invNear: 1 / (dist * 0.4), invFar: 1 / (dist * 1.6) };
}

/**
 * Per-view sweep ranges: sweepRange's (0.4x..1.6x, or 0.1x..40x for forward captures), narrowed to where a depth can be both matched and kept. Near:
 * the closest depth, over a grid of the view's pixel rays, at which at least min(minConsistent, sources) of its
 * sources see the point (in front, inside the image); nearer depths can never pass the consistency filter, which asks
 * exactly that. Far: the farthest depth at which at least half of all cameras see the point; in captures around an
 * object (rings, orbits) that is the far side of the region they all look at, in forward-facing ones far points are
 * seen by more cameras, not fewer, so it does not cut. 5% of the inverse-depth span is added on both sides.
 * Why it matters: with a fixed number of hypotheses a narrower range is a finer step in pixels; on the temple
 * (focal 2.4x the width, 22-45 degree baselines) one stage-1 step of the full range moves a source pixel 6-12 px
 * at 640x480, far beyond the <= 1.1 px the network saw in training (training/data.py).
 */
export function sweepRanges(poses: number[][], Ks: number[][], width: number, height: number, target: number[], sources: number[][], minConsistent = 2, forward = false): { invNear: number; invFar: number }[] {
  const GX = 12, GY = 9, SAMPLES = 128;
  const maps = poses.map((_, r) => poses.map((__, s) => (s === r ? null : sourceProjection(Ks[r], poses[r], Ks[s], poses[s]))));
  const sees = (m: { A: number[]; b: number[] }, x: number, y: number, d: number) => {
    const { A, b } = m;
    const hz = d * (A[6] * x + A[7] * y + A[8]) + b[2];
    if (hz <= 1e-9) return false;
    const u = (d * (A[0] * x + A[1] * y + A[2]) + b[0]) / hz, v = (d * (A[3] * x + A[4] * y + A[5]) + b[1]) / hz;
    return u >= 0 && v >= 0 && u <= width - 1 && v <= height - 1;
  };
  return poses.map((pose, r) => {
    const full = sweepRange(pose, target, forward);
    const needSources = Math.min(minConsistent, sources[r].length);
    const needAll = Math.max(needSources, Math.ceil((poses.length - 1) / 2));
    let nearInv = -Infinity, farInv = Infinity;
    for (let k = 0; k < SAMPLES; k++) {
      const inv = full.invNear + ((full.invFar - full.invNear) * (k + 0.5)) / SAMPLES;
      const d = 1 / inv;
      let matchable = false, shared = false;
      for (let gy = 0; gy < GY && !(matchable && shared); gy++) for (let gx = 0; gx < GX && !(matchable && shared); gx++) {
        const x = ((gx + 0.5) * width) / GX - 0.5, y = ((gy + 0.5) * height) / GY - 0.5;
        if (!matchable) matchable = sources[r].filter((s) => sees(maps[r][s]!, x, y, d)).length >= needSources;
        if (!shared) {
          let count = 0;
          for (let s = 0; s < poses.length && count < needAll; s++) if (s !== r && sees(maps[r][s]!, x, y, d)) count++;
          shared = count >= needAll;
        }
      }
      if (matchable && nearInv === -Infinity) nearInv = inv;
      if (shared) farInv = inv;
    }
    if (nearInv === -Infinity || farInv === Infinity || farInv >= nearInv) return full;
    const pad = 0.05 * (nearInv - farInv);
    return { invNear: Math.min(full.invNear, nearInv + pad), invFar: Math.max(full.invFar, farInv - pad) };
  });
}

/**
 * Up to 4 source views for each reference: baselines between 3 and 60 degrees, closest to 15 preferred. The 60 (was
 * 45): in a ring of cameras ~22 degrees apart (the temple) the second neighbours sit at 41-51 degrees, and without
 * them a view had only its two direct neighbours, both of which had to match (best two of two) and both confirm its
 * depth; one bad neighbour then emptied the view (0005: 7% of its foreground kept). With them the best two of four
 * match and 2 of 4 confirm: 38.7% -> 46.8% of the temple's foreground kept at draft (same raw maps, filter only).
 * Captures with enough views under 45 degrees (orbits, spot's 24 views) keep the same sources.
 */
export function selectSources(poses: number[][], target: number[]): number[][] {
  const rays = poses.map((p) => {
    const c = cameraCentre(p);
    const r = [target[0] - c[0], target[1] - c[1], target[2] - c[2]];
    const n = Math.hypot(r[0], r[1], r[2]);
    return r.map((v) => v / n);
  });
  return poses.map((_, i) => {
    const scored = poses
      .map((__, j) => {
        if (j === i) return null;
        const angle = (Math.acos(Math.max(-1, Math.min(1, rays[i][0] * rays[j][0] + rays[i][1] * rays[j][1] + rays[i][2] * rays[j][2]))) * 180) / Math.PI;
        if (angle < 3 || angle > 60) return null;
        return { j, score: Math.exp(-((angle - 15) ** 2) / (2 * 10 ** 2)) };
      })
      .filter((s): s is { j: number; score: number } => s !== null)
      .sort((a, b) => b.score - a.score);
    return scored.slice(0, MAX_SOURCES).map((s) => s.j);
  });
}

/**
 * The filtered depth maps (one width x height map per used view, in `used` order) at each view's working size
 * (nearest), zero outside its mask, in the views' order (null for views not used); `kept`: pixels with depth at the
 * filtered size. Shared by the plane sweep and the network-alone path.
 */
export function depthsAtViewSize(filtered: Float32Array, used: { v: CaptureView; i: number }[], viewCount: number, width: number, height: number): { depths: (Float32Array | null)[]; kept: number } {
  const depths: (Float32Array | null)[] = new Array(viewCount).fill(null);
  let kept = 0;
  used.forEach(({ v, i }, r) => {
    const small = filtered.subarray(r * width * height, (r + 1) * width * height);
    const out = new Float32Array(v.width * v.height);
    for (let y = 0; y < v.height; y++) for (let x = 0; x < v.width; x++) {
      const d = small[Math.min(height - 1, Math.floor(((y + 0.5) * height) / v.height)) * width + Math.min(width - 1, Math.floor(((x + 0.5) * width) / v.width))];
      out[y * v.width + x] = v.mask && v.mask[y * v.width + x] === 0 ? 0 : d;
    }
    for (const d of small) if (d > 0) kept++;
    depths[i] = out;
  });
  return { depths, kept };
}

const mul3 = (a: number[], b: number[]) => Array.from({ length: 9 }, (_, i) => a[Math.floor(i / 3) * 3] * b[i % 3] + a[Math.floor(i / 3) * 3 + 1] * b[3 + (i % 3)] + a[Math.floor(i / 3) * 3 + 2] * b[6 + (i % 3)]);
const rotOf = (p: number[]) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
const transpose3 = (a: number[]) => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];
const mulv = (a: number[], v: number[]) => [0, 1, 2].map((r) => a[r * 3] * v[0] + a[r * 3 + 1] * v[1] + a[r * 3 + 2] * v[2]);
function invertK(K: number[]): number[] {
  const [fx, s, cx, , fy, cy] = K;
  return [1 / fx, -s / (fx * fy), (s * cy - cx * fy) / (fx * fy), 0, 1 / fy, -cy / fy, 0, 0, 1];
}

/**
 * The map from a reference pixel (u, v) at depth d to homogeneous source pixel coordinates: d * A [u v 1] + b, with
 * A = K_s R_s R_r^T K_r^-1 and b = K_s (t_s - R_s R_r^T t_r). Row-major A.
 */
export function sourceProjection(Kr: number[], poseR: number[], Ks: number[], poseS: number[]): { A: number[]; b: number[] } {
  const Rr = rotOf(poseR), tr = [poseR[3], poseR[7], poseR[11]];
  const Rs = rotOf(poseS), ts = [poseS[3], poseS[7], poseS[11]];
  const RsRrT = mul3(Rs, transpose3(Rr));
  const A = mul3(mul3(Ks, RsRrT), invertK(Kr));
  const shift = mulv(RsRrT, tr);
  return { A, b: mulv(Ks, [ts[0] - shift[0], ts[1] - shift[1], ts[2] - shift[2]]) };
}

/**
 * Estimates a depth map for every posed, not held-out view. Returns them at the working size (scene units, 0 =
 * unknown), in the order of `views`.
 */
export async function estimateDepthPlaneSweep(views: CaptureView[], options: MvsOptions, ctx: StageContext, given?: DepthPrior): Promise<{ depths: (Float32Array | null)[]; stats: MvsStats; raw?: RawDepthMaps }> {
  const used = views.map((v, i) => ({ v, i })).filter(({ v }) => v.camFromWorld && !v.heldOut);
  if (used.length < 2) throw new InputError('Depth from photos needs at least two photos with cameras.');
  const first = used[0].v;
  const longSide = options.longSide ?? MVS_LONG_SIDE[options.preset];
  const scale = Math.min(1, longSide / Math.max(first.width, first.height));
  const width = Math.max(8, Math.round(first.width * scale)), height = Math.max(8, Math.round(first.height * scale));
  const ok = used.filter(({ v }) => Math.abs(v.width / v.height - first.width / first.height) < 0.01);
  if (ok.length < used.length) ctx.warn(`${used.length - ok.length} photo(s) have another aspect ratio than ${first.name}: no depth is estimated for them.`);
  const poses = ok.map(({ v }) => v.camFromWorld!);
  const Ks = ok.map(({ v }) => {
    const sx = width / v.width, sy = height / v.height;
    return [v.K[0] * sx, v.K[1] * sx, (v.K[2] + 0.5) * sx - 0.5, 0, v.K[4] * sy, (v.K[5] + 0.5) * sy - 0.5, 0, 0, 1];
  });
  const { target, forward } = sweepGeometry(poses);
  const sources = selectSources(poses, target);
  const ranges = viewRanges(options, poses, Ks, width, height, target, sources, forward);
  const depthCount = options.depthCount ?? MVS_DEPTHS[options.preset];
  const { device } = ctx.gpu;
  const scope = ctx.scope;
  const t0 = performance.now();
  const passes = options.passes ?? 2;
  // Two passes: the coarse one at half resolution unless asked otherwise (coarseScale, see MvsOptions).
  const coarseScale = passes === 2 && (options.coarseScale ?? 2) === 2 && width >= 32 && height >= 32 ? 2 : 1;
  const cw = Math.floor(width / coarseScale), ch = Math.floor(height / coarseScale);
  const givenBytes = given ? (given.data instanceof Float32Array ? given.data.byteLength : given.data.size) : 0;
  if (given && givenBytes !== ok.length * given.width * given.height * 8) throw new Error(`The depth prior holds ${givenBytes / 8} pixels, not ${ok.length} views of ${given.width}x${given.height}.`);
  const coarseKs = coarseScale === 1 ? Ks : Ks.map((K) => [K[0] / 2, K[1] / 2, (K[2] + 0.5) / 2 - 0.5, 0, K[4] / 2, (K[5] + 0.5) / 2 - 0.5, 0, 0, 1]);
  // Every texture and buffer of the call is destroyed in the finally, also when a later allocation runs out of memory
  // (the network method's fallback then runs the sweep alone in the same scope).
  const owned: (GPUBuffer | GPUTexture)[] = [];
  const own = <T extends GPUBuffer | GPUTexture>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  const paramBuffers: GPUBuffer[] = [];
  let prep: ImagePrep | null = null;
  try {
    const images = own(scope.createTexture({ label: 'mvs:images', size: [width, height, ok.length], mipLevelCount: coarseScale === 2 ? 2 : 1, format: 'r8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST }));
    // Luma (and its mip) made on the GPU from each view's RGBA (imagePrep.ts; its buffers go in the finally).
    prep = createImagePrep(device, scope);
    for (const [layer, { v }] of ok.entries()) prep.luma(v.image, width, height, images, layer, coarseScale === 2);
    const coarse = own(scope.createBuffer({ label: 'mvs:coarse', size: ok.length * cw * ch * 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const fine = passes === 2 ? own(scope.createBuffer({ label: 'mvs:fine', size: ok.length * width * height * 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC })) : coarse;
    // A given prior (the network's depth) gets its own full-resolution pass; per pixel the better NCC of the two wins.
    // A prior already on the GPU is read in place; one on the CPU goes up as it is. A confidence floor needs a masked
    // copy (read back first when the prior is on the GPU).
    const minConfidence = options.priorConfidence ?? 0;
    let givenPrior: GPUBuffer | null = null;
    if (given && !(given.data instanceof Float32Array) && minConfidence <= 0) givenPrior = given.data;
    else if (given) {
      const data = given.data instanceof Float32Array ? (minConfidence > 0 ? new Float32Array(given.data) : given.data) : new Float32Array(await readBuffer(device, scope, given.data));
      if (minConfidence > 0) for (let p = 0; p < data.length; p += 2) if (!(data[p + 1] >= minConfidence)) data[p] = 0;
      givenPrior = own(scope.createBuffer({ label: 'mvs:givenPrior', size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }));
      device.queue.writeBuffer(givenPrior, 0, data as Float32Array<ArrayBuffer>);
    }
    const givenFine = given ? own(scope.createBuffer({ label: 'mvs:givenFine', size: ok.length * width * height * 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC })) : null;
    // A placeholder binding for the first pass when there is no second buffer (never read: usePrior = 0).
    const prior1 = own(scope.createBuffer({ label: 'mvs:noPrior', size: 16, usage: GPUBufferUsage.STORAGE }));
    const sweepCode = sweepWgsl.replaceAll('RADIUS_VALUE', String(Number.isFinite(options.windowRadius) ? Math.max(1, Math.min(7, Math.round(options.windowRadius!))) : 3));
    const pipeline = getComputePipeline(device, { label: 'mvs.planeSweep', code: sweepCode });
    const tiled = options.tiledSweep !== false ? getComputePipeline(device, { label: 'mvs.planeSweepTiled', code: sweepCode, entryPoint: 'mainTiled' }) : null;
    const sampler = device.createSampler({ label: 'mvs', magFilter: 'linear', minFilter: 'linear', addressModeU: 'clamp-to-edge', addressModeV: 'clamp-to-edge' });
    const imagesView = images.createView({ dimension: '2d-array' });
    type Pass = { label: string; out: GPUBuffer; prior: GPUBuffer | null; priorSize: [number, number]; halfSteps: number; coarse: boolean };
    const passList: Pass[] = [{ label: passes === 2 ? 'coarse' : 'sweep', out: coarse, prior: null, priorSize: [cw, ch], halfSteps: 0, coarse: coarseScale === 2 }];
    // The fine pass searches +-2 coarse steps (inverse depth) around the coarse depth.
    if (passes === 2) passList.push({ label: 'fine', out: fine, prior: coarse, priorSize: [cw, ch], halfSteps: 2, coarse: false });
    if (given && givenPrior && givenFine) passList.push({ label: 'network-guided', out: givenFine, prior: givenPrior, priorSize: [given.width, given.height], halfSteps: options.priorSteps ?? 6, coarse: false });
    const steps = passList.length * ok.length + 1;
    for (let pi = 0; pi < passList.length; pi++) for (let r = 0; r < ok.length; r++) {
      const job = passList[pi];
      throwIfAborted(ctx.signal);
      const src = sources[r];
      const buf = new ArrayBuffer(PARAMS_BYTES);
      const f = new Float32Array(buf), u = new Uint32Array(buf);
      const atCoarse = job.coarse;
      const passKs = atCoarse ? coarseKs : Ks;
      const pw = atCoarse ? cw : width, ph = atCoarse ? ch : height;
      src.forEach((s, k) => {
        const { A, b } = sourceProjection(passKs[r], poses[r], passKs[s], poses[s]);
        for (let c = 0; c < 3; c++) for (let row = 0; row < 3; row++) f[k * 12 + c * 4 + row] = A[row * 3 + c];
        f.set(b, 48 + k * 4);
      });
      u.set([pw, ph, r, src.length], 64);
      u.set([...src, 0, 0, 0, 0].slice(0, 4), 68);
      const range = ranges[r];
      f[72] = range.invNear;
      f[73] = range.invFar;
      u[74] = job.prior ? (options.refineSamples ?? Math.max(16, Math.round(depthCount / 3))) : depthCount;
      u[75] = r * pw * ph;
      f[76] = (job.halfSteps * (f[72] - f[73])) / depthCount;
      u[77] = job.prior ? 1 : 0;
      u[78] = atCoarse ? 1 : 0;
      u[79] = r * job.priorSize[0] * job.priorSize[1];
      u.set(job.prior ? job.priorSize : [pw, ph], 80);
      const params = scope.createBuffer({ label: 'mvs:params', size: PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      paramBuffers.push(params);
      device.queue.writeBuffer(params, 0, buf);
      if (src.length === 0) continue;
      const encoder = device.createCommandEncoder({ label: 'mvs.planeSweep' });
      const pass = encoder.beginComputePass({ label: 'mvs.planeSweep' });
      // A pass without a prior runs tiled (its layout has no prior binding: 'auto' leaves out what mainTiled never reads).
      const kernel = !job.prior && tiled ? tiled : pipeline;
      pass.setPipeline(kernel);
      pass.setBindGroup(0, device.createBindGroup({
        label: 'mvs.planeSweep',
        layout: kernel.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: imagesView },
          { binding: 1, resource: sampler },
          { binding: 2, resource: { buffer: params } },
          { binding: 3, resource: { buffer: job.out } },
          ...(kernel === tiled ? [] : [{ binding: 4, resource: { buffer: job.prior ?? prior1 } }]),
        ],
      }));
      const group = kernel === tiled ? 16 : 8;
      pass.dispatchWorkgroups(Math.ceil(pw / group), Math.ceil(ph / group));
      pass.end();
      device.queue.submit([encoder.finish()]);
      if (r % 4 === 3 || r === ok.length - 1) {
        await gpuDone(device, ctx.signal);
        ctx.progress(pi * ok.length + r + 1, steps, `depth ${job.label} ${r + 1}/${ok.length}`);
      }
    }
    const pixels = ok.length * width * height;
    if (givenFine) {
      const encoder = device.createCommandEncoder({ label: 'mvs.merge' });
      encodeMerge(device, encoder, fine, givenFine, pixels, options.mergeMargin ?? 0);
      device.queue.submit([encoder.finish()]);
    }
    const raw = options.keepRaw ? new Float32Array(await readBuffer(device, scope, fine, 0, pixels * 8)) : null;
    const t1 = performance.now();
    const filtered = await filterConsistentGpu(ctx, fine, ok.length, width, height, poses, Ks, sources, consistencyOptions(options, 0.6), holeFillSettings(options, ok.map(({ v }) => v)));
    const t2 = performance.now();
    const { depths, kept } = depthsAtViewSize(filtered, ok, views.length, width, height);
    ctx.progress(steps, steps, 'depth filtered');
    return {
      depths,
      stats: { views: ok.length, width, height, depthCount, sweepMs: t1 - t0, filterMs: t2 - t1, keptFraction: kept / (ok.length * width * height), focalSensitivity: focalSensitivityOf(poses, sources, filtered, ok.length, width * height) },
      ...(raw ? { raw: { data: raw, width, height, viewIndex: ok.map(({ i }) => i), Ks, poses, sources, ranges } } : {}),
    };
  } finally {
    prep?.release();
    for (const r of owned) scope.destroy(r);
    for (const p of paramBuffers) scope.destroy(p);
  }
}

/**
 * Per pixel, the (depth, confidence) pair with the better NCC confidence of two passes (in place into `into`; `other`
 * must be better by `margin`, MvsOptions.mergeMargin): a pass that found nothing (depth 0) never wins.
 */
export function mergeBetter(into: Float32Array, other: Float32Array, margin = 0): void {
  for (let p = 0; p < into.length; p += 2) {
    if (other[p] > 0 && (!(into[p] > 0) || other[p + 1] > into[p + 1] + margin)) {
      into[p] = other[p];
      into[p + 1] = other[p + 1];
    }
  }
}

/**
 * The four source depths around a projection are interpolated when they lie within 5% of each other: wide enough for
 * slanted surfaces at MVS resolutions (a 70-degree slope changes depth by ~1.5% per pixel at f = 300 px), narrow
 * enough not to blend across an occlusion edge.
 */
const BILINEAR_SPREAD = 0.05;

/** Settings of the geometric-consistency filter (see filterConsistent). */
export interface ConsistencyOptions {
  /** Source views that must confirm a depth (capped at the view's source count). */
  minConsistent: number;
  /** Depths with a lower confidence are dropped before the check (and not used to confirm others). */
  minConfidence: number;
  /** Relative depth agreement (0.01 = 1%). */
  depthTolerance: number;
  /** Reprojection distance in pixels (at the depth maps' resolution). */
  reprojectionPx: number;
  /** How the source depth is read where the reference pixel lands: 'bilinear' (when the 4 neighbours agree) or 'nearest'. */
  sampling: 'bilinear' | 'nearest';
  /** Whether a source depth below minConfidence may still confirm others. */
  lowConfidenceWitnesses: boolean;
  /**
   * Sources that cannot see the point (it projects outside them, or they see something clearly in front of it) are
   * not asked to confirm it: then one confirming source suffices where only one could. Still at least one.
   */
  excuseHidden: boolean;
}

/**
 * Keeps depths that at least `minConsistent` source views confirm: the reference pixel at its depth lands in the
 * source, the source's depth there is sent back, and the point it gives must come back within `reprojectionPx` of the
 * pixel with a depth within `depthTolerance`. The source depth is interpolated bilinearly between the four pixels
 * around the projection when they agree with each other (within the tolerance), else the nearest one is used:
 * rounding to the nearest pixel alone moves the sample up to half a pixel, which on a slanted surface at MVS
 * resolutions (160-320 px) is itself ~0.5-1% of the depth, and with two maps' own errors pushed most correct
 * depths of the synthetic spot capture over the 1% tolerance.
 */
export function filterConsistent(raw: Float32Array, count: number, width: number, height: number, poses: number[][], Ks: number[][], sources: number[][], options: ConsistencyOptions): Float32Array {
  const { minConsistent, minConfidence, depthTolerance, reprojectionPx, sampling, lowConfidenceWitnesses, excuseHidden } = options;
  const n = width * height;
  const out = new Float32Array(count * n);
  const r2max = reprojectionPx * reprojectionPx;
  // A depth usable as a witness: positive (and confident enough unless lowConfidenceWitnesses).
  const witnessConfidence = lowConfidenceWitnesses ? -Infinity : minConfidence;
  const usable = (k: number) => (raw[2 * k] > 0 && raw[2 * k + 1] >= witnessConfidence ? raw[2 * k] : 0);
  // Per ordered pair (r, s): source-from-reference (for a ref pixel at depth d: h = d * A [x y 1] + b) and
  // reference-from-source maps, from sourceProjection.
  for (let r = 0; r < count; r++) {
    const need = Math.min(minConsistent, sources[r].length);
    const pairs = sources[r].map((s) => ({ s, fwd: sourceProjection(Ks[r], poses[r], Ks[s], poses[s]), back: sourceProjection(Ks[s], poses[s], Ks[r], poses[r]) }));
    const base = r * n;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const i = base + y * width + x;
      const d = raw[2 * i];
      if (d <= 0 || raw[2 * i + 1] < minConfidence) continue;
      let good = 0, hidden = 0;
      for (const { s, fwd, back } of pairs) {
        const A = fwd.A, b = fwd.b;
        const hz = d * (A[6] * x + A[7] * y + A[8]) + b[2];
        if (hz <= 0) {
          hidden++;
          continue;
        }
        const px = (d * (A[0] * x + A[1] * y + A[2]) + b[0]) / hz;
        const py = (d * (A[3] * x + A[4] * y + A[5]) + b[1]) / hz;
        if (!(px > -0.5 && py > -0.5 && px < width - 0.5 && py < height - 0.5)) {
          hidden++;
          continue;
        }
        const sb = s * n;
        // Bilinear between the four neighbours when all four are valid and agree; else the nearest pixel.
        const x0 = Math.min(width - 2, Math.max(0, Math.floor(px))), y0 = Math.min(height - 2, Math.max(0, Math.floor(py)));
        const fx = Math.min(1, Math.max(0, px - x0)), fy = Math.min(1, Math.max(0, py - y0));
        const d00 = usable(sb + y0 * width + x0), d10 = usable(sb + y0 * width + x0 + 1);
        const d01 = usable(sb + (y0 + 1) * width + x0), d11 = usable(sb + (y0 + 1) * width + x0 + 1);
        const lo = Math.min(d00, d10, d01, d11), hi = Math.max(d00, d10, d01, d11);
        let ds: number, u: number, v: number;
        if (sampling === 'bilinear' && lo > 0 && hi - lo < BILINEAR_SPREAD * lo) {
          ds = (d00 * (1 - fx) + d10 * fx) * (1 - fy) + (d01 * (1 - fx) + d11 * fx) * fy;
          u = px;
          v = py;
        } else {
          u = Math.min(width - 1, Math.max(0, Math.round(px)));
          v = Math.min(height - 1, Math.max(0, Math.round(py)));
          ds = usable(sb + v * width + u);
        }
        if (ds <= 0) continue;
        // The source sees a surface clearly in front of the point: occluded there, it can neither confirm nor deny.
        if (ds < hz * (1 - 4 * depthTolerance)) {
          hidden++;
          continue;
        }
        const B = back.A, c = back.b;
        const rz = ds * (B[6] * u + B[7] * v + B[8]) + c[2];
        if (rz <= 0) continue;
        const rx = (ds * (B[0] * u + B[1] * v + B[2]) + c[0]) / rz, ry = (ds * (B[3] * u + B[4] * v + B[5]) + c[1]) / rz;
        if ((rx - x) ** 2 + (ry - y) ** 2 < r2max && Math.abs(rz - d) < depthTolerance * d) good++;
      }
      if (good >= Math.max(1, excuseHidden ? Math.min(need, pairs.length - hidden) : need)) out[i] = d;
    }
  }
  return out;
}

const FILTER_PARAMS_BYTES = 48;
const FILTER_PAIR_STRIDE = 104;

/** The per-view source table of mvs_filter.wgsl: count, source indices, then forward and backward maps per source. */
function filterPairs(count: number, poses: number[][], Ks: number[][], sources: number[][]): Float32Array {
  const out = new Float32Array(count * FILTER_PAIR_STRIDE);
  for (let r = 0; r < count; r++) {
    const base = r * FILTER_PAIR_STRIDE;
    out[base] = sources[r].length;
    sources[r].forEach((s, k) => {
      out[base + 1 + k] = s;
      const fwd = sourceProjection(Ks[r], poses[r], Ks[s], poses[s]), back = sourceProjection(Ks[s], poses[s], Ks[r], poses[r]);
      const o = base + 8 + k * 24;
      out.set(fwd.A, o);
      out.set(fwd.b, o + 9);
      out.set(back.A, o + 12);
      out.set(back.b, o + 21);
    });
  }
  return out;
}

/**
 * filterConsistent on the GPU (mvs_filter.wgsl, one invocation per pixel of every view); `raw` is the (depth,
 * confidence) buffer on the GPU or an array to upload. Same result as the CPU reference up to float32 rounding at the
 * tolerances. Views with more than 4 sources go to the CPU reference.
 */
export async function filterConsistentGpu(ctx: StageContext, raw: GPUBuffer | Float32Array, count: number, width: number, height: number, poses: number[][], Ks: number[][], sources: number[][], options: ConsistencyOptions, holeFill: HoleFillOptions | null = null): Promise<Float32Array> {
  if (sources.some((s) => s.length > MAX_SOURCES)) {
    const data = raw instanceof Float32Array ? raw : new Float32Array(await readBuffer(ctx.gpu.device, ctx.scope, raw));
    const kept = filterConsistent(data, count, width, height, poses, Ks, sources, options);
    if (holeFill) fillDepthHoles(kept, count, width, height, holeFill, ctx.signal);
    return kept;
  }
  const { device } = ctx.gpu;
  const scope = ctx.scope;
  const owned: GPUBuffer[] = [];
  const make = (label: string, size: number, usage: number) => {
    const b = scope.createBuffer({ label, size: Math.max(16, size), usage });
    owned.push(b);
    return b;
  };
  try {
    let rawBuffer: GPUBuffer;
    if (raw instanceof Float32Array) {
      rawBuffer = make('mvs:filterRaw', raw.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(rawBuffer, 0, raw as Float32Array<ArrayBuffer>);
    } else rawBuffer = raw;
    const pairs = filterPairs(count, poses, Ks, sources);
    const pairBuffer = make('mvs:filterPairs', pairs.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(pairBuffer, 0, pairs);
    const kept = make('mvs:kept', count * width * height * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const buf = new ArrayBuffer(FILTER_PARAMS_BYTES);
    const u = new Uint32Array(buf), f = new Float32Array(buf);
    u.set([width, height, count, options.minConsistent], 0);
    f.set([options.minConfidence, options.lowConfidenceWitnesses ? -3e38 : options.minConfidence, options.depthTolerance, options.reprojectionPx * options.reprojectionPx], 4);
    u.set([options.sampling === 'bilinear' ? 1 : 0, options.excuseHidden ? 1 : 0, 0, 0], 8);
    const params = make('mvs:filterParams', FILTER_PARAMS_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(params, 0, buf);
    const pipeline = getComputePipeline(device, { label: 'mvs.filter', code: filterWgsl });
    const encoder = device.createCommandEncoder({ label: 'mvs.filter' });
    const pass = encoder.beginComputePass({ label: 'mvs.filter' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindBuffers(device, pipeline, 'mvs.filter', [params, rawBuffer, pairBuffer, kept]));
    pass.dispatchWorkgroups(Math.ceil(width / 8), Math.ceil(height / 8), count);
    pass.end();
    // The enclosed-hole fill (holeFill.ts) on the kept maps, one pass reading the previous one's output.
    let result = kept;
    if (holeFill && holeFill.iterations > 0) {
      const other = make('mvs:holeFill', count * width * height * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
      const fillBytes = new ArrayBuffer(32);
      const fu = new Uint32Array(fillBytes), ff = new Float32Array(fillBytes), fi = new Int32Array(fillBytes);
      fu.set([width, height, count], 0);
      fi[3] = holeFill.radius;
      fu[4] = holeFill.minAxes;
      ff[5] = holeFill.maxSlope;
      ff[6] = holeFill.agreement;
      const fillParams = make('mvs:holeFillParams', 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(fillParams, 0, fillBytes);
      const fillPipeline = getComputePipeline(device, { label: 'mvs.holeFill', code: holeFillWgsl });
      let from = kept, to = other;
      for (let i = 0; i < holeFill.iterations; i++) {
        const fill = encoder.beginComputePass({ label: 'mvs.holeFill' });
        fill.setPipeline(fillPipeline);
        fill.setBindGroup(0, bindBuffers(device, fillPipeline, 'mvs.holeFill', [fillParams, from, to]));
        fill.dispatchWorkgroups(Math.ceil(width / 8), Math.ceil(height / 8), count);
        fill.end();
        [from, to] = [to, from];
      }
      result = from;
    }
    device.queue.submit([encoder.finish()]);
    return new Float32Array(await readBuffer(device, scope, result, 0, count * width * height * 4, ctx.signal));
  } finally {
    for (const b of owned) scope.destroy(b);
  }
}

/** mergeBetter on the GPU (mvs_merge.wgsl), in place into `into`; both hold exactly `pairs` (depth, confidence) pairs. */
function encodeMerge(device: GPUDevice, encoder: GPUCommandEncoder, into: GPUBuffer, other: GPUBuffer, pairs: number, margin: number): void {
  const pipeline = getComputePipeline(device, { label: 'mvs.merge', code: mergeWgsl, constants: { MARGIN: margin } });
  const pass = encoder.beginComputePass({ label: 'mvs.merge' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindBuffers(device, pipeline, 'mvs.merge', [into, other]));
  pass.dispatchWorkgroups(...splitWorkgroups(Math.ceil(pairs / 64)));
  pass.end();
}

/**
 * CPU reference of plane_sweep_ncc.wgsl for one reference view (tests): the same window, costs, best-two mean and
 * sub-sample refinement. `luma` holds 0..1 images of width x height.
 */
export function planeSweepCpu(luma: Float32Array[], width: number, height: number, Ks: number[][], poses: number[][], ref: number, sources: number[], invNear: number, invFar: number, count: number, radius = 3): Float32Array {
  const out = new Float32Array(width * height * 2);
  const sample = (img: Float32Array, x: number, y: number) => img[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
  const bilinear = (img: Float32Array, px: number, py: number) => {
    // texture sampling at uv = (p + 0.5) / size with clamp-to-edge = bilinear between texel centres
    const x0 = Math.floor(px), y0 = Math.floor(py), fx = px - x0, fy = py - y0;
    const a = sample(img, x0, y0), b = sample(img, x0 + 1, y0), c = sample(img, x0, y0 + 1), d = sample(img, x0 + 1, y0 + 1);
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  };
  const maps = sources.map((s) => sourceProjection(Ks[ref], poses[ref], Ks[s], poses[s]));
  const R = radius, n = (2 * radius + 1) ** 2;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    let mean = 0;
    for (let j = -R; j <= R; j++) for (let i = -R; i <= R; i++) mean += sample(luma[ref], x + i, y + j);
    mean /= n;
    let norm = 0;
    for (let j = -R; j <= R; j++) for (let i = -R; i <= R; i++) norm += (sample(luma[ref], x + i, y + j) - mean) ** 2;
    let best = 1e9, bestIndex = 0, previous = 1e9, before = 1e9, after = 1e9;
    for (let k = 0; k < count; k++) {
      const depth = 1 / (invNear + (invFar - invNear) * ((k + 0.5) / count));
      const costs = maps.map(({ A, b }, si) => {
        const h = [0, 1, 2].map((r) => depth * (A[r * 3] * x + A[r * 3 + 1] * y + A[r * 3 + 2]) + b[r]);
        if (h[2] <= 0) return 2;
        const px = h[0] / h[2], py = h[1] / h[2];
        if (px < 2 || py < 2 || px > width - 3 || py > height - 3) return 2;
        let sum = 0, sum2 = 0, cross = 0;
        for (let j = -R; j <= R; j++) for (let i = -R; i <= R; i++) {
          const hh = [0, 1, 2].map((r) => h[r] + depth * (i * A[r * 3] + j * A[r * 3 + 1]));
          const v = bilinear(luma[sources[si]], hh[0] / hh[2], hh[1] / hh[2]);
          const rr = sample(luma[ref], x + i, y + j) - mean;
          sum += v;
          sum2 += v * v;
          cross += rr * v;
        }
        const variance = sum2 - (sum * sum) / n;
        if (variance < 1e-5 || norm < 1e-5) return 2;
        return 1 - cross / Math.sqrt(variance * norm);
      }).sort((a, b) => a - b);
      const total = costs.length === 1 ? costs[0] : 0.5 * (costs[0] + costs[1]);
      if (k === bestIndex + 1) after = total;
      if (total < best) {
        best = total;
        bestIndex = k;
        before = previous;
        after = 1e9;
      }
      previous = total;
    }
    let offset = 0;
    if (before < 1e8 && after < 1e8) {
      const denom = before - 2 * best + after;
      if (denom > 1e-6) offset = Math.max(-0.5, Math.min(0.5, (0.5 * (before - after)) / denom));
    }
    const depth = 1 / (invNear + (invFar - invNear) * ((bestIndex + 0.5 + offset) / count));
    out[2 * (y * width + x)] = best < 1 ? depth : 0;
    out[2 * (y * width + x) + 1] = 1 - best * 0.5;
  }
  return out;
}
