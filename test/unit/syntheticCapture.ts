/**
 * Small analytic captures for tests: a sphere seen from cameras on a ring, with exact depth (16-bit mm PNG),
 * photos (PNG, optionally RGBA with the mask in alpha) and COLMAP text cameras.
 */
import { invertPose, lookAt, rotationToQuaternion, type Pose } from '../../src/core/camera';
import { encodePng } from '../../src/export/png';

export interface SphereCapture {
  files: { path: string; bytes: ArrayBuffer }[];
  poses: Pose[];
  K: number[];
  width: number;
  height: number;
  radius: number;
}

const buf = (u: Uint8Array) => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

export function sphereCapture(options: { views?: number; width?: number; height?: number; radius?: number; distance?: number; rgba?: boolean; depthScale?: number } = {}): SphereCapture {
  const { views = 4, width = 80, height = 60, radius = 0.5, distance = 2, rgba = false, depthScale = 1 } = options;
  const f = width * 0.9;
  const K = [f, 0, (width - 1) / 2, 0, f, (height - 1) / 2, 0, 0, 1];
  const files: SphereCapture['files'] = [];
  const poses: Pose[] = [];
  const camerasTxt = `1 PINHOLE ${width} ${height} ${f} ${f} ${width / 2} ${height / 2}\n`;
  let imagesTxt = '';
  for (let v = 0; v < views; v++) {
    const a = (2 * Math.PI * v) / views;
    const pose = lookAt([distance * Math.cos(a), 0.3, distance * Math.sin(a)], [0, 0, 0]);
    poses.push(pose);
    const worldFromCam = invertPose(pose);
    const eye = [worldFromCam[3], worldFromCam[7], worldFromCam[11]];
    const channels = rgba ? 4 : 3;
    const rgb = new Uint8Array(width * height * channels);
    const depth = new Uint16Array((width * depthScale) * (height * depthScale));
    const dw = width * depthScale, dh = height * depthScale;
    for (let pass = 0; pass < 2; pass++) {
      const W = pass === 0 ? width : dw, H = pass === 0 ? height : dh;
      const kx = pass === 0 ? 1 : depthScale;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        // ray in camera coords for pixel (x, y) of an image scaled by kx
        const cx = ((x + 0.5) / kx - 0.5 - K[2]) / f, cy = ((y + 0.5) / kx - 0.5 - K[5]) / f;
        const dir = [0, 1, 2].map((i) => worldFromCam[i * 4] * cx + worldFromCam[i * 4 + 1] * cy + worldFromCam[i * 4 + 2]);
        const b = 2 * (dir[0] * eye[0] + dir[1] * eye[1] + dir[2] * eye[2]);
        const aa = dir[0] ** 2 + dir[1] ** 2 + dir[2] ** 2;
        const c = eye[0] ** 2 + eye[1] ** 2 + eye[2] ** 2 - radius * radius;
        const disc = b * b - 4 * aa * c;
        const t = disc >= 0 ? (-b - Math.sqrt(disc)) / (2 * aa) : -1; // depth along z since dir has z_cam = 1
        if (pass === 0) {
          const o = (y * W + x) * channels;
          if (t > 0) {
            const p = eye.map((e, i) => e + t * dir[i]);
            rgb[o] = 128 + 100 * Math.sin(8 * p[0]); rgb[o + 1] = 128 + 100 * Math.cos(8 * p[1]); rgb[o + 2] = 128 + 60 * Math.sin(5 * p[2]);
            if (rgba) rgb[o + 3] = 255;
          } else {
            rgb[o] = 30; rgb[o + 1] = 30; rgb[o + 2] = 40;
            if (rgba) rgb[o + 3] = 0;
          }
        } else {
          depth[y * W + x] = t > 0 ? Math.round(t * 1000) : 0;
        }
      }
    }
    const name = `view_${String(v).padStart(3, '0')}`;
    files.push({ path: `capture/images/${name}.png`, bytes: buf(encodePng({ width, height, data: rgb, channels })) });
    files.push({ path: `capture/depth/${name}.png`, bytes: buf(encodePng({ width: dw, height: dh, data: depth, channels: 1 })) });
    const r = [pose[0], pose[1], pose[2], pose[4], pose[5], pose[6], pose[8], pose[9], pose[10]];
    imagesTxt += `${v + 1} ${rotationToQuaternion(r).join(' ')} ${pose[3]} ${pose[7]} ${pose[11]} 1 ${name}.png\n\n`;
  }
  files.push({ path: 'capture/cameras.txt', bytes: buf(new TextEncoder().encode(camerasTxt)) });
  files.push({ path: 'capture/images.txt', bytes: buf(new TextEncoder().encode(imagesTxt)) });
  return { files, poses, K, width, height, radius };
}
