/**
 * The page: GPU panel, file selection, preset, run / cancel, progress, warnings, download.
 * (The full page with viewer and sample grows in src/app and src/viewer.)
 */
import type { ProgressEvent } from '../core/progress';
import type { InputFile, Preset } from '../../workers/api';
import type { ReconstructClient } from './client';

function $(doc: Document, id: string): HTMLElement {
  const el = doc.getElementById(id);
  if (!el) throw new Error(`ui: #${id} missing`);
  return el;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export async function filesToInputs(files: Iterable<File>): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const file of files) {
    const path = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    out.push({ name: file.name, path, bytes: await file.arrayBuffer(), lastModified: file.lastModified });
  }
  return out;
}

export function mountApp(doc: Document, client: ReconstructClient): void {
  const status = $(doc, 'gpu-status');
  const details = $(doc, 'gpu-details');
  const selfTestButton = $(doc, 'self-test') as HTMLButtonElement;
  const selfTestResult = $(doc, 'self-test-result');
  const runButton = $(doc, 'run') as HTMLButtonElement;
  const cancelButton = $(doc, 'cancel') as HTMLButtonElement;
  const progressBar = $(doc, 'progress') as HTMLProgressElement;
  const progressText = $(doc, 'progress-text');
  const warnings = $(doc, 'warnings');
  const download = $(doc, 'download') as HTMLAnchorElement;
  const summary = $(doc, 'file-summary');
  let selected: File[] = [];

  const probe = async () => {
    const gpu = await client.api.probeGpu();
    details.replaceChildren();
    if (gpu.available) {
      const a = gpu.adapter;
      status.textContent = `WebGPU ready: ${a.description || a.device || a.architecture || a.vendor}${a.isFallbackAdapter ? ' (software fallback: slow)' : ''}`;
      const rows: [string, string][] = [
        ['Vendor', `${a.vendor} ${a.architecture}`],
        ['Max buffer', formatBytes(a.limits.maxBufferSize)],
        ['Max storage binding', formatBytes(a.limits.maxStorageBufferBindingSize)],
        ['Features', a.features.filter((f) => ['timestamp-query', 'shader-f16', 'subgroups'].includes(f)).join(', ') || 'none'],
        ['Threads', gpu.crossOriginIsolated ? 'wasm threads on' : 'single-threaded (page not cross-origin isolated)'],
      ];
      for (const [k, v] of rows) {
        const dt = doc.createElement('dt');
        dt.textContent = k;
        const dd = doc.createElement('dd');
        dd.textContent = v;
        details.append(dt, dd);
      }
      selfTestButton.disabled = false;
    } else {
      status.textContent = gpu.reason;
      status.classList.add('error');
    }
  };

  const onProgress = (event: ProgressEvent) => {
    if (event.type === 'model') {
      progressBar.value = event.overall;
      progressText.textContent = `${event.model}: ${event.step} (${event.progress.toFixed(0)}%)`;
    } else if (event.type === 'job') {
      progressBar.value = event.overall;
      progressText.textContent = event.message;
    } else if (event.type === 'warning') {
      const li = doc.createElement('li');
      li.textContent = event.file ? `${event.file}: ${event.message}` : event.message;
      warnings.append(li);
    }
  };

  selfTestButton.addEventListener('click', async () => {
    selfTestButton.disabled = true;
    selfTestResult.textContent = 'Running…';
    try {
      const { result } = await client.selfTest({ models: 2, size: 16, steps: 4 }, onProgress);
      const worst = Math.max(...result.outputs.map((o) => o.maxAbsDiff));
      selfTestResult.textContent = result.status === 'success'
        ? `Passed: ONNX + WGSL on one device, max error ${worst.toExponential(1)}, ${formatBytes(result.vram.ownBytes)} left live.`
        : `Failed: ${result.error?.message ?? result.status}`;
    } catch (error) {
      selfTestResult.textContent = `Failed: ${String(error)}`;
    } finally {
      selfTestButton.disabled = false;
    }
  });

  const onFiles = (files: FileList | null) => {
    selected = files ? [...files] : [];
    summary.textContent = selected.length ? `${selected.length} files (${formatBytes(selected.reduce((s, f) => s + f.size, 0))})` : 'No files selected.';
    runButton.disabled = selected.length === 0;
  };
  $(doc, 'file-input').addEventListener('change', (e) => onFiles((e.target as HTMLInputElement).files));
  $(doc, 'folder-input').addEventListener('change', (e) => onFiles((e.target as HTMLInputElement).files));

  runButton.addEventListener('click', async () => {
    runButton.disabled = true;
    cancelButton.disabled = false;
    warnings.replaceChildren();
    download.hidden = true;
    progressBar.value = 0;
    try {
      const files = await filesToInputs(selected);
      const preset = ($(doc, 'preset') as HTMLSelectElement).value as Preset;
      const { result } = await client.runJob({ files, options: { preset, models: ['feedforward'] } }, onProgress);
      if (result.zip) {
        const url = URL.createObjectURL(new Blob([result.zip as BlobPart], { type: 'application/zip' }));
        download.href = url;
        download.download = result.zipName;
        download.textContent = `Download ${result.zipName}`;
        download.hidden = false;
      }
      progressText.textContent = result.status === 'success' ? 'Done.' : `${result.status}: ${result.error?.message ?? ''}`;
    } catch (error) {
      progressText.textContent = `Failed: ${String(error)}`;
    } finally {
      runButton.disabled = selected.length === 0;
      cancelButton.disabled = true;
    }
  });
  cancelButton.addEventListener('click', () => void client.api.cancelJob());
  void probe();
}
