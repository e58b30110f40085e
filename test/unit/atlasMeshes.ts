/** Meshes for the atlas tests and bench: marching cubes of analytic distance fields, as the fusion stage makes them. */
import { marchingCubesCpu, type CpuVolume } from '../../src/stages/fusion/cpuReference';
import type { Mesh } from '../../src/core/mesh';

function meshOfField(dims: [number, number, number], origin: [number, number, number], voxel: number, sdf: (x: number, y: number, z: number) => number, noise = 0, seed = 1): Mesh {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const truncation = 4 * voxel;
  const vol: CpuVolume = { tsdf: new Float32Array(n), weight: new Float32Array(n).fill(1), color: new Uint32Array(n) };
  let state = seed >>> 0;
  const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const d = sdf(origin[0] + x * voxel, origin[1] + y * voxel, origin[2] + z * voxel) + (noise ? noise * voxel * (random() + random()) : 0);
    vol.tsdf[x + nx * (y + ny * z)] = Math.max(-1, Math.min(1, d / truncation));
  }
  return marchingCubesCpu({ dims, origin, voxelSize: voxel, truncation }, vol);
}

/** Sphere of radius 0.35 at (0.5, 0.5, 0.5), from a 40^3 grid (~7k faces). */
export function sphereMesh(): Mesh {
  return meshOfField([40, 40, 40], [0, 0, 0], 1 / 39, (x, y, z) => Math.hypot(x - 0.5, y - 0.5, z - 0.5) - 0.35);
}

const box = (x: number, y: number, z: number, c: number[], h: number[]) => {
  const q = [Math.abs(x - c[0]) - h[0], Math.abs(y - c[1]) - h[1], Math.abs(z - c[2]) - h[2]];
  return Math.hypot(Math.max(q[0], 0), Math.max(q[1], 0), Math.max(q[2], 0)) + Math.min(Math.max(q[0], q[1], q[2]), 0);
};

/**
 * A fountain-like facade, 4 x 3 units: a relief wall with two pilasters, a hollow basin in front of it and a round
 * ornament, with noise in the distance field like a fused mesh's. `voxel` sets the face count (0.0125: ~300k faces).
 */
export function facadeMesh(voxel: number, noise = 0.6): Mesh {
  const origin: [number, number, number] = [0, 0, -0.35];
  const dims: [number, number, number] = [Math.round(4 / voxel) + 1, Math.round(3 / voxel) + 1, Math.round(1.3 / voxel) + 1];
  const sdf = (x: number, y: number, z: number) => {
    const relief = 0.04 * Math.sin(3 * x) * Math.cos(4 * y) + 0.015 * Math.sin(17 * x + 3 * y) + 0.008 * Math.cos(29 * y - 11 * x);
    const wall = z - relief;
    const pilasters = Math.min(box(x, y, z, [0.9, 1.5, 0], [0.15, 1.6, 0.12]), box(x, y, z, [3.1, 1.5, 0], [0.15, 1.6, 0.12]));
    const basinOuter = box(x, y, z, [2, 0.35, 0.45], [1.1, 0.35, 0.4]);
    const basin = Math.max(basinOuter, -box(x, y, z, [2, 0.6, 0.45], [1.0, 0.35, 0.3]));
    const ornament = Math.hypot(x - 2, y - 1.9, z - 0.05) - 0.35;
    return Math.min(wall, pilasters, basin, ornament);
  };
  return meshOfField(dims, origin, voxel, sdf, noise);
}
