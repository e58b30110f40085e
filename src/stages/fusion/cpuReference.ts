/**
 * CPU references of the fusion kernels (integration and marching cubes), written for clarity: the browser tests
 * compare the WGSL kernels against them on small volumes.
 */
import { withSilhouetteDistance } from './silhouette';
import { FREE_SPACE_WEIGHT, type FusionViewData, type VolumeSpec } from './types';
import { EDGE_AXIS, EDGE_OWNER, MAX_TRIANGLES_PER_CUBE, marchingCubesTable } from './mcTable';

export interface CpuVolume {
  tsdf: Float32Array;
  weight: Float32Array;
  color: Uint32Array;
}

export function integrateCpu(spec: VolumeSpec, views: FusionViewData[], volume?: CpuVolume, hullFill = false): CpuVolume {
  const depths = views.map((v) => withSilhouetteDistance(v.depth, v.width, v.height));
  const [nx, ny, nz] = spec.dims;
  const n = nx * ny * nz;
  const vol = volume ?? { tsdf: new Float32Array(n).fill(1), weight: new Float32Array(n), color: new Uint32Array(n) };
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const i = x + nx * (y + ny * z);
    const wx = spec.origin[0] + x * spec.voxelSize, wy = spec.origin[1] + y * spec.voxelSize, wz = spec.origin[2] + z * spec.voxelSize;
    let hull = Math.max(0, -vol.weight[i]);
    if (vol.weight[i] < 0) vol.weight[i] = 0;
    for (let k = 0; k < views.length; k++) {
      const view = views[k];
      const p = view.camFromWorld;
      const cx = p[0] * wx + p[1] * wy + p[2] * wz + p[3];
      const cy = p[4] * wx + p[5] * wy + p[6] * wz + p[7];
      const cz = p[8] * wx + p[9] * wy + p[10] * wz + p[11];
      if (cz <= 1e-6) continue;
      const u = Math.round((view.fx * cx) / cz + view.cx), v = Math.round((view.fy * cy) / cz + view.cy);
      if (u < 0 || v < 0 || u >= view.width || v >= view.height) continue;
      const d = depths[k][v * view.width + u];
      let sdf: number;
      // Background (mask): free space, as far from the surface as the silhouette is (silhouette.ts), at most truncation.
      if (d < 0) sdf = Math.min(spec.truncation, (-d * cz) / view.fx);
      else if (d === 0) {
        hull++;
        continue;
      } else sdf = d - cz;
      if (sdf < -spec.truncation) {
        hull++;
        continue;
      }
      const t = Math.min(1, sdf / spec.truncation);
      const w = vol.weight[i];
      // FREE_SPACE_RULE (types.ts)
      const vote = d > 0 && sdf > spec.truncation ? FREE_SPACE_WEIGHT : 1;
      vol.tsdf[i] = (vol.tsdf[i] * w + t * vote) / (w + vote);
      if (d > 0 && sdf < spec.truncation) {
        const c = view.color[v * view.width + u];
        const old = vol.color[i];
        let packed = 0;
        for (let k = 0; k < 3; k++) {
          const a = (old >> (8 * k)) & 255, b = (c >> (8 * k)) & 255;
          const wc = (old >>> 24) & 255;
          packed |= Math.floor((a * wc + b) / (wc + 1) + 0.5) << (8 * k);
        }
        const wc = Math.min(255, ((old >>> 24) & 255) + 1);
        vol.color[i] = (packed | (wc << 24)) >>> 0;
      }
      vol.weight[i] = w + vote;
    }
    if (hullFill && vol.weight[i] <= 0) vol.weight[i] = -hull;
  }
  return vol;
}

