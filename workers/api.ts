/**
 * The typed contract between the page and the reconstruction worker (Comlink). Everything here is structured-clonable;
 * large arrays cross as transferables; GPU objects never cross.
 */
import type { ErrorInfo } from '../src/core/errors';
import type { ProgressEvent } from '../src/core/progress';
import type { AdapterSummary, ModelReport, Report } from '../src/core/report';
import type { VramUsage } from '../src/gpu/vram';

export type Preset = 'draft' | 'standard' | 'high';

/** One user file. `path` keeps folders of a dropped directory or zip ("capture/depth/0001.png"); `name` is its base name. */
export interface InputFile {
  name: string;
  path: string;
  bytes: ArrayBuffer;
  /** Last-modified time in ms, when known. */
  lastModified?: number;
}

export interface JobOptions {
  preset: Preset;
  /** Models to run in order, e.g. ['feedforward'] or ['feedforward', 'refine']. */
  models: string[];
  /** Leave every k-th view out of the reconstruction (for evaluation); 0 = none. */
  holdout?: number;
  /** Depth PNG units per metre (1000 = millimetres). */
  depthUnitsPerMeter?: number;
  /** Override the VRAM budget in bytes (lowers it for this job when the GPU context already exists). */
  vramBudgetBytes?: number;
  /** Set by the page when this job retries a job that ran out of GPU memory at a higher preset (lands in report.json). */
  retryOf?: { preset: Preset; error: string };
  /** A name for the capture, used in the zip file name. */
  captureName?: string;
  /** Reconstruct only inside this box (the capture's world frame), set in the viewer once cameras are known. */
  cropBox?: { min: [number, number, number]; max: [number, number, number] };
  /**
   * Refine GIVEN cameras against the photos before the models (GIVEN_POSE_BA_RULE, src/stages/sfm/refineGiven.ts): for
   * poses from a tracker (RGB-D SLAM, a phone's AR session) that are a pixel or two off. Features, matches and one
   * bundle adjustment with the intrinsics held and the given poses as a soft prior; the poses change only when the
   * photos clearly support it. Absent: on for 7-Scenes-format poses without depth maps (GIVEN_POSE_DEFAULT_RULE in
   * job.ts), off otherwise (exact cameras, as from a renderer or a calibrated rig, have nothing to gain).
   */
  refineCameras?: boolean;
  /** Refinement settings (tests and benchmarks; the preset chooses the iterations). */
  refine?: Partial<import('../src/stages/refine/refineMesh').RefineOptions>;
  /** Fusion settings (benchmarks and experiments; the preset chooses the rest). `voxelsPerSide`: grid points along the
   * volume's longest side instead of the preset's (128/256/512); still halved when VRAM says no. `hullFill`: close
   * what no depth map sees inside the masks (default: on when the views have masks). */
  fusion?: { voxelsPerSide?: number; hullFill?: boolean };
  /**
   * Structure-from-motion settings (benchmarks and diagnostics). `verifyWorkers`: the pair-verification pool's size
   * instead of VERIFY_POOL_RULE's (0 = in the job's worker, serial). `dumpInput`: report.sfm.input holds the reconstruction's
   * input (keypoints, focal priors, matches), so that a run on another machine replays in Node
   * (`npx tsx bench/sfmGeometry.ts <dataset> --input report.json`).
   */
  sfm?: {
    verifyWorkers?: number;
    dumpInput?: boolean;
    /**
     * 'xfeat': the optional learned features (XFeat + LighterGlue, downloaded from their public source on first use and
     * verified by sha256) instead of the built-in GPU SIFT; `modelsUrl`: read their files from this folder instead
     * (tests and benchmarks: '/third-party/').
     */
    features?: 'sift' | 'xfeat';
    modelsUrl?: string;
  };
  /** Texture bake settings of the feed-forward model (benchmarks and experiments). `edgeMarginVoxels`: the depth-edge
   * margin in fusion voxels for depth from photos (default 2); `exposureCompensation`: per-view gains (default on). */
  texture?: { edgeMarginVoxels?: number; exposureCompensation?: boolean };
  /**
   * Depth-from-photos settings (benchmarks and experiments; the preset chooses the rest). `method`: absent = the
   * learned MVS network (public/weights) with its NCC refinement, falling back to the plane sweep with a warning when
   * it cannot load or run (NETWORK_DEFAULT_RULE, models/feedforward.ts); 'network' = the same, but a failure fails the
   * job; 'planesweep' = the classical WGSL sweep alone. `model`: the weights manifest entry (default 'mvsnet'; tests
   * use 'mvsnet-random').
   */
  mvs?: { method?: 'network' | 'planesweep'; model?: string; windowRadius?: number; depthTolerance?: number; minConsistent?: number; minConfidence?: number; longSide?: number;
    /**
     * Per-view sweep range: 'visible' (depths at least two sources see; default), 'points' (the depths of the camera
     * stage's points each view sees, where there are any: SPARSE_RANGE_RULE) or 'full' (0.4-1.6x the convergence distance).
     */
    range?: 'visible' | 'points' | 'full';
    /** A known scene depth range in scene units (metres for 7-Scenes): every view sweeps near..far instead of a guessed range. */
    depthRange?: { near: number; far: number };
    /** Consistency filter: reprojection bound in pixels (default 2), witness depth sampling, whether low-confidence depths may confirm, whether hidden sources are excused. */
    reprojectionPx?: number; sampling?: 'bilinear' | 'nearest'; lowConfidenceWitnesses?: boolean; excuseHidden?: boolean;
    /** Plane sweep: resolution divisor of the first pass (2 = half resolution, default; 1 = full) and the small-hole fill of the filtered maps (false = off). */
    coarseScale?: 1 | 2; holeFill?: false | { radius?: number; minAxes?: number; maxSlope?: number; agreement?: number; iterations?: number };
    /** Network: NETWORK_NCC_RULE (default on): the plane sweep plus a full-resolution NCC pass around the network's depth, the better match per pixel kept (false: the network's own depth); the pass's half-width in coarse plane steps (6) and the network depth's confidence floor (0). */
    nccRefine?: boolean; priorSteps?: number; priorConfidence?: number;
    /** Network method: the NCC confidence by which the guided pass must beat the sweep's fine pass (0); samples per pixel of the passes around a prior (max(16, depths / 3)). */
    mergeMargin?: number; refineSamples?: number;
    /** Network: views per feature-network run (benchmarks). */
    featureBatch?: number };
}

