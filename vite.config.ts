import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/** Cross-origin isolation: needed for SharedArrayBuffer, so onnxruntime-web's wasm threads work. */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Nothing leaves the machine: connections only to the page's own origin, and to the declared download origin of the
 * optional third-party models (public/weights/third-party.json: raw.githubusercontent.com), fetched only when the
 * user turns the learned features on; nothing is ever sent. 'wasm-unsafe-eval' lets onnxruntime-web compile its wasm; blob: images are the viewer's
 * textures. The dev server also needs its HMR websocket.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' https://raw.githubusercontent.com",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
].join('; ');

/**
 * Serves a local data folder under /data/ (only when WEBRECON_DATA_DIR is set: tests, benchmarks, the headless
 * runner). `/data/<dir>/?list` answers the folder's files, recursively, as JSON. This is the same route the GPU
 * machine's serve.py offers, so the URL-driven page mode works in both places.
 */
function dataDirPlugin(prefix = '/data/', envVar = 'WEBRECON_DATA_DIR'): Plugin {
  const root = process.env[envVar] ? resolve(process.env[envVar]!) : null;
  const handler = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    if (!root || !req.url?.startsWith(prefix)) return next();
    const url = new URL(req.url, 'http://x');
    const path = resolve(root, decodeURIComponent(url.pathname.slice(prefix.length)));
    if (path !== root && !path.startsWith(root + sep)) {
      res.statusCode = 403;
      return res.end();
    }
    if (!existsSync(path)) {
      res.statusCode = 404;
      return res.end();
    }
    for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (statSync(path).isDirectory()) {
      const files: string[] = [];
      const walk = (d: string) => {
        for (const name of readdirSync(d).sort()) {
          const full = join(d, name);
          if (statSync(full).isDirectory()) walk(full);
          else files.push(relative(path, full).split(sep).join('/'));
        }
      };
      walk(path);
      res.setHeader('Content-Type', 'application/json');
      return res.end(JSON.stringify({ files }));
    }
    const types: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.json': 'application/json', '.txt': 'text/plain' };
    res.setHeader('Content-Type', types[extname(path).toLowerCase()] ?? 'application/octet-stream');
    createReadStream(path).pipe(res);
  };
  return {
    name: `webrecon-data-dir${prefix.replace(/\//g, '-')}`,
    configureServer: (server) => void server.middlewares.use(handler),
    configurePreviewServer: (server) => void server.middlewares.use(handler),
  };
}

export default defineConfig({
  plugins: [dataDirPlugin(), dataDirPlugin('/third-party/', 'WEBRECON_THIRD_PARTY_DIR')],
  server: { headers: { ...isolationHeaders, 'Content-Security-Policy': CONTENT_SECURITY_POLICY.replace("connect-src 'self'", "connect-src 'self' ws://127.0.0.1:5173 ws://localhost:5173") }, host: '127.0.0.1', port: 5173 },
  preview: { headers: { ...isolationHeaders, 'Content-Security-Policy': CONTENT_SECURITY_POLICY }, host: '127.0.0.1', port: 4173 },
  // onnxruntime-web loads its .wasm/.mjs beside itself; pre-bundling breaks those relative URLs.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), run: resolve(import.meta.dirname, 'run.html') } },
  },
});
