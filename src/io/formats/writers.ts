/** Writers for camera formats (the synthesizer, and exports of cameras found by structure from motion). */
import { invertPose, rotationToQuaternion } from '../../core/camera';

export interface CameraToWrite {
  /** Image path as the camera file should name it (e.g. "view_000.png" or "images/view_000.png"). */
  image: string;
  K: number[];
  width: number;
  height: number;
  camFromWorld: number[];
}

/** COLMAP text: one PINHOLE camera per distinct intrinsics; pixel centres shifted to COLMAP's +0.5. */
export function writeColmapText(cameras: CameraToWrite[]): { camerasTxt: string; imagesTxt: string } {
  const ids = new Map<string, number>();
  let camerasTxt = '# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n';
  let imagesTxt = '# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n';
  cameras.forEach((c, i) => {
    const params = [c.K[0], c.K[4], c.K[2] + 0.5, c.K[5] + 0.5];
    const key = `${c.width} ${c.height} ${params.join(' ')}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size + 1;
      ids.set(key, id);
      camerasTxt += `${id} PINHOLE ${key}\n`;
    }
    const p = c.camFromWorld;
    const q = rotationToQuaternion([p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]]);
    imagesTxt += `${i + 1} ${q.join(' ')} ${p[3]} ${p[7]} ${p[11]} ${id} ${c.image}\n\n`;
  });
  return { camerasTxt, imagesTxt };
}

/** nerfstudio-style transforms.json (OpenGL camera-to-world, per-frame intrinsics when they differ). */
export function writeTransformsJson(cameras: CameraToWrite[]): string {
  const first = cameras[0];
  const shared = cameras.every((c) => c.width === first.width && c.height === first.height && c.K.every((v, i) => v === first.K[i]));
  const intr = (c: CameraToWrite) => ({ fl_x: c.K[0], fl_y: c.K[4], cx: c.K[2] + 0.5, cy: c.K[5] + 0.5, w: c.width, h: c.height });
  const frames = cameras.map((c) => {
    const w = invertPose(c.camFromWorld);
    // OpenCV -> OpenGL camera axes: flip y and z columns.
    const m = [
      [w[0], -w[1], -w[2], w[3]],
      [w[4], -w[5], -w[6], w[7]],
      [w[8], -w[9], -w[10], w[11]],
      [0, 0, 0, 1],
    ];
    return { file_path: c.image, transform_matrix: m, ...(shared ? {} : intr(c)) };
  });
  return JSON.stringify({ ...(shared ? intr(first) : {}), camera_model: 'OPENCV', frames }, null, 2);
}
