/**
 * Camera scoring: a similarity (scale, rotation, translation) aligning estimated camera centres to the true ones
 * (Horn's closed form), then rotation error and centre error per camera; the alignment-free relative-rotation error
 * over every pair; focal error. Centre errors are fractions of the scene extent (the diagonal of the true camera
 * centres' bounding box, or of the GT mesh when one is given).
 */
import { cameraCentre, quaternionToRotation, rotationAngleDeg, type Pose } from '../core/camera';
import { symmetricEigen } from './linalg';

export interface CameraPair {
  name: string;
  /** null when the estimate did not register this view. */
  estimated: { K: number[]; camFromWorld: Pose } | null;
  truth: { K: number[]; camFromWorld: Pose };
}

export interface Similarity {
  scale: number;
  /** Row-major 3x3. */
  rotation: number[];
  translation: number[];
}

/** Best s, R, t with truth ≈ s R est + t (Horn 1987, unit quaternions). */
export function alignSimilarity(est: number[][], truth: number[][]): Similarity {
  const n = est.length;
  const mean = (pts: number[][]) => [0, 1, 2].map((k) => pts.reduce((s, p) => s + p[k], 0) / n);
  const me = mean(est), mt = mean(truth);
  const a = est.map((p) => p.map((x, k) => x - me[k])), b = truth.map((p) => p.map((x, k) => x - mt[k]));
  const S = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) S[r * 3 + c] += a[i][r] * b[i][c];
  const [Sxx, Sxy, Sxz, Syx, Syy, Syz, Szx, Szy, Szz] = S;
  const N = [
    Sxx + Syy + Szz, Syz - Szy, Szx - Sxz, Sxy - Syx,
    Syz - Szy, Sxx - Syy - Szz, Sxy + Syx, Szx + Sxz,
    Szx - Sxz, Sxy + Syx, -Sxx + Syy - Szz, Syz + Szy,
    Sxy - Syx, Szx + Sxz, Syz + Szy, -Sxx - Syy + Szz,
  ];
  const { values, vectors } = symmetricEigen(N, 4);
  const best = values.indexOf(Math.max(...values));
  const q = [0, 1, 2, 3].map((k) => vectors[k * 4 + best]);
  const R = quaternionToRotation(q);
  const ra = a.map((p) => [0, 1, 2].map((r) => R[r * 3] * p[0] + R[r * 3 + 1] * p[1] + R[r * 3 + 2] * p[2]));
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) {
    num += b[i][k] * ra[i][k];
    den += a[i][k] * a[i][k];
  }
  const scale = den > 0 ? num / den : 1;
  const rme = [0, 1, 2].map((r) => R[r * 3] * me[0] + R[r * 3 + 1] * me[1] + R[r * 3 + 2] * me[2]);
  return { scale, rotation: R, translation: [0, 1, 2].map((k) => mt[k] - scale * rme[k]) };
}

export interface CameraScore {
  registered: number;
  total: number;
  rotationErrorDeg: { median: number; max: number };
  centreErrorRel: { median: number; max: number };
  relativeRotationErrorDeg: { median: number; max: number };
  focalErrorRel: { median: number; max: number };
  extent: number;
  perCamera: { name: string; rotationErrorDeg: number; centreErrorRel: number; focalErrorRel: number }[];
}

const median = (a: number[]) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stats = (a: number[]) => ({ median: median(a), max: a.length ? Math.max(...a) : NaN });
const rot = (p: Pose) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
const mul3 = (a: number[], b: number[]) => Array.from({ length: 9 }, (_, i) => a[Math.floor(i / 3) * 3] * b[i % 3] + a[Math.floor(i / 3) * 3 + 1] * b[3 + (i % 3)] + a[Math.floor(i / 3) * 3 + 2] * b[6 + (i % 3)]);
const transpose3 = (a: number[]) => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];

export function scoreCameras(pairs: CameraPair[], extent?: number): CameraScore {
  const reg = pairs.filter((p) => p.estimated);
  const truthCentres = pairs.map((p) => cameraCentre(p.truth.camFromWorld));
  const lo = [0, 1, 2].map((k) => Math.min(...truthCentres.map((c) => c[k]))), hi = [0, 1, 2].map((k) => Math.max(...truthCentres.map((c) => c[k])));
  const sceneExtent = extent ?? Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  const perCamera: CameraScore['perCamera'] = [];
  if (reg.length >= 3) {
    const sim = alignSimilarity(reg.map((p) => cameraCentre(p.estimated!.camFromWorld)), reg.map((p) => cameraCentre(p.truth.camFromWorld)));
    for (const p of reg) {
      const c = cameraCentre(p.estimated!.camFromWorld);
      const aligned = [0, 1, 2].map((r) => sim.scale * (sim.rotation[r * 3] * c[0] + sim.rotation[r * 3 + 1] * c[1] + sim.rotation[r * 3 + 2] * c[2]) + sim.translation[r]);
      const t = cameraCentre(p.truth.camFromWorld);
      // camFromWorld in the true frame: R_est * R_sim^T.
      const rAligned = mul3(rot(p.estimated!.camFromWorld), transpose3(sim.rotation));
      perCamera.push({
        name: p.name,
        rotationErrorDeg: rotationAngleDeg(rAligned, rot(p.truth.camFromWorld)),
        centreErrorRel: Math.hypot(aligned[0] - t[0], aligned[1] - t[1], aligned[2] - t[2]) / sceneExtent,
        focalErrorRel: Math.abs(p.estimated!.K[0] - p.truth.K[0]) / p.truth.K[0],
      });
    }
  }
  const relative: number[] = [];
  for (let i = 0; i < reg.length; i++) for (let j = i + 1; j < reg.length; j++) {
    const relEst = mul3(rot(reg[j].estimated!.camFromWorld), transpose3(rot(reg[i].estimated!.camFromWorld)));
    const relTrue = mul3(rot(reg[j].truth.camFromWorld), transpose3(rot(reg[i].truth.camFromWorld)));
    relative.push(rotationAngleDeg(relEst, relTrue));
  }
  return {
    registered: reg.length,
    total: pairs.length,
    rotationErrorDeg: stats(perCamera.map((c) => c.rotationErrorDeg)),
    centreErrorRel: stats(perCamera.map((c) => c.centreErrorRel)),
    relativeRotationErrorDeg: stats(relative),
    focalErrorRel: stats(perCamera.map((c) => c.focalErrorRel)),
    extent: sceneExtent,
    perCamera,
  };
}
