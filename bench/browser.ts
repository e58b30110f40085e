/**
 * Drives the built app in headless Chromium from Node: serves dist/ with COOP/COEP (vite preview), launches the
 * system Chromium with WebGPU, and hands back a page whose window.webrecon is the same client the UI uses.
 * Used by `npm run reconstruct`, `npm run bench` and `npm run synth`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface AppSession {
  page: Page;
  url: string;
  close(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '..');

export async function openAppInChromium(options: { rebuild?: boolean; log?: (line: string) => void } = {}): Promise<AppSession> {
  const log = options.log ?? (() => undefined);
  if (options.rebuild || !existsSync(resolve(ROOT, 'dist/index.html'))) {
    log('building the app (vite build)…');
    await build({ root: ROOT, logLevel: 'warn' });
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium)`);
  const server: PreviewServer = await preview({ root: ROOT, preview: { port: 0, host: '127.0.0.1' }, logLevel: 'warn' });
  const url = server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:4173/';
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') log(`[page ${msg.type()}] ${msg.text()}`);
    });
    page.on('pageerror', (error) => log(`[page error] ${error.message}`));
    await page.goto(url);
    await page.waitForFunction(() => Boolean((window as unknown as { webrecon?: unknown }).webrecon));
    const b = browser;
    return {
      page,
      url,
      close: async () => {
        await b.close();
        await server.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await server.close();
    throw error;
  }
}

/** Copies bytes held by the page (an expression evaluating to a Uint8Array) to Node, in base64 chunks. */
export async function pullBytes(page: Page, expression: string, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const chunk = 8 * 1024 * 1024;
  for (let offset = 0; offset < length; offset += chunk) {
    const b64 = await page.evaluate(([expr, o, n]) => {
      const bytes = (0, eval)(expr as string) as Uint8Array;
      const part = bytes.subarray(o as number, (o as number) + (n as number));
      let s = '';
      for (let i = 0; i < part.length; i += 0x8000) s += String.fromCharCode(...part.subarray(i, i + 0x8000));
      return btoa(s);
    }, [expression, offset, chunk] as const);
    chunks.push(Buffer.from(b64, 'base64'));
  }
  return Buffer.concat(chunks);
}
