/**
 * Network weights: public/weights/manifest.json names every ONNX file with its size and sha256. The loader fetches
 * each file with download progress, verifies the hash (crypto.subtle), keeps verified files in the Cache API (keyed
 * by hash, so a new release is a new entry) and refuses a file whose hash does not match, with a message that says so.
 */
import { WebReconError, throwIfAborted } from '../core/errors';

export interface WeightsGraphEntry {
  file: string;
  /** A third-party model's public source (read with LoadWeightsOptions.useSourceUrls instead of baseUrl + file). */
  url?: string;
  bytes: number;
  sha256: string;
  inputs: Record<string, (number | string)[]>;
  outputs: Record<string, (number | string)[]>;
  ops?: string[];
}

/** The network configuration export.py writes (training/config.json plus the name). */
export interface MvsNetConfig {
  name: string;
  feature: { out2: number; out4: number };
  stage1: { depths: number; groups: number };
  stage2: { depths: number; groups: number; span_steps: number };
}

export interface WeightsModelEntry {
  graphs: Record<string, WeightsGraphEntry>;
  /** Our networks' configuration (third-party models have none). */
  config?: MvsNetConfig;
  training?: Record<string, unknown>;
  /** Third-party models: where they come from and under which licence. */
  source?: string;
  licence?: string;
}

export interface WeightsManifest {
  version: number;
  models: Record<string, WeightsModelEntry>;
}

export interface LoadedWeights {
  name: string;
  entry: WeightsModelEntry;
  graphs: Record<string, Uint8Array>;
  /** Files that came from the Cache API rather than the network. */
  fromCache: string[];
}

export interface LoadWeightsOptions {
  /** Folder holding manifest.json and the files (default: <origin>/weights/). */
  baseUrl?: string;
  /** A manifest to use instead of fetching one (tests). */
  manifest?: WeightsManifest;
  onProgress?: (loadedBytes: number, totalBytes: number, file: string) => void;
  signal?: AbortSignal;
  /** Read each file from its entry's `url` (third-party models' public sources) rather than baseUrl + file. */
  useSourceUrls?: boolean;
  /** Use the Cache API when the context has it (default true). */
  useCache?: boolean;
  fetchImpl?: typeof fetch;
}

/** A weights file is missing, unreadable or does not match its manifest entry. */
export class WeightsError extends WebReconError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('model', message, options);
    this.name = 'WeightsError';
  }
}

export const WEIGHTS_CACHE = 'webrecon-weights-v1';

export function defaultWeightsBase(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin ?? 'http://localhost';
  return `${origin}/weights/`;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as unknown as ArrayBuffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The manifest `file` in `baseUrl`: manifest.json (our networks) or third-party.json (optional third-party models). */
export async function fetchManifest(baseUrl = defaultWeightsBase(), fetchImpl: typeof fetch = fetch, file = 'manifest.json'): Promise<WeightsManifest> {
  const url = new URL(file, baseUrl).href;
  let response: Response;
  try {
    response = await fetchImpl(url, { cache: 'no-cache' });
  } catch (error) {
    throw new WeightsError(`Could not fetch the network weights manifest ${url}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok) throw new WeightsError(`The network weights manifest is missing (${response.status} at ${url}).`);
  return (await response.json()) as WeightsManifest;
}

async function readWithProgress(response: Response, onChunk: (bytes: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  if (!response.body) {
    const all = new Uint8Array(await response.arrayBuffer());
    onChunk(all.byteLength);
    return all;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    throwIfAborted(signal);
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    onChunk(value.byteLength);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function mismatch(file: string, entry: WeightsGraphEntry, bytes: Uint8Array, hash: string): WeightsError {
  return new WeightsError(
    `The network weights file ${file} does not match the manifest: sha256 ${hash.slice(0, 16)}… (${bytes.byteLength} bytes) where ` +
      `${entry.sha256.slice(0, 16)}… (${entry.bytes} bytes) was expected. The download is corrupt or the files are out of date; ` +
      'it was not used. Reload the page; if this persists, the deployed weights do not belong to this build.',
  );
}

/** Fetches, verifies and caches every graph of model `name`. Throws WeightsError on any problem. */
export async function loadModelWeights(name: string, options: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const baseUrl = options.baseUrl ?? defaultWeightsBase();
  const manifest = options.manifest ?? (await fetchManifest(baseUrl, fetchImpl));
  const entry = manifest.models?.[name];
  if (!entry) throw new WeightsError(`The weights manifest has no model "${name}" (it has: ${Object.keys(manifest.models ?? {}).join(', ') || 'none'}).`);
  const cacheStorage = (globalThis as { caches?: CacheStorage }).caches;
  const cache = options.useCache !== false && cacheStorage ? await cacheStorage.open(WEIGHTS_CACHE).catch(() => null) : null;
  const total = Object.values(entry.graphs).reduce((s, g) => s + g.bytes, 0);
  let loaded = 0;
  const graphs: Record<string, Uint8Array> = {};
  const fromCache: string[] = [];
  for (const [graph, g] of Object.entries(entry.graphs)) {
    throwIfAborted(options.signal);
    if (options.useSourceUrls && !g.url) throw new WeightsError(`The weights manifest gives no source URL for ${g.file}.`);
    const url = options.useSourceUrls ? g.url! : new URL(g.file, baseUrl).href;
    const cacheKey = `${url}?sha256=${g.sha256}`;
    let bytes: Uint8Array | null = null;
    if (cache) {
      const hit = await cache.match(cacheKey);
      if (hit) {
        const cached = new Uint8Array(await hit.arrayBuffer());
        // Verified again: a cache can be tampered with or truncated; a bad entry is dropped and fetched anew.
        if ((await sha256Hex(cached)) === g.sha256) {
          bytes = cached;
          fromCache.push(g.file);
          loaded += g.bytes;
          options.onProgress?.(loaded, total, g.file);
        } else {
          await cache.delete(cacheKey);
        }
      }
    }
    if (!bytes) {
      let response: Response;
      try {
        response = await fetchImpl(url, { signal: options.signal });
      } catch (error) {
        throwIfAborted(options.signal);
        throw new WeightsError(`Could not download the network weights ${g.file}: ${(error as Error).message}`, { cause: error });
      }
      if (!response.ok) throw new WeightsError(`Could not download the network weights ${g.file} (HTTP ${response.status}).`);
      const start = loaded;
      bytes = await readWithProgress(response, (n) => {
        loaded += n;
        options.onProgress?.(Math.min(loaded, start + g.bytes), total, g.file);
      }, options.signal);
      loaded = start + g.bytes;
      const hash = await sha256Hex(bytes);
      if (hash !== g.sha256 || bytes.byteLength !== g.bytes) throw mismatch(g.file, g, bytes, hash);
      if (cache) await cache.put(cacheKey, new Response(bytes as unknown as BodyInit, { headers: { 'Content-Type': 'application/octet-stream' } })).catch(() => undefined);
    }
    graphs[graph] = bytes;
  }
  return { name, entry, graphs, fromCache };
}
