/**
 * Structure from motion: the data that passes between the GPU front end (features, matching) and the geometric
 * back end (estimators, bundle adjustment, incremental reconstruction). Coordinates are pixels of the image the
 * features were detected in, with the centre of the top-left pixel at (0, 0) (docs/architecture.md). Camera poses
 * follow src/core/camera.ts: camFromWorld [R | t] row-major, OpenCV axes.
 */
import type { Mat3, Pose } from '../../core/camera';
import type { PairVerifier } from './verifyPairs';

/** Features of one image. */
export interface ImageFeatures {
  width: number;
  height: number;
  count: number;
  /** 4 floats per feature: x, y, scale (sigma in pixels), orientation (radians). */
  keypoints: Float32Array;
  /** 128 bytes per feature: RootSIFT descriptor, L2-normalised then scaled by 512 and clamped to 0..255. */
  descriptors: Uint8Array;
}

/** Putative (or verified) correspondences between images i < j: feature index pairs [a0, b0, a1, b1, ...]. */
export interface PairMatches {
  i: number;
  j: number;
  matches: Uint32Array;
}

/** What the geometric back end needs for one image. */
export interface SfmImage {
  width: number;
  height: number;
  /** x, y per feature (pixels). */
  points: Float32Array;
  /** Focal length prior in pixels (EXIF or default) and whether it is trusted (EXIF/file) or a guess. */
  focalPrior: number;
  focalFromExif: boolean;
  /** Principal point; the image centre when unknown. */
  cx: number;
  cy: number;
}

export interface SfmInput {
  images: SfmImage[];
  pairs: PairMatches[];
  /** Share one focal length across all views (one camera, as a phone capture usually is). */
  sharedIntrinsics?: boolean;
  /**
   * Radial distortion in global bundle adjustment: true = k1 and k2 always; 'auto' = where the observations support
   * it (DISTORTION_RULE in incremental.ts); false/absent = pinhole.
   */
  refineDistortion?: boolean | 'auto';
  signal?: AbortSignal;
  progress?(done: number, total: number, message: string): void;
  /** Thresholds of the reconstruction (DEFAULT_SFM_OPTIONS in incremental.ts where absent). */
  options?: Partial<SfmOptions>;
  /**
   * Verifies the matched pairs (step 1 of incremental.ts): runSfm passes its worker pool's (verifyPool.ts); absent,
   * the pairs are verified in-process (verifySerial), as in Node. Either gives the same pairs.
   */
  verify?: PairVerifier;
  /**
   * Matches more image pairs on demand (runSfm: the stage's GPU matcher on its features), for MIRROR_NEIGHBOUR_RULE
   * (solve.ts); absent, the reconstruction uses input.pairs only.
   */
  matchPairs?(pairs: [number, number][], signal?: AbortSignal): Promise<PairMatches[]>;
}

/** Thresholds of the incremental reconstruction (defaults: DEFAULT_SFM_OPTIONS in incremental.ts). */
export interface SfmOptions {
  /** Pixel threshold of the two-view models (Sampson / transfer error). */
  twoViewErrorPx: number;
  /** A pair is verified with at least this many inliers. */
  minPairInliers: number;
  /** Pairs whose H inliers exceed this fraction of their E/F inliers are not used to initialise. */
  maxHomographyRatio: number;
  /** 2D-3D correspondences needed to attempt a registration, and PnP inliers needed to accept one. */
  minRegistrationMatches: number;
  minPnpInliers: number;
  pnpErrorPx: number;
  /** Observations with a larger reprojection error are dropped; points need this triangulation angle. */
  maxReprojectionPx: number;
  minTriangulationAngleDeg: number;
  /** The initial pair needs this median triangulation angle. */
  minInitAngleDeg: number;
  /** Local BA: the new image and this many most connected registered images are free. */
  localBundleSize: number;
  /** Global BA when the registered count grew by this factor since the last one. */
  globalBundleGrowth: number;
  /** Registration attempts per image (failed images are retried after the model grows). */
  maxRegistrationAttempts: number;
  /** Most radial terms 'auto' distortion may refine: 1 = k1 only (COLMAP SIMPLE_RADIAL), 2 = k1 and k2 (RADIAL). */
  maxDistortionTerms: number;
  /**
   * Refine the principal point in global bundle adjustment, for one shared camera with five or more registered views
   * (default on; COLMAP's default is off).
   */
  refinePrincipalPoint: boolean;
  /**
   * After the final bundle adjustment, observations beyond this many sigma of the model's own residual noise are
   * dropped and the adjustment repeated (NOISE_RULE in incremental.ts); 0 = off.
   */
  noiseSigmas: number;
  /** Stop registering once this many views are in (a seed reconstruction: solveCameras' focal search); 0 = all. */
  maxImages: number;
  /** Use at most this many tracks (a deterministic random subset; a focal try in solveCameras); 0 = all. */
  maxTracks: number;
  /**
   * Calibrated pairs with fewer than this share of the inliers of a pair at an equal or larger rotation at both of
   * their views are dropped before tracks (MIRROR_PAIR_RULE in viewGraph.ts); 0 = off.
   */
  mirrorPairRatio: number;
  /**
   * Verified pairs [i, j] left out before tracks: those MIRROR_REPAIR_RULE (mirrorCheck.ts) found gluing a group of
   * views at its mirrored pose in an earlier run on the same pairs.
   */
  excludePairs: [number, number][];
  /** Hold every intrinsic at its prior (a known calibration; experiments separating focal from pose errors). */
  fixIntrinsics: boolean;
}


export interface SfmCamera {
  K: Mat3;
  camFromWorld: Pose;
  k1: number;
  k2: number;
}

export interface SfmResult {
  /** One entry per input image; null when it could not be registered. */
  cameras: (SfmCamera | null)[];
  /** Why an image was not registered (index -> reason). */
  unregistered: { index: number; reason: string }[];
  /** Sparse points, xyz per point, in the normalised frame. */
  points: Float32Array;
  /** Per point: number of observations. */
  trackLengths: Uint32Array;
  /** Per point: every observation as (image, feature index) pairs, flattened; pointObservationStart[k] is point k's first. */
  pointObservations: Uint32Array;
  pointObservationStart: Uint32Array;
  /** Mean reprojection error (pixels) after the final bundle adjustment. */
  meanReprojectionError: number;
  /** Normalisation applied: the result's frame = s * (R * world + t) of the reconstruction's arbitrary frame. */
  stats: Record<string, number>;
}
