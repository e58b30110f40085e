import type { ErrorInfo } from './errors';

/** report.json, written at the root of every zip and by `npm run reconstruct -- --report`. Version 1. */
export interface Report {
  version: 1;
  createdAt: string;
  input: {
    views: number;
    used: string[];
    skipped: { file: string; reason: string }[];
    heldOut: string[];
    depth: boolean;
    masks: boolean;
    cameras: string | null;
  };
  options: Record<string, unknown>;
  adapter: AdapterSummary | null;
  stages: { model?: string; name: string; ms: number }[];
  models: ModelReport[];
  vram: { peakBytes: number; liveBytesAtEnd: number; externalPeakBytes: number };
  cameras: CameraReport[];
  /** Structure from motion, when the photos came without cameras (src/stages/sfm/runSfm.ts). */
  sfm?: import('../stages/sfm/runSfm').SfmStageStats;
  /** Refinement of given cameras (JobOptions.refineCameras, src/stages/sfm/refineGiven.ts). */
  cameraRefinement?: import('../stages/sfm/refineGiven').GivenPoseStats;
  meshes: MeshReport[];
  warnings: string[];
  /** Facts about the input that are not problems (CaptureSet.notes). */
  notes?: string[];
  status: 'success' | 'failed' | 'cancelled';
  error?: ErrorInfo;
  totalMs: number;
}

export interface ModelReport {
  name: string;
  status: 'success' | 'failed' | 'cancelled' | 'skipped';
  ms: number;
  vramPeakBytes: number;
  liveBytesAfterCleanup: number;
  error?: ErrorInfo;
  details?: Record<string, unknown>;
}

export interface CameraReport {
  name: string;
  /** K is for the photo at this size (the user's full resolution). */
  width?: number;
  height?: number;
  registered: boolean;
  reason?: string;
  K: number[][];
  camFromWorld: number[][];
}

export interface MeshReport {
  model: string;
  obj: string;
  ply: string;
  vertices: number;
  faces: number;
  texture: string | null;
}

/** What the adapter says about itself; structured-clonable. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupsPerDimension: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupStorageSize: number;
    maxStorageBuffersPerShaderStage: number;
    maxTextureDimension2D: number;
  };
  memoryHeaps: { size: number; properties: number }[] | null;
}

export function emptyReport(): Report {
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    input: { views: 0, used: [], skipped: [], heldOut: [], depth: false, masks: false, cameras: null },
    options: {},
    adapter: null,
    stages: [],
    models: [],
    vram: { peakBytes: 0, liveBytesAtEnd: 0, externalPeakBytes: 0 },
    cameras: [],
    meshes: [],
    warnings: [],
    status: 'success',
    totalMs: 0,
  };
}
