/**
 * The page driven by its URL, for machines without node (the H200 benchmark machine, shared/device/README.md):
 *   /?job=<dir under /data>&preset=draft&models=feedforward[&holdout=8][&pattern=<regex>][&zip=1][&mvs=<json>]
 *   /?bench=<json BenchmarkSpec>
 *   /?check=<json KernelCheckSpec without files>[&job=<dir>[&pattern=<regex>]]: a kernel check (e.g. the MVS depth study;
 *   &job= gives it the files of a data folder)
 * fetches the inputs from /data/..., runs, POSTs the report (or benchmark JSON) to /report, then POSTs /done.
 * With zip=1 the result zip is POSTed to /report first, base64-encoded (serve.py keeps every POST as report-<n>.json).
 * Logs go to /log line by line. Returns false when the URL asks for nothing.
 */
import type { BenchmarkSpec, JobOptions, KernelCheckSpec, Preset } from '../../workers/api';
import { bytesToBase64 } from '../core/format';
import type { ReconstructClient } from './client';

async function post(path: string, body: unknown): Promise<void> {
  await fetch(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) }).catch(() => undefined);
}

export function runFromUrl(client: ReconstructClient, search: string): boolean {
  const params = new URLSearchParams(search);
  const job = params.get('job');
  const bench = params.get('bench');
  const check = params.get('check');
  if (job === null && bench === null && check === null) return false;
  const log = (line: string) => void post('/log', JSON.stringify({ t: performance.now(), line }));
  void (async () => {
    try {
      const gpu = await client.api.probeGpu();
      log(`gpu: ${JSON.stringify(gpu)}`);
      if (check !== null) {
        // Checks that read data name its folder with &job=; synthetic ones (e.g. the network speed bench) need none.
        const files = job === null ? [] : (await client.fetchDataFiles(job, params.get('pattern') ?? undefined)).map(({ path, bytes }) => ({ path, bytes }));
        const spec = { ...(JSON.parse(check) as object), files } as KernelCheckSpec;
        const result = await client.api.kernelCheck(spec);
        await post('/report', { gpu, check: JSON.parse(check), job, result });
      } else if (bench !== null) {
        const result = await client.api.benchmark(JSON.parse(bench) as BenchmarkSpec);
        await post('/report', { gpu, benchmark: JSON.parse(bench), result });
      } else {
        const options = {
          preset: (params.get('preset') ?? 'standard') as Preset,
          models: (params.get('models') ?? 'feedforward').split(','),
          holdout: Number(params.get('holdout') ?? 0),
          captureName: job!.split('/').filter(Boolean).pop() ?? 'capture',
          ...(params.get('refineCameras') === '1' ? { refineCameras: true } : {}),
          ...(params.get('mvs') ? { mvs: JSON.parse(params.get('mvs')!) as JobOptions['mvs'] } : {}),
          ...(params.get('refine') ? { refine: JSON.parse(params.get('refine')!) as JobOptions['refine'] } : {}),
          ...(params.get('fusion') ? { fusion: JSON.parse(params.get('fusion')!) as JobOptions['fusion'] } : {}),
          ...(params.get('sfm') ? { sfm: JSON.parse(params.get('sfm')!) as JobOptions['sfm'] } : {}),
          ...(params.get('texture') ? { texture: JSON.parse(params.get('texture')!) as JobOptions['texture'] } : {}),
        };
        const { result, events, fetchMs } = await client.runDataJob(job!, options, params.get('pattern') ?? undefined);
        for (const e of events) {
          if (e.type === 'warning') log(`warning: ${e.file ? `${e.file}: ` : ''}${e.message}`);
          else if (e.type === 'info') log(`info: ${e.message}`);
        }
        const zip = (window as unknown as { webreconLastZip?: Uint8Array | null }).webreconLastZip;
        if (params.get('zip') === '1' && zip) {
          await post('/report', bytesToBase64(zip));
        }
        await post('/report', { ...result.report, fetchMs, zipBytes: result.zipBytes });
      }
    } catch (error) {
      log(`error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      await post('/report', { status: 'failed', error: String(error) });
    } finally {
      await post('/done', {});
    }
  })();
  return true;
}
