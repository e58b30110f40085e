/**
 * Zip writer for the result: one exact-size buffer, entries stored or deflated (fflate's raw deflate), CRC-32
 * slice-by-8. PNGs are stored (already deflated). Text and PLY are deflated at a fast level while their total stays
 * under DEFLATE_LIMIT_BYTES; above it they are stored: deflating the 270 MB of OBJ+PLY of a 2M-triangle mesh costs
 * ~6 s on one core, which we do not make the user wait for a file that stays on their own disk.
 * (docs/benchmarks.md has the measured figures.) No zip64: every entry and the whole archive stay under 4 GiB.
 */
import { deflateSync } from 'fflate';
import type { Report } from '../core/report';
import { crc32 } from './crc32';

export const DEFLATE_LIMIT_BYTES = 64 * 1024 * 1024;

export type ZipLevel = 0 | 1 | 6;

/** The deflate level for text/PLY files totalling `textBytes` (pure, for tests). */
export function chooseZipLevel(textBytes: number): ZipLevel {
  return textBytes <= DEFLATE_LIMIT_BYTES ? 1 : 0;
}

interface Entry {
  name: Uint8Array;
  data: Uint8Array;
  method: 0 | 8;
  crc: number;
  size: number;
  offset: number;
}

export function zipFiles(files: [string, Uint8Array, ZipLevel][]): Uint8Array {
  const encoder = new TextEncoder();
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, data, level] of files) {
    const crc = crc32(data);
    let stored = data;
    let method: 0 | 8 = 0;
    if (level > 0 && data.length > 64) {
      const deflated = deflateSync(data, { level });
      if (deflated.length < data.length) {
        stored = deflated;
        method = 8;
      }
    }
    const nameBytes = encoder.encode(name);
    entries.push({ name: nameBytes, data: stored, method, crc, size: data.length, offset });
    offset += 30 + nameBytes.length + stored.length;
  }
  const centralSize = entries.reduce((s, e) => s + 46 + e.name.length, 0);
  const total = offset + centralSize + 22;
  if (total >= 2 ** 32 || entries.length >= 65535) throw new Error('export: the result is too large for a zip without zip64');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  // DOS date/time of now (zip readers show it).
  const now = new Date();
  const dosTime = (now.getHours() << 11) | (now.getMinutes() << 5) | (now.getSeconds() >> 1);
  const dosDate = ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate();
  let p = 0;
  for (const e of entries) {
    view.setUint32(p, 0x04034b50, true);
    view.setUint16(p + 4, 20, true); // version needed
    view.setUint16(p + 6, 0x0800, true); // UTF-8 names
    view.setUint16(p + 8, e.method, true);
    view.setUint16(p + 10, dosTime, true);
    view.setUint16(p + 12, dosDate, true);
    view.setUint32(p + 14, e.crc, true);
    view.setUint32(p + 18, e.data.length, true);
    view.setUint32(p + 22, e.size, true);
    view.setUint16(p + 26, e.name.length, true);
    view.setUint16(p + 28, 0, true);
    out.set(e.name, p + 30);
    out.set(e.data, p + 30 + e.name.length);
    p += 30 + e.name.length + e.data.length;
  }
  const centralStart = p;
  for (const e of entries) {
    view.setUint32(p, 0x02014b50, true);
    view.setUint16(p + 4, 20, true); // version made by
    view.setUint16(p + 6, 20, true);
    view.setUint16(p + 8, 0x0800, true);
    view.setUint16(p + 10, e.method, true);
    view.setUint16(p + 12, dosTime, true);
    view.setUint16(p + 14, dosDate, true);
    view.setUint32(p + 16, e.crc, true);
    view.setUint32(p + 20, e.data.length, true);
    view.setUint32(p + 24, e.size, true);
    view.setUint16(p + 28, e.name.length, true);
    // extra, comment, disk, internal attrs: 0
    view.setUint32(p + 38, 0, true); // external attrs
    view.setUint32(p + 42, e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
  }
  view.setUint32(p, 0x06054b50, true);
  view.setUint16(p + 8, entries.length, true);
  view.setUint16(p + 10, entries.length, true);
  view.setUint32(p + 12, p - centralStart, true);
  view.setUint32(p + 16, centralStart, true);
  return out;
}

/** The job's files plus report.json at the root. */
export function zipOutputs(files: Record<string, Uint8Array>, report: Report | null, level?: ZipLevel): Uint8Array {
  const textBytes = Object.entries(files).reduce((sum, [name, data]) => sum + (name.endsWith('.png') ? 0 : data.length), 0);
  const textLevel = level ?? chooseZipLevel(textBytes);
  const list: [string, Uint8Array, ZipLevel][] = Object.entries(files).map(([name, data]) => [name, data, name.endsWith('.png') ? 0 : textLevel]);
  if (report) list.push(['report.json', new TextEncoder().encode(JSON.stringify(report, null, 2)), 6]);
  return zipFiles(list);
}
