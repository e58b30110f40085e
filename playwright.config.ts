import { defineConfig } from '@playwright/test';

/** Browser tests drive Debian's Chromium (Playwright's own browser download cannot work here) on WebGPU. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const PORT = Number(process.env.WEBRECON_TEST_PORT ?? 4173);

export default defineConfig({
  testDir: 'test',
  testMatch: ['browser/**/*.spec.ts', 'e2e/**/*.spec.ts'],
  // 7 min: the heaviest SwiftShader tests took 1.5-3 min on the 2-core machine with Debian's Chromium 156 and 2.5x as
  // long with its Chromium 150 (session 19; several then ran out of a 3-min limit). CI gets whichever apt offers.
  timeout: 420_000,
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
  },
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort`,
    env: { WEBRECON_DATA_DIR: process.env.WEBRECON_DATA_DIR ?? '../shared/datasets', WEBRECON_THIRD_PARTY_DIR: process.env.WEBRECON_THIRD_PARTY_DIR ?? '../shared/weights/third-party' },
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
