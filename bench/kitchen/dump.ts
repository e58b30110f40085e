// 7-Scenes redkitchen as raw arrays for bench/kitchen/calib.py: tmp/s7/grey.f32, depth.u16, poses.json.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { decode } from 'fast-png';
const dir = '../shared/datasets/7scenes-redkitchen-rgbd';
const frames = readdirSync(dir).filter((f) => f.endsWith('.color.png')).map((f) => f.split('.')[0]).sort();
const grey = new Float32Array(frames.length * 480 * 640);
const depth = new Uint16Array(frames.length * 480 * 640);
const poses: number[] = [];
frames.forEach((f, k) => {
  const c = decode(readFileSync(`${dir}/${f}.color.png`));
  const ch = c.channels;
  for (let i = 0; i < 480 * 640; i++) grey[k * 307200 + i] = 0.299 * c.data[i * ch] + 0.587 * c.data[i * ch + 1] + 0.114 * c.data[i * ch + 2];
  const d = decode(readFileSync(`${dir}/${f}.depth.png`));
  if (d.depth !== 16 || d.channels !== 1) throw new Error('depth format ' + d.depth + ' ' + d.channels);
  depth.set(d.data as Uint16Array, k * 307200);
  poses.push(...readFileSync(`${dir}/${f}.pose.txt`, 'utf8').trim().split(/\s+/).map(Number));
});
writeFileSync('tmp/s7/grey.f32', Buffer.from(grey.buffer));
writeFileSync('tmp/s7/depth.u16', Buffer.from(depth.buffer));
writeFileSync('tmp/s7/poses.json', JSON.stringify({ frames, poses }));
console.log(frames.length, frames[0], frames.at(-1));
