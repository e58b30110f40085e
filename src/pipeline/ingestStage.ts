/** Ingest as a job stage: progress, the worker's decoder, and the summary the page and report.json show. */
import type { CaptureSummary, JobRequest } from '../../workers/api';
import { mat3ToRows, poseToRows, scaleK } from '../core/camera';
import type { CaptureSet } from '../core/capture';
import type { ProgressSink } from '../core/progress';
import type { CameraReport, Report } from '../core/report';
import { decodePhotoInBrowser, type PhotoDecoder } from '../io/decode';
import { ingestCapture } from '../io/ingest';

export async function runIngest(
  request: JobRequest,
  progress: ProgressSink,
  signal: AbortSignal,
  overallRange: [number, number] = [0, 10],
  decodePhoto: PhotoDecoder = decodePhotoInBrowser,
): Promise<CaptureSet> {
  const [lo, hi] = overallRange;
  return ingestCapture(request.files, {
    preset: request.options.preset,
    depthUnitsPerMeter: request.options.depthUnitsPerMeter,
    holdout: request.options.holdout,
    name: request.options.captureName,
    decodePhoto,
    signal,
    onProgress: (done, total, file) =>
      progress({ type: 'job', phase: 'ingest', overall: lo + ((hi - lo) * done) / Math.max(1, total), stage: done / Math.max(1, total), message: file ? `reading ${file} (${done + 1}/${total})` : 'photos read' }),
    onWarning: (message, file) => progress({ type: 'warning', message, ...(file ? { file } : {}) }),
    onInfo: (message) => progress({ type: 'info', message }),
  });
}

export function summarizeCapture(capture: CaptureSet, ms: number): CaptureSummary {
  return {
    name: capture.name,
    views: capture.views.map((v) => ({
      name: v.name,
      path: v.path,
      width: v.width,
      height: v.height,
      fullWidth: v.fullWidth,
      fullHeight: v.fullHeight,
      K: mat3ToRows(v.K),
      camFromWorld: v.camFromWorld ? poseToRows(v.camFromWorld) : null,
      intrinsicsSource: v.intrinsicsSource,
      depth: v.depthMeters !== null,
      mask: v.mask !== null,
      heldOut: v.heldOut,
      exif: v.exif,
    })),
    cameraFormat: capture.cameraFormat,
    hasPoses: capture.hasPoses,
    hasDepth: capture.hasDepth,
    hasMasks: capture.hasMasks,
    used: capture.used,
    skipped: capture.skipped,
    warnings: capture.warnings,
    notes: capture.notes ?? [],
    ms,
  };
}

/** Fills report.input and report.cameras (cameras in the user's frame: worldFromNormalized undone). */
export function reportCapture(report: Report, capture: CaptureSet, reasons: Map<string, string> = new Map()): void {
  report.input = {
    views: capture.views.length,
    used: capture.used,
    skipped: capture.skipped,
    heldOut: capture.views.filter((v) => v.heldOut).map((v) => v.name),
    depth: capture.hasDepth,
    masks: capture.hasMasks,
    cameras: capture.cameraFormat,
  };
  report.cameras = capture.views.map((v): CameraReport => ({
    name: v.name,
    width: v.fullWidth,
    height: v.fullHeight,
    registered: v.camFromWorld !== null,
    ...(v.camFromWorld ? {} : { reason: reasons.get(v.name) ?? 'no pose' }),
    // K for the user's full-resolution photo (the working copy may be downscaled).
    K: mat3ToRows(scaleK(v.K, v.fullWidth / v.width, v.fullHeight / v.height)),
    camFromWorld: v.camFromWorld ? poseToRows(v.camFromWorld) : [],
  }));
  for (const w of capture.warnings) if (!report.warnings.includes(w)) report.warnings.push(w);
  if (capture.notes?.length) report.notes = [...capture.notes];
}
