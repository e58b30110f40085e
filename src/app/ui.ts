/**
 * The page: input (drop zone, photos, folder, zip, sample), what ingest detected, options, run / cancel with
 * progress and ETA, warnings, the result viewer, download, and the GPU panel (adapter, limits, VRAM live / peak).
 * It talks to the worker only through the client (workers/api.ts).
 */
import { formatBytes } from '../core/format';
import type { ProgressEvent } from '../core/progress';
import type { Report } from '../core/report';
import type { CaptureSummary, InputFile, Preset } from '../../workers/api';
import type { ReconstructClient } from './client';
import { expandZips, isImagePath } from '../io/files';

function $(doc: Document, id: string): HTMLElement {
  const el = doc.getElementById(id);
  if (!el) throw new Error(`ui: #${id} missing`);
  return el;
}

/** Longest side of a frustum's photo: enough to recognise the view, small enough for hundreds of cameras. */
export const THUMBNAIL_LONG_SIDE = 128;

/** Decodes a photo once into a small bitmap for the frusta (EXIF orientation applied, as the photo is shown). */
export async function makeThumbnail(bytes: ArrayBuffer): Promise<ImageBitmap> {
  const full = await createImageBitmap(new Blob([bytes]));
  const scale = Math.min(1, THUMBNAIL_LONG_SIDE / Math.max(full.width, full.height));
  const small = await createImageBitmap(full, { resizeWidth: Math.max(1, Math.round(full.width * scale)), resizeHeight: Math.max(1, Math.round(full.height * scale)), resizeQuality: 'medium' });
  full.close();
  return small;
}

/**
 * The chosen images' bytes by the path ingest gives them (zips opened, image entries only), for the thumbnails and
 * the frusta: a capture chosen as a zip shows its photos like a folder does. An unreadable zip has no thumbnails
 * (ingest says so in the file list).
 */
export function photoBytesByPath(files: InputFile[]): Map<string, ArrayBuffer> {
  return new Map(expandZips(files, isImagePath).files.map((f) => [f.path, f.bytes]));
}

export async function filesToInputs(files: Iterable<File>): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const file of files) {
    const path = (file as File & { webkitRelativePath?: string }).webkitRelativePath || (file as File & { relativePath?: string }).relativePath || file.name;
    out.push({ name: file.name, path, bytes: await file.arrayBuffer(), lastModified: file.lastModified });
  }
  return out;
}