/** fusion_hull.wgsl on the CPU: carved points next to interior ones (26-neighbourhood) get +0.5, interior points -0.5 (weight 0.01). */
export function fillHullCpu(spec: VolumeSpec, vol: CpuVolume, minVotes: number): void {
  const [nx, ny, nz] = spec.dims;
  const interior = (x: number, y: number, z: number) =>
    x >= 0 && y >= 0 && z >= 0 && x < nx && y < ny && z < nz && vol.weight[x + nx * (y + ny * z)] <= -minVotes;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const i = x + nx * (y + ny * z);
    if (vol.weight[i] <= 0 || vol.tsdf[i] < SATURATED) continue;
    let near = false;
    for (let dz = -1; dz <= 1 && !near; dz++) for (let dy = -1; dy <= 1 && !near; dy++) for (let dx = -1; dx <= 1 && !near; dx++) near = interior(x + dx, y + dy, z + dz);
    if (near) vol.tsdf[i] = 0.5;
  }
  for (let i = 0; i < vol.weight.length; i++) {
    if (vol.weight[i] <= -minVotes) {
      vol.tsdf[i] = -0.5;
      vol.weight[i] = 0.01;
    } else if (vol.weight[i] < 0) vol.weight[i] = 0;
  }
}

export interface CpuMesh {
  positions: Float32Array;
  indices: Uint32Array;
}

/** Same rules as the WGSL: an edge has a vertex when both ends are observed, unsaturated and differ in sign. */
export function marchingCubesCpu(spec: VolumeSpec, vol: CpuVolume): CpuMesh {
  const [nx, ny, nz] = spec.dims;
  const table = marchingCubesTable();
  const idx = (x: number, y: number, z: number) => x + nx * (y + ny * z);
  const valid = (i: number) => vol.weight[i] > 0 && Math.abs(vol.tsdf[i]) < SATURATED;
  const vertexOf = new Map<number, number>();
  const positions: number[] = [];
  const step = [1, nx, nx * ny];
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const i = idx(x, y, z);
    const c = [x, y, z];
    for (let axis = 0; axis < 3; axis++) {
      if (c[axis] + 1 >= spec.dims[axis]) continue;
      const j = i + step[axis];
      if (!valid(i) || !valid(j) || (vol.tsdf[i] < 0) === (vol.tsdf[j] < 0)) continue;
      const t = vol.tsdf[i] / (vol.tsdf[i] - vol.tsdf[j]);
      const p = [x, y, z];
      p[axis] += t;
      vertexOf.set(i * 3 + axis, positions.length / 3);
      positions.push(spec.origin[0] + p[0] * spec.voxelSize, spec.origin[1] + p[1] * spec.voxelSize, spec.origin[2] + p[2] * spec.voxelSize);
    }
  }
  const indices: number[] = [];
  for (let z = 0; z + 1 < nz; z++) for (let y = 0; y + 1 < ny; y++) for (let x = 0; x + 1 < nx; x++) {
    let config = 0;
    let observed = true;
    for (let k = 0; k < 8; k++) {
      const i = idx(x + (k & 1), y + ((k >> 1) & 1), z + ((k >> 2) & 1));
      if (vol.weight[i] <= 0) observed = false;
      if (vol.tsdf[i] < 0) config |= 1 << k;
    }
    if (!observed || table.triangleCount[config] === 0) continue;
    const tri: number[] = [];
    let ok = true;
    for (let k = 0; k < 3 * table.triangleCount[config]; k++) {
      const e = table.triangles[config * 3 * MAX_TRIANGLES_PER_CUBE + k];
      const o = EDGE_OWNER[e];
      const vi = vertexOf.get(idx(x + o[0], y + o[1], z + o[2]) * 3 + EDGE_AXIS[e]);
      if (vi === undefined) {
        ok = false;
        break;
      }
      tri.push(vi);
    }
    if (ok) indices.push(...tri);
  }
  return { positions: new Float32Array(positions), indices: new Uint32Array(indices) };
}

/** |tsdf| at or above this is truncated (free space or far behind): no surface crossing there. */
export const SATURATED = 0.999;
