/**
 * `npm run bench:refine [-- iterations size batch views]`: the refinement benchmark (default 500 iterations at
 * 512x512, 4 views per batch, 24 views) inside the worker in Chromium; prints wall time, GPU ms per iteration by
 * phase (raster, shading, backward, optimiser) and validation PSNR before/after. On the GPU machine the same runs
 * through the URL mode: `/?bench={"kind":"refine","iterations":500,"size":512,"batch":4}`.
 */
import { openAppInChromium } from './browser';
import type { ReconstructClient } from '../src/app/client';

const [iterations, size, batch, views] = [500, 512, 4, 24].map((d, i) => Number(process.argv[2 + i] ?? d));
const session = await openAppInChromium({ rebuild: true, log: (l) => console.error(l) });
try {
  const result = await session.page.evaluate(
    (spec) => (window as unknown as { webrecon: ReconstructClient }).webrecon.api.benchmark({ kind: 'refine', ...spec }),
    { iterations, size, batch, views },
  );
  console.log(JSON.stringify(result, null, 2));
} finally {
  await session.close();
}