/** Files of a drop, folders walked recursively (paths kept so depth/, masks/ are recognised). */
async function droppedFiles(items: DataTransferItemList): Promise<File[]> {
  const files: File[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      Object.defineProperty(file, 'relativePath', { value: `${path}${file.name}` });
      files.push(file);
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${path}${entry.name}/`);
      }
    }
  };
  const entries = [...items].map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const entry of entries) await walk(entry, '');
  return files;
}

export function mountApp(doc: Document, client: ReconstructClient): void {
  const el = {
    status: $(doc, 'gpu-status'), details: $(doc, 'gpu-details'), vramLive: $(doc, 'vram-live'), vramPeak: $(doc, 'vram-peak'),
    selfTest: $(doc, 'self-test') as HTMLButtonElement, selfTestResult: $(doc, 'self-test-result'), restart: $(doc, 'restart') as HTMLButtonElement,
    run: $(doc, 'run') as HTMLButtonElement, cancel: $(doc, 'cancel') as HTMLButtonElement, sample: $(doc, 'sample') as HTMLButtonElement,
    progress: $(doc, 'progress') as HTMLProgressElement, progressText: $(doc, 'progress-text'), warnings: $(doc, 'warnings'),
    stageProgress: $(doc, 'stage-progress') as HTMLProgressElement, stageName: $(doc, 'stage-name'), stageEta: $(doc, 'stage-eta'), overallEta: $(doc, 'overall-eta'), notice: $(doc, 'notice'),
    download: $(doc, 'download') as HTMLAnchorElement, summary: $(doc, 'file-summary'), detected: $(doc, 'detected'),
    fileDetails: $(doc, 'file-details') as HTMLDetailsElement, thumbnails: $(doc, 'thumbnails'), fileList: $(doc, 'file-list'), drop: $(doc, 'drop-zone'),
    preset: $(doc, 'preset') as HTMLSelectElement, stages: $(doc, 'stages'), viewer: $(doc, 'viewer'), viewerEmpty: $(doc, 'viewer-empty'), meshInfo: $(doc, 'mesh-info'),
    runHint: $(doc, 'run-hint'), captureMessages: $(doc, 'capture-messages'), depthMethod: $(doc, 'depth-method') as HTMLSelectElement,
    depthMethodNote: $(doc, 'depth-method-note'), refine: $(doc, 'model-refine') as HTMLInputElement,
  };
  const MESH_INFO_EMPTY = el.meshInfo.textContent ?? '';
  let inputs: InputFile[] = [];
  let photoBytes = new Map<string, ArrayBuffer>();
  // Whether the selected files passed inspection (Reconstruct waits for it), and whether they bring depth maps (then
  // the depth method is not used).
  type InputState = 'none' | 'reading' | 'usable' | 'unusable';
  let inputState: InputState = 'none' as InputState;
  let captureHasDepth = false;
  let captureName = 'capture';
  let running = false;
  let viewer: import('../viewer/viewer').ResultViewer | null = null;
  let downloadUrl: string | null = null;
  let thumbnailUrls: string[] = [];
  // Small bitmaps of the photos for the viewer's frusta, made once per capture (closed when the capture changes).
  let photoThumbs: Promise<Map<string, ImageBitmap>> = Promise.resolve(new Map());
  const makePhotoThumbs = (capture: CaptureSummary | null) => {
    const previous = photoThumbs;
    void previous.then((m) => m.forEach((b) => b.close()));
    photoThumbs = (async () => {
      const out = new Map<string, ImageBitmap>();
      for (const v of capture?.views ?? []) {
        const bytes = photoBytes.get(v.path);
        // A photo ingest decoded but the browser cannot (rare formats) keeps a bare frustum.
        const bitmap = bytes ? await makeThumbnail(bytes).catch(() => null) : null;
        if (bitmap) out.set(v.name, bitmap);
      }
      return out;
    })();
  };

  // Why Reconstruct cannot be pressed, said in the slot under it (empty while it can, or while a job runs).
  const RUN_HINTS: Record<InputState, string> = {
    none: 'Choose photos, a folder or a zip above, or try the sample.',
    reading: 'Reading the files…',
    usable: '',
    unusable: 'These files cannot be reconstructed: see the message under “Your capture”.',
  };
  const setBusy = (busy: boolean) => {
    running = busy;
    el.run.disabled = busy || inputState !== 'usable';
    // The capture stays the one the job runs on (an out-of-memory retry reads it again).
    el.sample.disabled = busy;
    for (const id of ['file-input', 'folder-input', 'zip-input']) ($(doc, id) as HTMLInputElement).disabled = busy;
    el.drop.classList.toggle('disabled', busy);
    el.cancel.disabled = !busy;
    // The options are read when a job starts and again for an out-of-memory retry: fixed while it runs.
    el.preset.disabled = busy;
    el.refine.disabled = busy;
    el.depthMethod.disabled = busy || captureHasDepth;
    for (const input of doc.querySelectorAll<HTMLInputElement>('#crop input')) input.disabled = busy;
    el.progressText.classList.toggle('running', busy);
    el.runHint.textContent = busy ? '' : RUN_HINTS[inputState];
    el.runHint.hidden = busy || inputState === 'usable';
  };

  const refreshVram = async () => {
    const usage = await client.api.getVramUsage().catch(() => null);
    el.vramLive.textContent = formatBytes(usage?.liveBytes ?? 0);
    el.vramPeak.textContent = formatBytes(usage?.peakBytes ?? 0);
  };

  const probe = async () => {
    const gpu = await client.api.probeGpu();
    el.details.replaceChildren();
    el.status.classList.toggle('error', !gpu.available);
    if (!gpu.available) {
      el.status.textContent = gpu.reason;
      return;
    }
    const a = gpu.adapter;
    el.status.textContent = `WebGPU ready: ${a.description || a.device || a.architecture || a.vendor}${a.isFallbackAdapter ? ' (software fallback: slow)' : ''}`;
    const rows: [string, string][] = [
      ['Vendor', `${a.vendor} ${a.architecture}`.trim()],
      ['Max buffer', formatBytes(a.limits.maxBufferSize)],
      ['Max storage binding', formatBytes(a.limits.maxStorageBufferBindingSize)],
      ['Memory', a.memoryHeaps ? a.memoryHeaps.map((h) => formatBytes(h.size)).join(' + ') : 'not reported by the browser'],
      ['Features', a.features.filter((f) => ['timestamp-query', 'shader-f16', 'subgroups'].includes(f)).join(', ') || 'none'],
      ['Threads', gpu.crossOriginIsolated ? 'wasm threads on' : 'single-threaded (page not cross-origin isolated)'],
    ];
    for (const [k, v] of rows) {
      const dt = doc.createElement('dt');
      dt.textContent = k;
      const dd = doc.createElement('dd');
      dd.textContent = v;
      el.details.append(dt, dd);
    }
    el.selfTest.disabled = false;
    await refreshVram();
  };

  /** Thumbnails of the photos (blob URLs of the user's own files; the CSP allows blob: images), skipped ones marked. */
  const showThumbnails = (capture: CaptureSummary | null) => {
    for (const url of thumbnailUrls) URL.revokeObjectURL(url);
    thumbnailUrls = [];
    el.thumbnails.replaceChildren();
    if (!capture) return;
    const entries: { path: string; state: 'used' | 'skipped' | 'heldout'; title: string }[] = [
      ...capture.views.map((v) => ({ path: v.path, state: v.heldOut ? ('heldout' as const) : ('used' as const), title: `${v.name}: ${v.fullWidth}×${v.fullHeight}${v.depth ? ', depth' : ''}${v.mask ? ', mask' : ''}` })),
      ...capture.skipped.filter((s) => isImagePath(s.file)).map((s) => ({ path: s.file, state: 'skipped' as const, title: `${s.file}: ${s.reason}` })),
    ];
    for (const entry of entries.slice(0, 120)) {
      const bytes = photoBytes.get(entry.path);
      const figure = doc.createElement('figure');
      figure.className = entry.state;
      figure.title = entry.title;
      if (bytes && entry.state !== 'skipped') {
        const img = doc.createElement('img');
        const url = URL.createObjectURL(new Blob([bytes]));
        thumbnailUrls.push(url);
        img.src = url;
        img.alt = entry.title;
        img.loading = 'lazy';
        figure.append(img);
      }
      el.thumbnails.append(figure);
    }
  };

  // What the viewer draws, on the element (tests and assistive tools read it).
  const reportFrusta = () => {
    el.viewer.dataset.frusta = String(viewer?.frusta.count ?? 0);
    el.viewer.dataset.frustaPhotos = String(viewer?.frusta.withPhotos ?? 0);
  };

  // Crop box: offered once cameras are known (given with the photos), drawn in the viewer, sent with the job.
  const cropEnabled = $(doc, 'crop-enabled') as HTMLInputElement;
  const cropInputs = [0, 1, 2].map((k) => [$(doc, `crop-min-${k}`) as HTMLInputElement, $(doc, `crop-max-${k}`) as HTMLInputElement]);
  const currentCrop = (): { min: [number, number, number]; max: [number, number, number] } | null => {
    if (!cropEnabled.checked) return null;
    const min = cropInputs.map(([lo]) => Number(lo.value)) as [number, number, number];
    const max = cropInputs.map(([, hi]) => Number(hi.value)) as [number, number, number];
    return min.every((v, k) => Number.isFinite(v) && Number.isFinite(max[k]) && v < max[k]) ? { min, max } : null;
  };
  const updateCrop = () => {
    const box = currentCrop();
    for (const [lo, hi] of cropInputs) for (const input of [lo, hi]) input.setAttribute('aria-invalid', String(cropEnabled.checked && !box));
    viewer?.setCropBox(box);
  };
  cropEnabled.addEventListener('change', updateCrop);
  for (const pair of cropInputs) for (const input of pair) input.addEventListener('input', updateCrop);
  const showCameras = async (capture: CaptureSummary) => {
    const crop = $(doc, 'crop');
    const cameras = capture.views.filter((v) => v.camFromWorld).map((v) => ({ name: v.name, K: v.K, camFromWorld: v.camFromWorld, width: v.width, height: v.height }));
    crop.hidden = !capture.hasPoses || cameras.length < 2;
    cropEnabled.checked = false;
    if (crop.hidden) return;
    const { ResultViewer, initialCropBox } = await import('../viewer/viewer');
    // K in the summary is for the working image (width x height).
    viewer ??= new ResultViewer(el.viewer);
    el.viewerEmpty.hidden = true;
    viewer.showCameras(cameras, await photoThumbs);
    reportFrusta();
    const box = initialCropBox(cameras);
    const digits = (v: number) => String(Number(v.toPrecision(4)));
    if (box) cropInputs.forEach(([lo, hi], k) => ((lo.value = digits(box.min[k])), (hi.value = digits(box.max[k]))));
    updateCrop();
  };

  /** Ingest's warnings (problems to look at) and notes (facts that are fine), before anything runs. */
  const showCaptureMessages = (capture: CaptureSummary | null) => {
    el.captureMessages.replaceChildren();
    const items = [...(capture?.warnings ?? []).map((m) => ['warning', m]), ...(capture?.notes ?? []).map((m) => ['info', m])];
    for (const [kind, message] of items) {
      const li = doc.createElement('li');
      li.className = kind;
      li.textContent = message;
      el.captureMessages.append(li);
    }
  };
  const showDepthMethodNote = () => {
    el.depthMethodNote.hidden = !captureHasDepth;
    el.depthMethodNote.textContent = captureHasDepth ? 'Not needed: these files bring their own depth maps.' : '';
  };

  const showCapture = (capture: CaptureSummary) => {
    showThumbnails(capture);
    showCaptureMessages(capture);
    captureHasDepth = capture.hasDepth;
    showDepthMethodNote();
    makePhotoThumbs(capture);
    void showCameras(capture);
    el.detected.replaceChildren();
    const sources = new Set(capture.views.map((v) => v.intrinsicsSource));
    const chips = [
      `${capture.views.length} photos`,
      capture.hasDepth ? 'depth maps' : 'no depth',
      // Without camera files the job finds the cameras itself (structure from motion): nothing is missing.
      capture.cameraFormat ? `cameras: ${capture.cameraFormat}` : 'no cameras: found from the photos',
      capture.hasMasks ? 'masks' : 'no masks',
      `intrinsics: ${[...sources].join(', ')}`,
    ];
    for (const c of chips) {
      const li = doc.createElement('li');
      li.textContent = c;
      el.detected.append(li);
    }
    el.fileList.replaceChildren();
    for (const v of capture.views) {
      const li = doc.createElement('li');
      li.textContent = `${v.path} — ${v.fullWidth}×${v.fullHeight}${v.depth ? ', depth' : ''}${v.mask ? ', mask' : ''}, K from ${v.intrinsicsSource}`;
      el.fileList.append(li);
    }
    for (const s of capture.skipped) {
      const li = doc.createElement('li');
      li.className = 'skipped';
      li.textContent = `${s.file} — skipped: ${s.reason}`;
      el.fileList.append(li);
    }
    el.fileDetails.hidden = false;
  };

  const setInputs = async (files: InputFile[], name: string) => {
    inputs = files;
    photoBytes = photoBytesByPath(files);
    captureName = name;
    const bytes = files.reduce((s, f) => s + f.bytes.byteLength, 0);
    const count = `${files.length} file${files.length === 1 ? '' : 's'} (${formatBytes(bytes)})`;
    el.summary.textContent = files.length ? `${count} — reading…` : 'No files selected.';
    el.detected.replaceChildren();
    showThumbnails(null);
    showCaptureMessages(null);
    captureHasDepth = false;
    showDepthMethodNote();
    inputState = files.length ? 'reading' : 'none';
    el.fileDetails.hidden = true;
    // The previous capture's cameras and mesh leave the viewer (their photos are closed with the capture).
    viewer?.clear();
    viewer?.setCropBox(null);
    reportFrusta();
    el.viewerEmpty.hidden = false;
    el.meshInfo.textContent = MESH_INFO_EMPTY;
    el.meshInfo.classList.add('muted');
    setModeButtons(false);
    el.download.hidden = true;
    makePhotoThumbs(null);
    setBusy(running);
    if (!files.length) return;
    // Inspect a copy: the worker takes the bytes it is given.
    const copy = files.map((f) => ({ ...f, bytes: f.bytes.slice(0) }));
    const { result } = await client.inspectCapture({ files: copy, options: { preset: el.preset.value as Preset, models: [] } });
    // A newer selection replaced this one while it was inspected: its own inspection reports.
    if (inputs !== files) return;
    if (result.status === 'success') {
      showCapture(result.capture);
      el.summary.textContent = `${count}: ${result.capture.views.length} usable photos, ${result.capture.skipped.length} skipped.`;
      inputState = 'usable';
    } else {
      el.summary.textContent = result.error.message;
      el.summary.classList.add('error');
      inputState = 'unusable';
    }
    setBusy(running);
  };

  const onFiles = async (files: File[]) => {
    el.summary.classList.remove('error');
    const first = files[0] as (File & { webkitRelativePath?: string; relativePath?: string }) | undefined;
    const top = (first?.webkitRelativePath || first?.relativePath || '').split('/')[0];
    await setInputs(await filesToInputs(files), top || files[0]?.name.replace(/\.[^.]+$/, '') || 'capture');
  };
  ($(doc, 'file-input') as HTMLInputElement).addEventListener('change', (e) => void onFiles([...((e.target as HTMLInputElement).files ?? [])]));
  ($(doc, 'folder-input') as HTMLInputElement).addEventListener('change', (e) => void onFiles([...((e.target as HTMLInputElement).files ?? [])]));
  ($(doc, 'zip-input') as HTMLInputElement).addEventListener('change', (e) => void onFiles([...((e.target as HTMLInputElement).files ?? [])]));
  el.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.drop.classList.add('over');
  });
  el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
  el.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    el.drop.classList.remove('over');
    if (e.dataTransfer && !running) void droppedFiles(e.dataTransfer.items).then(onFiles);
  });
  const openPicker = () => ($(doc, 'file-input') as HTMLInputElement).click();
  // A mouse convenience; keyboard users have the Photos… button (the zone is not a tab stop).
  el.drop.addEventListener('click', () => {
    if (!running) openPicker();
  });

  el.sample.addEventListener('click', async () => {
    el.sample.disabled = true;
    el.summary.textContent = 'Loading the sample…';
    try {
      const manifest = (await (await fetch('/samples/vase/manifest.json')).json()) as { files: string[] };
      const files = await Promise.all(manifest.files.map(async (path) => ({ name: path.split('/').pop()!, path: `vase/${path}`, bytes: await (await fetch(`/samples/vase/${path}`)).arrayBuffer() })));
      await setInputs(files, 'vase-sample');
    } catch (error) {
      el.summary.textContent = `The sample could not be loaded: ${String(error)}`;
    } finally {
      el.sample.disabled = running;
    }
  });

  // Stages as they happen (reading photos, depth, fusion, texture, writing the zip), each with its measured time.
  // Those of an attempt that ran out of GPU memory stay listed ahead of the retry's (`earlierStages`): the overall bar
  // starts again for the retry, and the list says why.
  const stageTimes = new Map<string, { start: number; end?: number }>();
  let earlierStages: HTMLLIElement[] = [];
  let currentStage: string | null = null;
  const stageItems = (failed = false) => [...stageTimes].map(([stage, t]) => {
    const li = doc.createElement('li');
    li.className = t.end === undefined ? 'active' : failed && stage === currentStage ? 'failed' : 'done';
    li.textContent = t.end === undefined ? stage : `${stage} ${((t.end - t.start) / 1000).toFixed(1)} s`;
    return li;
  });
  // The current stage's bar and the rates behind both ETAs: where the stage's fraction and the overall bar stood at
  // the first measurement inside the stage, and when.
  let stageStart: { t: number; fraction: number; overall: number } | null = null;
  let stageFraction = 0;
  const enterStage = (name: string) => {
    if (name === currentStage) return;
    const now = performance.now();
    if (currentStage) stageTimes.get(currentStage)!.end = now;
    currentStage = name;
    stageStart = null;
    lastEstimate = null;
    stageFraction = 0;
    el.stageProgress.value = 0;
    el.stageName.textContent = name;
    el.stageName.title = name;
    el.stageEta.textContent = '';
    if (!stageTimes.has(name)) stageTimes.set(name, { start: now });
    el.stages.replaceChildren(...earlierStages, ...stageItems());
  };
  const finishStages = () => {
    // 'done' closes the last stage's time; it is not a stage itself.
    if (currentStage) {
      enterStage('done');
      el.stages.lastElementChild?.remove();
    }
    currentStage = null;
    el.stageName.textContent = 'Stage';
    el.stageEta.textContent = '';
    el.overallEta.textContent = '';
  };
  const formatEta = (seconds: number) => {
    const s = Math.max(1, Math.round(seconds));
    return s < 60 ? `~${s} s left` : `~${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s left`;
  };

  /**
   * Both ETAs from measured rates. The stage's: its remaining fraction at the rate the fraction has moved since the
   * stage's first measurement. The overall one: the rest of this stage, then what the overall bar will still lack at
   * the stage's end, at the job's average rate so far (stages differ in speed; this is a guess, shown as "~").
   * Between events (a timer calls this with fromEvent false) the last event's estimates count down; once one is spent
   * (the step takes longer than its share of the progress said) it comes from the rates measured up to now, which fall
   * while nothing reports, so the time left grows instead of standing at "~1 s".
   */
  const updateEtas = (overall: number, fromEvent: boolean) => {
    const now = performance.now();
    let { stageLeft, overallLeft } = estimateEtas(overall, now);
    if (fromEvent) lastEstimate = { t: now, stageLeft, overallLeft };
    else if (lastEstimate) {
      const spent = (now - lastEstimate.t) / 1000;
      if (lastEstimate.stageLeft !== null && lastEstimate.stageLeft - spent >= 1) stageLeft = lastEstimate.stageLeft - spent;
      if (lastEstimate.overallLeft !== null && lastEstimate.overallLeft - spent >= 1) overallLeft = lastEstimate.overallLeft - spent;
    }
    el.stageEta.textContent = stageLeft === null ? '' : formatEta(stageLeft);
    el.overallEta.textContent = overallLeft === null ? '' : formatEta(overallLeft);
  };
  let lastEstimate: { t: number; stageLeft: number | null; overallLeft: number | null } | null = null;
  const estimateEtas = (overall: number, now: number): { stageLeft: number | null; overallLeft: number | null } => {
    let stageLeft: number | null = null;
    let stageEndOverall = overall;
    if (stageStart && now - stageStart.t > 800 && stageFraction - stageStart.fraction > 0.02 && stageFraction < 1) {
      const rate = (stageFraction - stageStart.fraction) / (now - stageStart.t);
      stageLeft = (1 - stageFraction) / rate / 1000;
      // The overall bar's span of this stage, as measured: where it will stand when the stage ends.
      stageEndOverall = Math.min(100, overall + ((overall - stageStart.overall) / (stageFraction - stageStart.fraction)) * (1 - stageFraction));
    }
    const elapsed = (now - attemptStarted) / 1000;
    if (!(overall > 3 && overall < 100 && elapsed > 1)) return { stageLeft, overallLeft: null };
    const jobRate = overall / elapsed;
    return { stageLeft, overallLeft: (stageLeft ?? 0) + (100 - stageEndOverall) / jobRate };
  };

  // Progress events of the job. The overall bar is the current attempt's: a retry after an out-of-memory runs the
  // whole pipeline again, so it starts again from 0 (continuing from where the failed attempt stood would leave the
  // whole re-run inside the last few percent), and its ETA is measured from the retry's own start.
  let started = 0;
  let attemptStarted = 0;
  let jobOpen = false;
  let attempt = 0;
  /** A new attempt (the job's first, or the retry at a lower preset): its own bars, stages and ETA rates from 0. */
  const startAttempt = (now: number) => {
    attempt++;
    attemptStarted = now;
    stageTimes.clear();
    currentStage = null;
    stageStart = null;
    stageFraction = 0;
    lastEstimate = null;
    el.progress.value = 0;
    el.stageProgress.value = 0;
    el.stageName.textContent = 'Stage';
    el.stageEta.textContent = '';
    el.overallEta.textContent = '';
  };
  const onProgress = (attemptOf: number) => (event: ProgressEvent) => {
    // Events can still arrive (through the proxy) after the job's result: the final message must stay, and a failed
    // attempt's late events must not move the retry's bars.
    if (!jobOpen || attemptOf !== attempt) return;
    // Notes were shown with the capture, under "Your capture"; the run lists what needs a look.
    if (event.type === 'info') return;
    if (event.type === 'warning') {
      const li = doc.createElement('li');
      li.textContent = event.file ? `${event.file}: ${event.message}` : event.message;
      el.warnings.append(li);
      return;
    }
    if (event.type === 'vram') {
      el.vramLive.textContent = formatBytes(event.liveBytes);
      el.vramPeak.textContent = formatBytes(event.peakBytes);
      return;
    }
    if (event.type === 'job' && event.phase === 'ingest') enterStage('reading photos');
    else if (event.type === 'job' && event.phase === 'sfm') enterStage('finding cameras');
    else if (event.type === 'job' && event.phase === 'export') enterStage('writing the zip');
    // Stage steps are "stage: message"; other model steps ("writing the mesh", "done") belong to the current stage.
    else if (event.type === 'model' && event.step.includes(':')) enterStage(event.step.slice(0, event.step.indexOf(':')));
    const overall = Math.max(el.progress.value, event.overall);
    el.progress.value = overall;
    if (event.stage !== undefined && currentStage) {
      stageFraction = Math.max(stageFraction, event.stage);
      stageStart ??= { t: performance.now(), fraction: stageFraction, overall };
      el.stageProgress.value = 100 * stageFraction;
    }
    updateEtas(overall, true);
    el.progressText.textContent = event.type === 'model' ? `${event.model}: ${event.step} (${event.progress.toFixed(0)}%)` : event.message;
  };

  const LOWER: Partial<Record<Preset, Preset>> = { high: 'standard', standard: 'draft' };
  // Test and diagnosis knob: ?vramBudgetMiB=N caps the VRAM manager's budget for each job, so a preset really runs
  // out of memory (the budget check throws the same GpuOutOfMemoryError a full GPU does).
  const budgetMiB = Number(new URLSearchParams(doc.location?.search ?? '').get('vramBudgetMiB') ?? NaN);
  const vramBudgetBytes = Number.isFinite(budgetMiB) && budgetMiB > 0 ? Math.round(budgetMiB * 2 ** 20) : undefined;

  el.run.addEventListener('click', async () => {
    setBusy(true);
    el.warnings.replaceChildren();
    el.download.hidden = true;
    el.notice.hidden = true;
    el.notice.textContent = '';
    el.progressText.textContent = 'Starting…';
    started = performance.now();
    startAttempt(started);
    earlierStages = [];
    el.stages.replaceChildren();
    jobOpen = true;
    // The ETAs also move between events: through a long silent step (one big GPU submission) the measured rates fall
    // and the time left grows, instead of standing at the last, too short, estimate.
    const etaTimer = setInterval(() => {
      if (jobOpen) updateEtas(el.progress.value, false);
    }, 1000);
    try {
      let preset = el.preset.value as Preset;
      let retryOf: { preset: Preset; error: string } | undefined;
      let result: Awaited<ReturnType<typeof client.runJob>>['result'];
      for (;;) {
        const files = inputs.map((f) => ({ ...f, bytes: f.bytes.slice(0) }));
        const crop = currentCrop();
        ({ result } = await client.runJob({
          files,
          options: {
            preset,
            models: ($(doc, 'model-refine') as HTMLInputElement).checked ? ['feedforward', 'refine'] : ['feedforward'],
            captureName,
            ...(crop ? { cropBox: crop } : {}),
            // the network is the default and falls back to the sweep by itself (NETWORK_DEFAULT_RULE): no method sent
            ...(($(doc, 'depth-method') as HTMLSelectElement).value === 'planesweep' ? { mvs: { method: 'planesweep' as const } } : {}),
            ...(($(doc, 'sfm-features') as HTMLSelectElement).value === 'xfeat' ? { sfm: { features: 'xfeat' as const } } : {}),
            ...(vramBudgetBytes ? { vramBudgetBytes } : {}),
            ...(retryOf ? { retryOf } : {}),
          },
        }, onProgress(attempt)));
        const lower = LOWER[preset];
        if (result.status !== 'failed' || result.error?.code !== 'gpu-out-of-memory' || !lower) break;
        // Out of GPU memory: once more at the next lower preset, said where the user looks and kept in report.json.
        retryOf = { preset, error: result.error.message };
        el.notice.textContent = `Ran out of GPU memory at ${preset}; retrying at ${lower}.`;
        el.notice.title = result.error.message;
        el.notice.hidden = false;
        const li = doc.createElement('li');
        li.textContent = `Out of GPU memory at ${preset}: ${result.error.message}`;
        el.warnings.append(li);
        // The retry starts from the beginning: the failed attempt's stages stay listed (the one that ran out marked),
        // then the retry's own; both bars and ETAs start again.
        const failedAt = performance.now();
        if (currentStage) stageTimes.get(currentStage)!.end = failedAt;
        const retryItem = doc.createElement('li');
        retryItem.className = 'retry';
        retryItem.textContent = `retry at ${lower}`;
        earlierStages = [...earlierStages, ...stageItems(true), retryItem];
        el.stages.replaceChildren(...earlierStages);
        preset = lower;
        startAttempt(failedAt);
      }
      jobOpen = false;
      finishStages();
      if (result.status === 'success') el.progress.value = 100;
      if (result.zip) {
        if (downloadUrl) URL.revokeObjectURL(downloadUrl);
        downloadUrl = URL.createObjectURL(new Blob([result.zip as BlobPart], { type: 'application/zip' }));
        el.download.href = downloadUrl;
        el.download.download = result.zipName;
        el.download.textContent = `Download ${result.zipName} (${formatBytes(result.zip.length)})`;
        el.download.hidden = false;
        await showResult(result.zip, result.report);
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const retryNote = retryOf ? ` at ${preset} (ran out of GPU memory at ${retryOf.preset})` : '';
      if (result.status === 'success') el.progressText.textContent = `Done in ${seconds} s${retryNote}.`;
      else if (result.status === 'cancelled') {
        el.progress.value = 0;
        el.progressText.textContent = 'Cancelled. The GPU memory was released.';
      } else {
        const code = result.error?.code;
        const hint = code === 'gpu-out-of-memory' ? ' Even the Draft preset does not fit: close other GPU-heavy tabs, or use fewer or smaller photos.' : code === 'gpu-device-lost' ? ' Press “Restart GPU worker” and try again.' : '';
        el.progressText.textContent = `Failed${retryNote}: ${result.error?.message ?? 'unknown error'}${hint}`;
        if (code === 'gpu-device-lost') el.restart.hidden = false;
      }
    } catch (error) {
      jobOpen = false;
      el.progressText.textContent = `The worker stopped: ${String(error)}. Press “Restart GPU worker”.`;
      el.restart.hidden = false;
    } finally {
      clearInterval(etaTimer);
      setBusy(false);
      await refreshVram();
    }
  });
  el.cancel.addEventListener('click', () => {
    el.progressText.textContent = 'Cancelling…';
    void client.api.cancelJob();
  });

  const showResult = async (zip: Uint8Array, report: Report) => {
    const { ResultViewer } = await import('../viewer/viewer');
    viewer ??= new ResultViewer(el.viewer);
    el.viewerEmpty.hidden = true;
    const { faces, size } = viewer.show(zip, report, await photoThumbs);
    setModeButtons(true);
    reportFrusta();
    const unit = report.input.depth ? 'm' : 'units';
    el.meshInfo.classList.remove('muted');
    el.meshInfo.textContent = `${faces.toLocaleString()} faces; bounding box ${size.map((v) => v.toFixed(3)).join(' × ')} ${unit}`;
  };
  function setModeButtons(enabled: boolean) {
    for (const button of doc.querySelectorAll<HTMLButtonElement>('button.mode')) button.disabled = !enabled;
  }
  for (const button of doc.querySelectorAll<HTMLButtonElement>('button.mode')) {
    button.addEventListener('click', () => viewer?.setMode(button.dataset.mode as 'color' | 'shaded' | 'wireframe'));
  }

  el.selfTest.addEventListener('click', async () => {
    el.selfTest.disabled = true;
    el.selfTestResult.textContent = 'Running…';
    try {
      const { result } = await client.selfTest({ models: 2, size: 16, steps: 4 });
      const worst = Math.max(...result.outputs.map((o) => o.maxAbsDiff));
      el.selfTestResult.textContent = result.status === 'success'
        ? `Passed: ONNX + WGSL on one device, max error ${worst.toExponential(1)}, ${formatBytes(result.vram.ownBytes)} left live.`
        : `Failed: ${result.error?.message ?? result.status}`;
    } catch (error) {
      el.selfTestResult.textContent = `Failed: ${String(error)}`;
    } finally {
      el.selfTest.disabled = false;
      await refreshVram();
    }
  });
  el.restart.addEventListener('click', async () => {
    client.restart();
    el.restart.hidden = true;
    el.progressText.textContent = 'GPU worker restarted.';
    setBusy(false);
    await probe();
  });
  void probe();
}
