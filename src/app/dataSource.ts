/**
 * Files served under /data/ (the GPU machine's serve.py, or vite with WEBRECON_DATA_DIR): the URL-driven page mode,
 * the benchmarks and the browser tests read captures this way. `/data/<dir>/?list` lists a folder recursively.
 */
import type { InputFile } from '../../workers/api';

export async function fetchDataFiles(dir: string, filter: (path: string) => boolean = () => true): Promise<InputFile[]> {
  const clean = dir.replace(/^\/+|\/+$/g, '').replace(/^data(\/|$)/, '');
  const base = clean ? `/data/${clean}` : '/data';
  const listing = await fetch(`${base}/?list`);
  if (!listing.ok) throw new Error(`data: cannot list ${base} (HTTP ${listing.status})`);
  const { files } = (await listing.json()) as { files: string[] };
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
