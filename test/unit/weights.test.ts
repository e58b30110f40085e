import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelWeights, sha256Hex, type WeightsManifest } from '../../src/ml/weights';

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

function setup(files: Record<string, Uint8Array>, chunk = 1000) {
  const calls: string[] = [];
  const fetchImpl = (async (url: string) => {
    calls.push(url);
    const name = url.split('/').pop()!;
    const data = files[name];
    if (!data) return new Response('missing', { status: 404 });
    // Served in chunks so that progress has several steps.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < data.length; i += chunk) controller.enqueue(data.slice(i, i + chunk));
        controller.close();
      },
    });
    return new Response(stream, { status: 200 });
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

function manifestFor(files: Record<string, Uint8Array>, hashes?: Record<string, string>): WeightsManifest {
  const graphs = Object.fromEntries(Object.entries(files).map(([name, data]) => [name.replace('.onnx', ''), {
    file: name, bytes: data.length, sha256: hashes?.[name] ?? createHash('sha256').update(data).digest('hex'), inputs: {}, outputs: {},
  }]));
  return { version: 1, models: { net: { graphs, config: { name: 'net', feature: { out2: 16, out4: 32 }, stage1: { depths: 48, groups: 8 }, stage2: { depths: 16, groups: 8, span_steps: 4 } } } } };
}

describe('weights loader', () => {
  it('sha256Hex agrees with node:crypto', async () => {
    const data = bytesOf(5000, 3);
    expect(await sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('downloads every graph with progress up to the total and verifies the hashes', async () => {
    const files = { 'feature.onnx': bytesOf(4500, 1), 'reg1.onnx': bytesOf(2500, 2) };
    const { fetchImpl, calls } = setup(files);
    const progress: [number, number][] = [];
    const w = await loadModelWeights('net', { baseUrl: 'http://x/weights/', manifest: manifestFor(files), fetchImpl, useCache: false, onProgress: (a, b) => progress.push([a, b]) });
    expect(Object.keys(w.graphs).sort()).toEqual(['feature', 'reg1']);
    expect(w.graphs.reg1).toEqual(files['reg1.onnx']);
    expect(calls).toEqual(['http://x/weights/feature.onnx', 'http://x/weights/reg1.onnx']);
    expect(progress.length).toBeGreaterThanOrEqual(8);
    expect(progress.at(-1)).toEqual([7000, 7000]);
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThanOrEqual(progress[i - 1][0]);
  });

  it('refuses a file whose hash does not match, naming the file', async () => {
    const files = { 'feature.onnx': bytesOf(3000, 1) };
    const { fetchImpl } = setup(files);
    const bad = manifestFor(files, { 'feature.onnx': 'ab'.repeat(32) });
    await expect(loadModelWeights('net', { baseUrl: 'http://x/weights/', manifest: bad, fetchImpl, useCache: false })).rejects.toThrow(/feature\.onnx does not match the manifest/);
  });

  it('reports a missing model and a missing file clearly', async () => {
    const files = { 'feature.onnx': bytesOf(10, 1) };
    const { fetchImpl } = setup({});
    await expect(loadModelWeights('other', { baseUrl: 'http://x/weights/', manifest: manifestFor(files), fetchImpl, useCache: false })).rejects.toThrow(/no model "other"/);
    await expect(loadModelWeights('net', { baseUrl: 'http://x/weights/', manifest: manifestFor(files), fetchImpl, useCache: false })).rejects.toThrow(/HTTP 404/);
  });

  it('the shipped manifest matches the shipped files (sizes and hashes) and stays under 10 MB per model', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../../public/weights/manifest.json', import.meta.url), 'utf8')) as WeightsManifest;
    expect(Object.keys(manifest.models)).toEqual(expect.arrayContaining(['mvsnet', 'mvsnet-random']));
    for (const model of Object.values(manifest.models)) {
      let total = 0;
      for (const g of Object.values(model.graphs)) {
        const data = readFileSync(new URL(`../../public/weights/${g.file}`, import.meta.url));
        expect(data.length).toBe(g.bytes);
        expect(createHash('sha256').update(data).digest('hex')).toBe(g.sha256);
        total += g.bytes;
      }
      expect(total).toBeLessThan(10 * 1024 * 1024);
    }
  });
});
