/**
 * Files served under /data/ (the GPU machine's serve.py, or vite with WEBRECON_DATA_DIR): the URL-driven page mode,
 * the benchmarks and the browser tests read captures this way. `/data/<dir>/?list` lists a folder recursively.
 */
import type { InputFile } from '../../workers/api';

export async function fetchDataFiles(dir: string, filter: (path: string) => boolean = () => true): Promise<InputFile[]> {
  const clean = dir.replace(/^\/+|\/+$/g, '').replace(/^data(\/|$)/, '');
  const base = clean ? `/data/${clean}` : '/data';
  const files = await listFiles(base);
  const top = clean.split('/').pop() || 'capture';
  const wanted = files.filter(filter);
  return Promise.all(
    wanted.map(async (path) => {
      const response = await fetch(`${base}/${path.split('/').map(encodeURIComponent).join('/')}`);
      if (!response.ok) throw new Error(`data: cannot fetch ${base}/${path} (HTTP ${response.status})`);
      return { name: path.split('/').pop()!, path: `${top}/${path}`, bytes: await response.arrayBuffer() };
    }),
  );
}

/** `<dir>/?list` (vite with WEBRECON_DATA_DIR), else `<dir>/manifest.json` ({"files": [...]}, for serve.py on the GPU machine). */
async function listFiles(base: string): Promise<string[]> {
  for (const url of [`${base}/?list`, `${base}/manifest.json`]) {
    const response = await fetch(url);
    if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json')) continue;
    try {
      const { files } = (await response.json()) as { files: string[] };
      if (Array.isArray(files)) return files.filter((f) => f !== 'manifest.json');
    } catch {
      // not a listing: try the next form
    }
  }
  throw new Error(`data: cannot list ${base} (no manifest.json and no ?list listing)`);
}
