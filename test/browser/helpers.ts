import type { Page } from '@playwright/test';
import type { ReconstructClient } from '../../src/app/client';

/** The automation handle main.ts puts on window. */
export type WindowWithClient = Window & { webrecon: ReconstructClient };

/** Opens the app, waits for the worker to answer and for the GPU to be probed. */
export async function openApp(page: Page): Promise<void> {
  const consoleErrors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  await page.goto('/');
  await page.waitForFunction(() => Boolean((window as unknown as WindowWithClient).webrecon));
}
