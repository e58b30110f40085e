/** `npm run bench:export`: the 2M-triangle textured export, timed inside the worker in Chromium. */
import { openAppInChromium } from './browser';
import type { ReconstructClient } from '../src/app/client';

const triangles = Number(process.argv[2] ?? 2_000_000);
const textureSize = Number(process.argv[3] ?? 2048);
const session = await openAppInChromium({ rebuild: true, log: (l) => console.error(l) });
try {
  const result = await session.page.evaluate(
    ([t, s]) => (window as unknown as { webrecon: ReconstructClient }).webrecon.api.benchmark({ kind: 'export', triangles: t, textureSize: s, repeats: 3 }),
    [triangles, textureSize] as const,
  );
  console.log(JSON.stringify(result, null, 2));
} finally {
  await session.close();
}
