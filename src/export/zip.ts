/**
 * Zips the job's files with report.json at the root (fflate). PNGs are stored (already deflated); text and PLY are
 * deflated at a fast level.
 */
import { zipSync, type Zippable } from 'fflate';
import type { Report } from '../core/report';

export function zipOutputs(files: Record<string, Uint8Array>, report: Report | null, level: 0 | 1 | 6 = 1): Uint8Array {
  const entries: Zippable = {};
  for (const [name, data] of Object.entries(files)) {
    entries[name] = [data, { level: name.endsWith('.png') ? 0 : level }];
  }
  if (report) entries['report.json'] = [new TextEncoder().encode(JSON.stringify(report, null, 2)), { level: 6 }];
  return zipSync(entries);
}
