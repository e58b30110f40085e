/**
 * Camera math. Conventions (docs/architecture.md):
 * - `camFromWorld`: 3x4 [R | t] row-major (12 numbers), OpenCV axes: x right, y down, z forward (into the scene).
 * - `K`: 3x3 row-major (9 numbers) mapping camera coordinates to pixels, with the centre of the top-left pixel at
 *   (0, 0). Formats that put it at (0.5, 0.5) (COLMAP, nerfstudio) are shifted on read.
 */
export type Mat3 = number[];
export type Pose = number[];

export interface Distortion {
  /** 'radial': k1, k2 (COLMAP SIMPLE_RADIAL / RADIAL); 'opencv': k1, k2, p1, p2. */
  model: 'radial' | 'opencv';
  k1: number;
  k2: number;
  p1?: number;
  p2?: number;
}

export function identityPose(): Pose {
  return [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
}

export function makeK(fx: number, fy: number, cx: number, cy: number): Mat3 {
  return [fx, 0, cx, 0, fy, cy, 0, 0, 1];
}

/** Pose from a 4x4 (or 3x4) row-major matrix given as rows. */
export function poseFromRows(rows: number[][]): Pose {
  return [...rows[0].slice(0, 4), ...rows[1].slice(0, 4), ...rows[2].slice(0, 4)];
}

export function poseToRows(pose: Pose): number[][] {
  return [pose.slice(0, 4), pose.slice(4, 8), pose.slice(8, 12)];
}

export function mat3ToRows(m: Mat3): number[][] {
  return [m.slice(0, 3), m.slice(3, 6), m.slice(6, 9)];
}

/** Inverse of a rigid [R|t]: [R^T | -R^T t]. */
export function invertPose(p: Pose): Pose {
  const r = [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
  const t = [p[3], p[7], p[11]];
  const out: Pose = new Array(12);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i * 4 + j] = r[j * 3 + i];
    out[i * 4 + 3] = -(r[0 * 3 + i] * t[0] + r[1 * 3 + i] * t[1] + r[2 * 3 + i] * t[2]);
  }
  return out;
}

/** a ∘ b: apply b, then a. */
export function composePoses(a: Pose, b: Pose): Pose {
  const out: Pose = new Array(12);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      let s = j === 3 ? a[i * 4 + 3] : 0;
      for (let k = 0; k < 3; k++) s += a[i * 4 + k] * b[k * 4 + j];
      out[i * 4 + j] = s;
    }
  }
  return out;
}

export function transformPoint(p: Pose, x: number, y: number, z: number): [number, number, number] {
  return [
    p[0] * x + p[1] * y + p[2] * z + p[3],
    p[4] * x + p[5] * y + p[6] * z + p[7],
    p[8] * x + p[9] * y + p[10] * z + p[11],
  ];
}

/** Pixel coordinates and depth of a world point; depth <= 0 means behind the camera. */
export function projectPoint(K: Mat3, camFromWorld: Pose, x: number, y: number, z: number): { u: number; v: number; depth: number } {
  const [cx, cy, cz] = transformPoint(camFromWorld, x, y, z);
  return { u: (K[0] * cx + K[1] * cy) / cz + K[2], v: (K[4] * cy) / cz + K[5], depth: cz };
}

/** World point seen at pixel (u, v) with depth `depth` along the optical axis. */
export function unprojectPixel(K: Mat3, camFromWorld: Pose, u: number, v: number, depth: number): [number, number, number] {
  const y = ((v - K[5]) / K[4]) * depth;
  const x = ((u - K[2] - K[1] * (y / depth)) / K[0]) * depth;
  return transformPoint(invertPose(camFromWorld), x, y, depth);
}

export function cameraCentre(camFromWorld: Pose): [number, number, number] {
  const w = invertPose(camFromWorld);
  return [w[3], w[7], w[11]];
}

/** Unit viewing direction (camera +z) in world coordinates. */
export function viewDirection(camFromWorld: Pose): [number, number, number] {
  return [camFromWorld[8], camFromWorld[9], camFromWorld[10]];
}

/** Is R (of a pose) a rotation: orthonormal with determinant +1, within `tol`? */
export function isRotation(p: Pose, tol = 1e-3): boolean {
  const r = [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const dot = r[i * 3] * r[j * 3] + r[i * 3 + 1] * r[j * 3 + 1] + r[i * 3 + 2] * r[j * 3 + 2];
      if (Math.abs(dot - (i === j ? 1 : 0)) > tol) return false;
    }
  }
  const det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6]);
  return Math.abs(det - 1) < tol;
}