export interface JobRequest {
  files: InputFile[];
  options: JobOptions;
}

export interface JobResult {
  status: 'success' | 'failed' | 'cancelled';
  /** The zip (OBJ + MTL + PNG + PLY per model, report.json); null when nothing was produced. */
  zip: Uint8Array | null;
  zipName: string;
  report: Report;
  error?: ErrorInfo;
}

/** What ingest made of the files, without pixels: the page shows it before and during a run. */
export interface CaptureSummary {
  name: string;
  views: {
    name: string;
    path: string;
    width: number;
    height: number;
    fullWidth: number;
    fullHeight: number;
    K: number[][];
    camFromWorld: number[][] | null;
    intrinsicsSource: import('../src/core/capture').IntrinsicsSource;
    depth: boolean;
    mask: boolean;
    heldOut: boolean;
    exif: { make?: string; model?: string; focalLengthMm?: number; focalLength35mm?: number } | null;
  }[];
  cameraFormat: string | null;
  hasPoses: boolean;
  hasDepth: boolean;
  hasMasks: boolean;
  used: string[];
  skipped: { file: string; reason: string }[];
  warnings: string[];
  /** Facts about the input that are not problems (CaptureSet.notes). */
  notes: string[];
  ms: number;
}

export type InspectResult = { status: 'success'; capture: CaptureSummary } | { status: 'failed'; error: ErrorInfo };

export type GpuStatus =
  | { available: true; adapter: AdapterSummary; crossOriginIsolated: boolean }
  | { available: false; reason: string; crossOriginIsolated: boolean };

export interface SelfTestOptions {
  /** Number of self-test models run one after the other (each its own VRAM owner). */
  models?: number;
  /** Input height = width. */
  size?: number;
  steps?: number;
}

