/**
 * Shared by the CPU probes of 7-Scenes redkitchen (pose-proxy.test.ts, focal-probe.test.ts): the dataset's path,
 * the cache folder, and CPU SIFT (8000 features a photo) of its frames, cached as JSON (~2.5 min the first time on
 * the 2-core CPU machine).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { decode } from 'fast-png';
import { extractFeaturesCpu } from '../../src/stages/sfm/features/siftCpu';
import type { ImageFeatures } from '../../src/stages/sfm/types';

export const DATA = '../shared/datasets/7scenes-redkitchen-rgbd';
export const CACHE = '.cache/kitchen-ba';

export function loadFeatures(frames: string[]): ImageFeatures[] {
  mkdirSync(CACHE, { recursive: true });
  return frames.map((f) => {
    const file = `${CACHE}/${f}.features.json`;
    if (!existsSync(file)) {
      const png = decode(readFileSync(`${DATA}/${f}.color.png`));
      const rgba = new Uint8Array(png.width * png.height * 4);
      for (let i = 0; i < png.width * png.height; i++) {
        for (let c = 0; c < 3; c++) rgba[4 * i + c] = Number(png.data[i * png.channels + c]);
        rgba[4 * i + 3] = 255;
      }
      const ft = extractFeaturesCpu({ width: png.width, height: png.height, data: rgba }, { maxFeatures: 8000 });
      writeFileSync(file, JSON.stringify({ width: ft.width, height: ft.height, count: ft.count, keypoints: Array.from(ft.keypoints), descriptors: Buffer.from(ft.descriptors).toString('base64') }));
    }
    const j = JSON.parse(readFileSync(file, 'utf8'));
    return { width: j.width, height: j.height, count: j.count, keypoints: Float32Array.from(j.keypoints), descriptors: new Uint8Array(Buffer.from(j.descriptors, 'base64')) };
  });
}