/** Rotation matrix (row-major 3x3) to unit quaternion [w, x, y, z]. */
export function rotationToQuaternion(r: number[]): [number, number, number, number] {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = r;
  const trace = m00 + m11 + m22;
  let w: number, x: number, y: number, z: number;
  if (trace > 0) {
    const s = 0.5 / Math.sqrt(trace + 1);
    w = 0.25 / s; x = (m21 - m12) * s; y = (m02 - m20) * s; z = (m10 - m01) * s;
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    w = (m21 - m12) / s; x = 0.25 * s; y = (m01 + m10) / s; z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    w = (m02 - m20) / s; x = (m01 + m10) / s; y = 0.25 * s; z = (m12 + m21) / s;
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    w = (m10 - m01) / s; x = (m02 + m20) / s; y = (m12 + m21) / s; z = 0.25 * s;
  }
  const n = Math.hypot(w, x, y, z) * (w < 0 ? -1 : 1);
  return [w / n, x / n, y / n, z / n];
}

/** Unit quaternion [w, x, y, z] to a row-major 3x3 rotation. */
export function quaternionToRotation(q: number[]): number[] {
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  const [w, x, y, z] = q.map((v) => v / n);
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/**
 * Angle in degrees between two rotations (of poses or 3x3 matrices): the angle of Ra^T Rb through its normalised
 * quaternion, so slightly non-orthonormal inputs (7-Scenes poses have row norms of 0.99993) still give 0 for equal ones.
 */
export function rotationAngleDeg(a: number[], b: number[]): number {
  const ra = a.length === 12 ? [a[0], a[1], a[2], a[4], a[5], a[6], a[8], a[9], a[10]] : a;
  const rb = b.length === 12 ? [b[0], b[1], b[2], b[4], b[5], b[6], b[8], b[9], b[10]] : b;
  const m = new Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) m[i * 3 + j] = ra[i] * rb[j] + ra[3 + i] * rb[3 + j] + ra[6 + i] * rb[6 + j];
  const q = rotationToQuaternion(m);
  const sinHalf = Math.hypot(q[1], q[2], q[3]);
  return (2 * Math.atan2(sinHalf, Math.abs(q[0])) * 180) / Math.PI;
}

/** Scales K for an image resized by (sx, sy), keeping the pixel-centre convention. */
export function scaleK(K: Mat3, sx: number, sy: number): Mat3 {
  return [K[0] * sx, K[1] * sx, (K[2] + 0.5) * sx - 0.5, 0, K[4] * sy, (K[5] + 0.5) * sy - 0.5, 0, 0, 1];
}

/** camFromWorld of a camera at `eye` looking at `target`, with `up` (world) appearing upwards in the image. */
export function lookAt(eye: number[], target: number[], up: number[] = [0, 1, 0]): Pose {
  const f = normalize3([target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]]);
  let x = cross3(f, up);
  if (Math.hypot(...x) < 1e-9) x = cross3(f, Math.abs(f[0]) < 0.9 ? [1, 0, 0] : [0, 0, 1]);
  x = normalize3(x);
  const y = cross3(f, x);
  const rows = [x, y, f];
  return rows.flatMap((r) => [r[0], r[1], r[2], -(r[0] * eye[0] + r[1] * eye[1] + r[2] * eye[2])]);
}

export function cross3(a: number[], b: number[]): number[] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function normalize3(a: number[]): number[] {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** The point closest to every optical axis (least squares): where an object capture's cameras look. */
export function convergencePoint(poses: number[][]): number[] {
  const A = [0, 0, 0, 0, 0, 0, 0, 0, 0], b = [0, 0, 0];
  for (const pose of poses) {
    const c = cameraCentre(pose), d = viewDirection(pose);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const m = (i === j ? 1 : 0) - d[i] * d[j];
      A[i * 3 + j] += m;
      b[i] += m * c[j];
    }
  }
  const det = (m: number[]) => m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const D = det(A);
  if (Math.abs(D) < 1e-12) return [0, 1, 2].map((k) => poses.reduce((s, p) => s + cameraCentre(p)[k] + viewDirection(p)[k], 0) / poses.length);
  return [0, 1, 2].map((k) => det(A.map((v, idx) => (idx % 3 === k ? b[Math.floor(idx / 3)] : v))) / D);
}