export interface SelfTestResult {
  status: 'success' | 'failed' | 'cancelled';
  models: ModelReport[];
  outputs: { model: string; maxAbsDiff: number; steps: number; outputDims: number[]; executionProvider: string }[];
  /** VRAM seen after each model's cleanup. */
  afterEachModel: { model: string; ownBytes: number; externalBytes: number; owners: string[] }[];
  /** Owners whose resources were live while each model ran (to show models never overlap). */
  ownersDuringModels: { model: string; owners: string[] }[];
  vram: VramUsage;
  uncapturedErrors: string[];
  error?: ErrorInfo;
}

export type BenchmarkSpec =
  | { kind: 'export'; triangles: number; textureSize: number; repeats?: number }
  | ({ kind: 'fusion' } & import('../src/bench/fusionBench').FusionBenchSpec)
  | ({ kind: 'sfm-features' } & import('../src/bench/sfmChecks').SfmBenchSpec)
  | ({ kind: 'refine' } & import('../src/bench/refineBench').RefineBenchSpec);

export interface SynthRequest {
  /** The OBJ, its MTL and textures. */
  files: InputFile[];
  objName: string;
  options: import('../src/synth/synthesize').SynthOptions;
}

export interface RenderRequest {
  /** The mesh's files (OBJ, MTL, textures) as the OBJ names them. */
  files: InputFile[];
  objName: string;
  views: { name: string; K: number[]; camFromWorld: number[]; width: number; height: number }[];
  /** Sample the texture through mip levels (trilinear), as the page's three.js viewer does. */
  mipmaps?: boolean;
  /** Also return each view's camera-space depth under `<name>#depth` (float32 bytes, row-major, 0 = no surface). */
  depth?: boolean;
}

export type KernelCheckSpec = import('../src/bench/kernelChecks').KernelCheckSpec;

export interface BakeCheckRequest {
  /** A textured OBJ (its MTL and texture): synthetic views are rendered from it, then its own UVs are baked. */
  files: InputFile[];
  objName: string;
  views: number;
  size: [number, number];
  atlasSize: number;
  /** Expose every other view differently (x0.7 / x1.3). */
  exposureChange?: boolean;
  exposureCompensation?: boolean;
}

export type ProgressCallback = (event: ProgressEvent) => void;

export interface ReconstructApi {
  probeGpu(): Promise<GpuStatus>;
  runJob(request: JobRequest, onProgress: ProgressCallback): Promise<JobResult>;
  /** Reads the files as a job would (decoding, matching, validation) and describes the capture. */
  inspectCapture(request: JobRequest, onProgress: ProgressCallback): Promise<InspectResult>;
  /** Cancels the running job (if any); resolves true when one was running. */
  cancelJob(): Promise<boolean>;
  getVramUsage(): Promise<VramUsage | null>;
  selfTest(options: SelfTestOptions, onProgress: ProgressCallback): Promise<SelfTestResult>;
  /** Runs a built-in benchmark inside the worker (npm run bench); returns its JSON. */
  benchmark(spec: BenchmarkSpec): Promise<Record<string, unknown>>;
  /** Renders a synthetic capture of a textured OBJ with exact ground truth (npm run synth). */
  synthesize(request: SynthRequest, onProgress: ProgressCallback): Promise<{ files: Record<string, Uint8Array>; gt: unknown }>;
  /** Renders a mesh at the given cameras (RGBA, alpha = coverage): the evaluator's held-out views. */
  renderViews(request: RenderRequest): Promise<Record<string, Uint8Array>>;
  /** Bakes a textured OBJ's own UVs from views rendered of it and compares with its true texture (texture space). */
  bakeCheck(request: BakeCheckRequest): Promise<Record<string, number>>;
  /** Runs one GPU kernel against its CPU reference (tests, GPU self-test); returns the comparison figures. */
  kernelCheck(spec: KernelCheckSpec): Promise<Record<string, unknown>>;
  /** Test hook: destroys the device as a driver reset would, to exercise device-loss recovery. */
  simulateDeviceLoss(): Promise<void>;
}
