/**
 * Checks of the refinement (src/stages/refine/) run in the worker on the shared device (browser tests call them
 * through `kernelCheck`):
 * - gradients: the GPU backward kernels against central finite differences of the float64 CPU forward
 *   (cpuReference.ts) on a tiny bent grid seen by two cameras, for texels, vertex positions, gains, the light,
 *   the silhouette term and the Laplacian;
 * - fit: a known texture is recovered from views rendered of it by the render stage (MeshRenderer), starting grey;
 * - geometry: the default settings pull a sphere whose vertices were pushed in and out (bumps like those fusion leaves)
 *   back toward the sphere the views were rendered of, texture known (optionally beside the settings before session 15);
 * - vram: feedforward then refine through the job runner; what each model holds when it ends, and what is left;
 * - keep: REFINE_KEEP_RULE's score (photometricPsnr) ranks the feed-forward mesh of a sphere capture above the same
 *   mesh grown by a few percent, with the masks and without them, and keepBetter gives the input back (with a warning)
 *   when the "refined" mesh is the grown one.
 */
import { texturedRenderable } from '../stages/render/texturedRenderable';
import type { CaptureSet, CaptureView } from '../core/capture';
import type { ProgressEvent } from '../core/progress';
import { lookAt } from '../core/camera';
import type { TexturedMesh } from '../core/mesh';
import type { GpuContext } from '../gpu/device';
import { readBuffer } from '../gpu/readback';
import { seededRandom } from '../ml/onnxBuilder';
import type { JobInput, JobOutput } from '../pipeline/jobTypes';
import { runModels } from '../pipeline/runner';
import { MODEL_REGISTRY } from '../models/registry';
import type { StageContext } from '../stages/context';
import { cpuLaplacian, cpuLoss, type CpuProblem } from '../stages/refine/cpuReference';
import { decodeFixed, RefineProblem, weldMesh, type RefineView } from '../stages/refine/problem';
import { DEFAULT_REFINE_OPTIONS, refineMesh, type RefineOptions } from '../stages/refine/refineMesh';
import { MeshRenderer } from '../stages/render/renderMesh';
import { keepBetter, photometricPsnr } from '../models/refine';
import { buildAtlas } from '../stages/texture/atlas';
import { analyticViews } from './kernelChecks';

export type RefineCheckSpec =
  | { kind: 'refine-gradients'; size: number; texSize: number; positionStep?: number; occluder?: boolean }
  | { kind: 'refine-fit'; views: number; size: number; texSize: number; iterations: number; texPyramid?: number }
  | { kind: 'refine-geometry'; views: number; size: number; texSize: number; iterations: number; noise: number; pattern?: 'random' | 'smooth'; settings?: Partial<RefineOptions>; compare?: boolean }
  | { kind: 'refine-vram'; views: number; size: number; iterations: number }
  | { kind: 'refine-keep'; views: number; size: number; grow: number };

export async function runRefineCheck(ctx: StageContext, spec: RefineCheckSpec): Promise<Record<string, unknown>> {
  const errorsBefore = ctx.gpu.uncapturedErrorCount();
  const result = spec.kind === 'refine-gradients' ? await checkGradients(ctx, spec.size, spec.texSize, spec.positionStep ?? 1e-6, spec.occluder ?? false)
    : spec.kind === 'refine-fit' ? await checkFit(ctx, spec.views, spec.size, spec.texSize, spec.iterations, spec.texPyramid)
    : spec.kind === 'refine-keep' ? await checkKeep(ctx, spec.views, spec.size, spec.grow)
    : spec.kind === 'refine-geometry' ? await checkGeometry(ctx, spec.views, spec.size, spec.texSize, spec.iterations, spec.noise, spec.pattern ?? 'smooth', spec.settings, spec.compare ?? false)
    : await checkVram(ctx.gpu, spec.views, spec.size, spec.iterations);
  await ctx.gpu.device.queue.onSubmittedWorkDone();
  return { ...result, uncapturedErrors: ctx.gpu.uncapturedErrorsSince(errorsBefore) };
}

/** A 4x4-vertex grid over [-0.5, 0.5]^2, bent in z, uv = (x + 0.5, y + 0.5) (with a seam: the middle column split). */
function bentGrid(texSize: number, rand: () => number): TexturedMesh {
  const n = 4;
  const positions: number[] = [], uvs: number[] = [], indices: number[] = [];
  const id = new Map<string, number>();
  const vertex = (i: number, j: number, side: number) => {
    const key = `${i},${j},${side}`;
    let v = id.get(key);
    if (v === undefined) {
      v = positions.length / 3;
      id.set(key, v);
      const x = i / (n - 1) - 0.5, y = j / (n - 1) - 0.5;
      positions.push(x, y, 0.15 * Math.sin(3 * x) * Math.cos(2 * y) + 0.05 * x * y);
      // The seam at i = 1: vertices there exist twice, with uvs shifted, as the atlas splits them.
      uvs.push(0.1 + 0.8 * (x + 0.5) + (side ? 0.02 : 0), 0.1 + 0.8 * (y + 0.5));
    }
    return v;
  };
  for (let j = 0; j < n - 1; j++) for (let i = 0; i < n - 1; i++) {
    const side = i >= 1 ? 1 : 0;
    const a = vertex(i, j, side), b = vertex(i + 1, j, side), c = vertex(i + 1, j + 1, side), d = vertex(i, j + 1, side);
    indices.push(a, b, c, a, c, d);
  }
  const data = new Uint8Array(texSize * texSize * 4);
  for (let i = 0; i < texSize * texSize; i++) data.set([40 + rand() * 170, 40 + rand() * 170, 40 + rand() * 170, 255], 4 * i);
  return { positions: Float32Array.from(positions), indices: Uint32Array.from(indices), uvs: Float32Array.from(uvs), texture: { width: texSize, height: texSize, data } };
}

/** A square patch of two triangles in front of the bent grid (z 0.45, toward both eyes), with its own corner of the
 * atlas: its edges are occlusion edges over the grid. */
function withOccluder(mesh: TexturedMesh): TexturedMesh {
  const base = mesh.positions.length / 3;
  const corners = [[-0.2, -0.1], [0.15, -0.1], [0.15, 0.22], [-0.2, 0.22]];
  const positions = [...mesh.positions, ...corners.flatMap(([x, y]) => [x, y, 0.45])];
  const uvs = [...mesh.uvs, 0.01, 0.01, 0.08, 0.01, 0.08, 0.08, 0.01, 0.08];
  const indices = [...mesh.indices, base, base + 1, base + 2, base, base + 2, base + 3];
  return { ...mesh, positions: Float32Array.from(positions), uvs: Float32Array.from(uvs), indices: Uint32Array.from(indices) };
}

/** Reads a batch-slot texture array (r32uint: 1 word per texel, rgba32float: 4) into one array per slot. */
async function readLayers(ctx: StageContext, texture: GPUTexture, width: number, height: number, slots: number, words: 1 | 4): Promise<ArrayBuffer[]> {
  const { device } = ctx.gpu;
  const bytesPerRow = Math.ceil((width * 4 * words) / 256) * 256;
  const buffer = ctx.scope.createBuffer({ label: 'check:layers', size: bytesPerRow * height * slots, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  try {
    const enc = device.createCommandEncoder();
    enc.copyTextureToBuffer({ texture }, { buffer, bytesPerRow, rowsPerImage: height }, [width, height, slots]);
    device.queue.submit([enc.finish()]);
    const all = new Uint8Array(await readBuffer(device, ctx.scope, buffer));
    return Array.from({ length: slots }, (_, s) => {
      const out = new Uint8Array(width * height * 4 * words);
      for (let y = 0; y < height; y++) {
        const from = s * height * bytesPerRow + y * bytesPerRow;
        out.set(all.subarray(from, from + width * 4 * words), y * width * 4 * words);
      }
      return out.buffer;
    });
  } finally {
    ctx.scope.destroy(buffer);
  }
}

async function readVisTri(ctx: StageContext, problem: RefineProblem, slots: number): Promise<Uint32Array[]> {
  return (await readLayers(ctx, problem.visTri, problem.width, problem.height, slots, 1)).map((b) => new Uint32Array(b));
}

/**
 * The rasteriser's perspective-correct barycentrics against the ray/triangle barycentrics the kernels use (float64
 * here): the render pass's projection (clipFromWorld) and the kernels' pixel rays must agree.
 */
async function baryAgreement(ctx: StageContext, problem: RefineProblem, views: RefineView[], visTri: Uint32Array[], params: Float64Array): Promise<number> {
  const bary = (await readLayers(ctx, problem.visBary, problem.width, problem.height, visTri.length, 4)).map((b) => new Float32Array(b));
  let worst = 0;
  visTri.forEach((tri, slot) => {
    const view = views[slot];
    const c = view.camFromWorld;
    const cam = (v: number) => [0, 1, 2].map((r) => c[4 * r] * params[3 * v] + c[4 * r + 1] * params[3 * v + 1] + c[4 * r + 2] * params[3 * v + 2] + c[4 * r + 3]);
    for (let y = 0; y < view.height; y++) for (let x = 0; x < view.width; x++) {
      const t = tri[y * problem.width + x];
      if (!t) continue;
      const f = problem.welded.faces.subarray(6 * (t - 1), 6 * (t - 1) + 3);
      const q = Array.from(f, cam);
      const d = [(x - view.K[2]) / view.K[0], (y - view.K[5]) / view.K[4], 1];
      const vol = (a: number[], b: number[]) => d[0] * (a[1] * b[2] - a[2] * b[1]) + d[1] * (a[2] * b[0] - a[0] * b[2]) + d[2] * (a[0] * b[1] - a[1] * b[0]);
      const w = [vol(q[1], q[2]), vol(q[2], q[0]), vol(q[0], q[1])];
      const W = w[0] + w[1] + w[2];
      const i = 4 * (y * problem.width + x);
      worst = Math.max(worst, Math.abs(bary[slot][i] - w[0] / W), Math.abs(bary[slot][i + 1] - w[1] / W));
    }
  });
  return worst;
}

interface GroupError {
  compared: number;
  maxRelError: number;
  /** The worst component: its position in the group, finite difference and analytic value. */
  worst?: [number, number, number];
  /** Largest |gradient| in the group (to show the check is not vacuous). */
  scale: number;
}

function compareGroup(analytic: number[], fd: number[]): GroupError {
  const scale = Math.max(...analytic.map(Math.abs), ...fd.map(Math.abs), 0);
  let worst = 0, compared = 0, at: [number, number, number] | undefined;
  for (let i = 0; i < fd.length; i++) {
    const floor = 1e-3 * scale;
    if (Math.abs(fd[i]) < floor && Math.abs(analytic[i]) < floor) continue;
    compared++;
    const e = Math.abs(fd[i] - analytic[i]) / Math.max(Math.abs(fd[i]), Math.abs(analytic[i]), 1e-2 * scale);
    if (e >= worst) {
      worst = e;
      at = [i, fd[i], analytic[i]];
    }
  }
  return { compared, maxRelError: worst, scale, ...(at ? { worst: at } : {}) };
}

async function checkGradients(ctx: StageContext, size: number, texSize: number, positionStep: number, occluder: boolean) {
  const { device } = ctx.gpu;
  const rand = seededRandom(7);
  const grid = bentGrid(texSize, rand);
  const mesh = occluder ? withOccluder(grid) : grid;
  const f = 1.25 * size;
  const K = [f, 0, (size - 1) / 2, 0, f, (size - 1) / 2 + 1.3, 0, 0, 1];
  const eyes = [[0.3, 0.25, 2.2], [-0.5, -0.1, 1.9]];
  const views: RefineView[] = eyes.map((eye, k) => {
    const rgba = new Uint8Array(size * size * 4);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const i = 4 * (y * size + x);
      // Random photo; the mask a disk a little smaller than the grid's image and off centre, so that the silhouette
      // term both pulls and pushes.
      const inside = Math.hypot(x - size * (0.45 + 0.1 * k), y - size * 0.5) < size * 0.3;
      rgba.set([rand() * 255, rand() * 255, rand() * 255, inside ? 255 : 0], i);
    }
    return { width: size, height: size, K, camFromWorld: lookAt(eye, [0, 0, 0]), rgba };
  });
  const problem = new RefineProblem(ctx, mesh, views, 2, 2, true, 0, DEFAULT_REFINE_OPTIONS.occlusionBlend);
  try {
    const L = problem.layout;
    const params = new Float64Array(await problem.readParams());
    // Off the initial state: gains and light not at 1 / 0, positions moved a little (the Laplacian sees offsets).
    params[L.gainOff] = 1.1;
    params[L.gainOff + 1] = 0.85;
    params.set([0.9, 0.15, -0.1, 0.25], L.lightOff);
    for (let k = 0; k < 3 * L.vertexCount; k++) params[k] += (rand() - 0.5) * 0.01;
    problem.writeParams(Float32Array.from(params));
    const batch = [0, 1];
    const run = async (silWeight: number) => {
      problem.writeSetup({ batch, step: 1, lrPos: 0, lrTex: 0, lrGain: 0, lrLight: 0, lapWeight: 0, silWeight, statsBase: 0 });
      const enc = device.createCommandEncoder();
      enc.clearBuffer(problem.grad);
      problem.encodeVisibility(enc, batch);
      problem.encodeForward(enc, batch.length);
      problem.encodeBackward(enc, batch.length, silWeight > 0);
      device.queue.submit([enc.finish()]);
      const words = new Uint32Array(await readBuffer(device, ctx.scope, problem.grad));
      const grad = Array.from({ length: L.paramCount }, (_, k) => decodeFixed(words, k));
      // Texels: their own slot plus the mip texels above them, spread evenly (what Adam does).
      for (let t = 0; t < L.texSize * L.texSize; t++) for (let c = 0; c < 3; c++) {
        const x = t % L.texSize, y = Math.floor(t / L.texSize);
        let off = 0;
        for (let level = 1; level <= L.mipLevels; level++) {
          const n = L.texSize >> level;
          grad[L.texOff + 3 * t + c] += decodeFixed(words, L.mipGradOff + off + 3 * ((y >> level) * n + (x >> level)) + c) / 4 ** level;
          off += 3 * n * n;
        }
      }
      return { grad, loss: decodeFixed(words, L.statsOff), silLoss: decodeFixed(words, L.statsOff + 2) };
    };
    const colorRun = await run(0);
    const bothRun = await run(1);
    const visTri = await readVisTri(ctx, problem, 2);
    const lapWords = new Float32Array(await readBuffer(device, ctx.scope, problem.lapGrad));
    const baryWorst = await baryAgreement(ctx, problem, views, visTri, Float64Array.from(Float32Array.from(params)));
    const cpu: CpuProblem = { layout: L, welded: problem.welded, uvs: mesh.uvs, views, visTri, batch, width: problem.width, silWeight: 1, occlusion: problem.occlusion };
    // The GPU evaluates in float32 at the float32-rounded parameters.
    const p32 = Float64Array.from(Float32Array.from(params));
    // The CPU takes the GPU's mip level per pixel: at a level boundary float32 and float64 may round differently.
    const dcolor = new Float32Array(await readBuffer(device, ctx.scope, problem.dcolor));
    cpu.levels = visTri.map((t, slot) => Int8Array.from({ length: t.length }, (_, i) => (dcolor[4 * (slot * t.length + i) + 3] > 0 ? dcolor[4 * (slot * t.length + i) + 3] - 1 : -1)));
    const cpuAt = cpuLoss(p32, cpu);
    const fd = (indices: number[], h: number, which: 'color' | 'silhouette' | 'laplacian') => indices.map((k) => {
      const plus = p32.slice(), minus = p32.slice();
      plus[k] += h;
      minus[k] -= h;
      const value = (p: Float64Array) => which === 'laplacian' ? cpuLaplacian(p, problem.welded) : cpuLoss(p, cpu)[which];
      return (value(plus) - value(minus)) / (2 * h);
    });
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    // Positions use a small step: bilinear sampling is piecewise linear in uv, and a larger step can straddle a kink.
    // Texels: the 300 with the largest gradients and every 53rd (finite differences of all would be slow).
    const byMagnitude = range(L.texOff, L.gainOff).sort((a, b) => Math.abs(colorRun.grad[b]) - Math.abs(colorRun.grad[a]));
    const texels = [...new Set([...byMagnitude.slice(0, 300), ...range(L.texOff, L.gainOff).filter((k) => k % 53 === 0)])];
    const positions = range(0, 3 * L.vertexCount), gains = range(L.gainOff, L.gainOff + 2), light = range(L.lightOff, L.lightOff + 4);
    const colorGrad = colorRun.grad, silGrad = bothRun.grad.map((g, k) => g - colorRun.grad[k]);
    const pick = (g: number[], idx: number[]) => idx.map((k) => g[k]);
    const covered = visTri.reduce((n, t) => n + t.filter((x) => x > 0).length, 0);
    return {
      coveredPixels: covered,
      rasterBaryMaxDiff: baryWorst,
      colorPixels: cpuAt.colorPixels,
      occludedPixels: cpuAt.occludedPixels,
      occludingPixels: cpuAt.occludingPixels,
      mipLevels: L.mipLevels,
      pixelsPerLevel: cpuAt.levels,
      lossGpu: colorRun.loss,
      lossCpu: cpuAt.color,
      silLossGpu: bothRun.silLoss,
      silLossCpu: cpuAt.silhouette,
      texture: compareGroup(pick(colorGrad, texels), fd(texels, 1e-3, 'color')),
      positions: compareGroup(pick(colorGrad, positions), fd(positions, positionStep, 'color')),
      gains: compareGroup(pick(colorGrad, gains), fd(gains, 1e-5, 'color')),
      light: compareGroup(pick(colorGrad, light), fd(light, 1e-5, 'color')),
      silhouette: compareGroup(pick(silGrad, positions), fd(positions, 1e-5, 'silhouette')),
      laplacian: compareGroup(Array.from(lapWords.subarray(0, 3 * L.vertexCount)), fd(positions, 1e-5, 'laplacian')),
      weldedVertices: L.vertexCount,
      meshVertices: mesh.positions.length / 3,
    };
  } finally {
    problem.dispose();
  }
}

/** A UV sphere (rings x segments) with an atlas from the texture stage. */
function sphereMesh(texSize: number): TexturedMesh & { truth: Uint8Array } {
  const rings = 10, segments = 20, positions: number[] = [], indices: number[] = [];
  for (let r = 0; r <= rings; r++) for (let s = 0; s < segments; s++) {
    const th = (Math.PI * r) / rings, ph = (2 * Math.PI * s) / segments;
    // the poles exactly on the axis (sin(pi) is not 0 in floats), so that each pole's ring welds to one vertex
    const ring = r === 0 || r === rings ? 0 : Math.sin(th);
    positions.push(0.5 * ring * Math.cos(ph), 0.5 * Math.cos(th), 0.5 * ring * Math.sin(ph));
  }
  for (let r = 0; r < rings; r++) for (let s = 0; s < segments; s++) {
    const a = r * segments + s, b = r * segments + ((s + 1) % segments), c = a + segments, d = b + segments;
    if (r > 0) indices.push(a, b, c);
    if (r < rings - 1) indices.push(b, d, c);
  }
  const atlas = buildAtlas({ positions: Float32Array.from(positions), indices: Uint32Array.from(indices) }, texSize, 2);
  const truth = new Uint8Array(texSize * texSize * 4);
  for (let y = 0; y < texSize; y++) for (let x = 0; x < texSize; x++) {
    truth.set([128 + 100 * Math.sin(x / 3), 128 + 100 * Math.cos(y / 4), 128 + 80 * Math.sin((x + y) / 5), 255].map(Math.round), 4 * (y * texSize + x));
  }
  const grey = new Uint8Array(texSize * texSize * 4).fill(128);
  return { positions: atlas.positions, indices: atlas.indices, uvs: atlas.uvs, texture: { width: texSize, height: texSize, data: grey }, truth };
}

function renderable(mesh: TexturedMesh, texture: TexturedMesh['texture']) {
  return { ...texturedRenderable(mesh, false), texture, centre: [0, 0, 0] as [number, number, number], radius: 0.5 };
}

/** Texels whose centre some triangle covers in UV space (the surface, not the gutter). */
function surfaceTexels(mesh: TexturedMesh, T: number): Uint8Array {
  const out = new Uint8Array(T * T);
  for (let f = 0; f < mesh.indices.length / 3; f++) {
    const u = [0, 1, 2].map((k) => [mesh.uvs[2 * mesh.indices[3 * f + k]] * T - 0.5, mesh.uvs[2 * mesh.indices[3 * f + k] + 1] * T - 0.5]);
    const det = (u[1][0] - u[0][0]) * (u[2][1] - u[0][1]) - (u[2][0] - u[0][0]) * (u[1][1] - u[0][1]);
    if (det === 0) continue;
    for (let y = Math.max(0, Math.floor(Math.min(u[0][1], u[1][1], u[2][1]))); y <= Math.min(T - 1, Math.ceil(Math.max(u[0][1], u[1][1], u[2][1]))); y++) {
      for (let x = Math.max(0, Math.floor(Math.min(u[0][0], u[1][0], u[2][0]))); x <= Math.min(T - 1, Math.ceil(Math.max(u[0][0], u[1][0], u[2][0]))); x++) {
        const b1 = ((x - u[0][0]) * (u[2][1] - u[0][1]) - (u[2][0] - u[0][0]) * (y - u[0][1])) / det;
        const b2 = ((u[1][0] - u[0][0]) * (y - u[0][1]) - (x - u[0][0]) * (u[1][1] - u[0][1])) / det;
        if (b1 > 0.05 && b2 > 0.05 && b1 + b2 < 0.95) out[y * T + x] = 1;
      }
    }
  }
  return out;
}

function textureRmse(a: Uint8Array, b: Uint8Array, where: Uint8Array): number {
  let sum = 0, n = 0;
  for (let i = 0; i < where.length; i++) {
    if (!where[i]) continue;
    for (let c = 0; c < 3; c++) sum += ((a[4 * i + c] - b[4 * i + c]) / 255) ** 2;
    n += 3;
  }
  return Math.sqrt(sum / Math.max(1, n));
}

/** `viewCount` views around `mesh` (alternately above and below it) rendered with its true texture. */
async function sphereViews(ctx: StageContext, mesh: ReturnType<typeof sphereMesh>, viewCount: number, size: number, texSize: number): Promise<RefineView[]> {
  const renderer = new MeshRenderer(ctx, renderable(mesh, { width: texSize, height: texSize, data: mesh.truth }), size, size);
  const views: RefineView[] = [];
  try {
    for (let k = 0; k < viewCount; k++) {
      const a = (2 * Math.PI * k) / viewCount;
      const eye = [2 * Math.cos(a), k % 2 ? 0.9 : -0.7, 2 * Math.sin(a)];
      const K = [1.1 * size, 0, (size - 1) / 2, 0, 1.1 * size, (size - 1) / 2, 0, 0, 1];
      const camFromWorld = lookAt(eye, [0, 0, 0]);
      const r = await renderer.render({ K, camFromWorld });
      views.push({ width: size, height: size, K, camFromWorld, rgba: r.rgba });
    }
  } finally {
    renderer.dispose();
  }
  return views;
}

async function checkFit(ctx: StageContext, viewCount: number, size: number, texSize: number, iterations: number, texPyramid = DEFAULT_REFINE_OPTIONS.texPyramid) {
  const mesh = sphereMesh(texSize);
  const views = await sphereViews(ctx, mesh, viewCount, size, texSize);
  const surface = surfaceTexels(mesh, texSize);
  const before = textureRmse(mesh.texture.data, mesh.truth, surface);
  const result = await refineMesh(mesh, views, [], true, {
    ...DEFAULT_REFINE_OPTIONS, iterations, batchSize: 4, lrPos: 0, lrGain: 0, lrLight: 0, lrTex: 0.03, silWeight: 0, warmup: 0.02, validateEvery: 25, texPyramid,
  }, ctx);
  const after = textureRmse(result.mesh.texture.data, mesh.truth, surface);
  const history = result.stats.lossHistory;
  return { surfaceTexels: surface.reduce((a, b) => a + b, 0), rmseBefore: before, rmseAfter: after, firstLoss: history[0]?.train, lastLoss: history[history.length - 1]?.train, iterations: result.stats.iterations };
}

/**
 * The sphere's vertices moved along their radius by up to +-`noise` of it (the copies of a vertex that the atlas split
 * move together), its true texture given, then refined against views of the true sphere: RMS of the vertices' radial
 * error (in units of the radius; vertices on atlas seams count once per copy) before and after, with the default
 * settings (or `settings` over them) and, when `compare`, with lrPos and lapWeight as before session 15.
 */
async function checkGeometry(ctx: StageContext, viewCount: number, size: number, texSize: number, iterations: number, noise: number, pattern: 'random' | 'smooth', settings: Partial<RefineOptions> = {}, compare = false) {
  const mesh = sphereMesh(texSize);
  const views = await sphereViews(ctx, mesh, viewCount, size, texSize);
  const rand = seededRandom(7);
  // one factor per welded vertex (the refinement's own weld: the copies the atlas split move together)
  const { weldOf } = weldMesh(mesh);
  const factors = new Map<number, number>();
  const P = mesh.positions, bumpy = new Float32Array(P.length);
  for (let v = 0; v < P.length / 3; v++) {
    const [x, y, z] = [0, 1, 2].map((k) => P[3 * v + k] / 0.5);
    // smooth: 3 bumps around, 2 along, zero at the poles (where the azimuth is undefined)
    const smooth = () => Math.sin(3 * Math.atan2(z, x)) * Math.cos(2 * Math.acos(Math.max(-1, Math.min(1, y)))) * (1 - y * y);
    if (!factors.has(weldOf[v])) factors.set(weldOf[v], 1 + noise * (pattern === 'smooth' ? smooth() : 2 * rand() - 1));
    for (let k = 0; k < 3; k++) bumpy[3 * v + k] = P[3 * v + k] * factors.get(weldOf[v])!;
  }
  // radial error per vertex in units of the radius (> 0 outside the true sphere)
  const radial = (positions: Float32Array) => Array.from({ length: positions.length / 3 }, (_, v) => Math.hypot(positions[3 * v], positions[3 * v + 1], positions[3 * v + 2]) / 0.5 - 1);
  const rms = (e: number[]) => Math.sqrt(e.reduce((s, x) => s + x * x, 0) / e.length);
  const mean = (e: number[]) => e.reduce((s, x) => s + x, 0) / e.length;
  const start: TexturedMesh = { ...mesh, positions: bumpy, texture: { width: texSize, height: texSize, data: mesh.truth } };
  const run = (over: Partial<RefineOptions>) => refineMesh(start, views, [], true, { ...DEFAULT_REFINE_OPTIONS, iterations, validateEvery: 25, ...over }, ctx);
  const result = await run(settings);
  const before15 = compare ? await run({ ...settings, lrPos: 1.2e-4, lapWeight: 2e4 }) : null;
  const after = radial(result.mesh.positions);
  return {
    vertices: P.length / 3, rmsBefore: rms(radial(bumpy)), rmsAfter: rms(after), meanAfter: mean(after), iterations: result.stats.iterations,
    ...(before15 ? { rmsAfterBefore15: rms(radial(before15.mesh.positions)) } : {}),
  };
}

/** A capture of the analytic sphere with depth maps, colours and masks (the feed-forward model fuses given depth). */
function sphereCapture(viewCount: number, size: number): CaptureSet {
  const data = analyticViews('sphere', viewCount, size, size, 1);
  const views: CaptureView[] = data.map((v, index) => {
    const rgba = new Uint8Array(v.color.buffer.slice(0));
    const mask = new Uint8Array(size * size);
    const depth = new Float32Array(size * size);
    for (let i = 0; i < size * size; i++) {
      if (v.depth[i] > 0) {
        mask[i] = 255;
        depth[i] = v.depth[i];
      } else rgba.set([0, 0, 0, 0], 4 * i);
    }
    return {
      index, name: `v${index}.png`, path: `v${index}.png`, key: `v${index}`, width: size, height: size, fullWidth: size, fullHeight: size,
      image: { width: size, height: size, data: rgba }, depthMeters: depth, mask, K: [v.fx, 0, v.cx, 0, v.fy, v.cy, 0, 0, 1],
      distortion: null, intrinsicsSource: 'file', camFromWorld: v.camFromWorld, exif: null, heldOut: false, source: { bytes: new ArrayBuffer(0), mime: 'image/png' },
    };
  });
  return {
    name: 'sphere', views, cameraFormat: 'synthetic', hasPoses: true, hasDepth: true, hasMasks: true, depthUnitsPerMeter: 1000,
    worldFromNormalized: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], used: views.map((v) => v.name), skipped: [], warnings: [],
  };
}

async function checkVram(gpu: GpuContext, viewCount: number, size: number, iterations: number) {
  const capture = sphereCapture(viewCount, size);
  const input: JobInput = { options: { preset: 'draft', models: ['feedforward', 'refine'], refine: { iterations, validateEvery: 10 } }, capture };
  const output: JobOutput = { files: {}, meshes: [] };
  const seen: { model: string; phase: string; owners: Record<string, number>; ownBytes: number }[] = [];
  const warnings: string[] = [];
  const snapshot = (model: string, phase: string) => {
    const usage = gpu.vram.getVramUsage();
    seen.push({ model, phase, ownBytes: usage.ownBytes, owners: Object.fromEntries(Object.entries(usage.owners).filter(([, o]) => o.liveBytes > 0).map(([k, o]) => [k, o.liveBytes])) });
  };
  // Owners holding memory at each progress report of a model (reports come from inside its stages and iterations).
  const during: Record<string, Set<string>> = {};
  const peakOwn: Record<string, number> = {};
  const progress = (event: ProgressEvent) => {
    if (event.type !== 'model') return;
    const usage = gpu.vram.getVramUsage();
    const live = Object.entries(usage.owners).filter(([, o]) => o.liveBytes > 0).map(([k]) => k);
    during[event.model] ??= new Set();
    live.forEach((o) => during[event.model].add(o));
    peakOwn[event.model] = Math.max(peakOwn[event.model] ?? 0, usage.owners[event.model]?.peakBytes ?? 0);
  };
  const run = await runModels(['feedforward', 'refine'].map((name) => ({ name, ...MODEL_REGISTRY[name] })), input, output, {
    gpu, vram: gpu.vram, signal: new AbortController().signal, progress, warn: (m) => warnings.push(m), recordStage: () => undefined,
    overallRange: [0, 100], observe: snapshot,
  });
  return {
    statuses: run.reports.map((r) => `${r.name}:${r.status}${r.error ? ` (${r.error.message})` : ''}`),
    liveAfterCleanup: run.reports.map((r) => r.liveBytesAfterCleanup),
    ownBytesAtEnd: gpu.vram.getVramUsage().ownBytes,
    snapshots: seen,
    ownersDuring: Object.fromEntries(Object.entries(during).map(([k, v]) => [k, [...v].sort()])),
    ownerPeakBytes: peakOwn,
    files: Object.keys(output.files).sort(),
    meshes: output.meshes.map((m) => m.model),
    refineDetails: run.reports[1]?.details ?? null,
    warnings,
  };
}

/** The feed-forward mesh of a sphere capture against itself grown by `grow` about its centroid, scored at the views. */
async function checkKeep(ctx: StageContext, viewCount: number, size: number, grow: number) {
  const capture = sphereCapture(viewCount, size);
  const input: JobInput = { options: { preset: 'draft', models: ['feedforward'] }, capture };
  const output: JobOutput = { files: {}, meshes: [] };
  const run = await runModels([{ name: 'feedforward', ...MODEL_REGISTRY.feedforward }], input, output, {
    gpu: ctx.gpu, vram: ctx.gpu.vram, signal: new AbortController().signal, progress: () => undefined, warn: () => undefined, recordStage: () => undefined, overallRange: [0, 100],
  });
  const base = output.texturedMeshes?.feedforward;
  if (!base) throw new Error(`no feed-forward mesh: ${run.reports[0]?.error?.message ?? run.reports[0]?.status}`);
  const P = base.positions, c = [0, 1, 2].map((k) => P.filter((_, i) => i % 3 === k).reduce((a, b) => a + b, 0) / (P.length / 3));
  const grown: TexturedMesh = { ...base, positions: P.map((v, i) => c[i % 3] + (1 + grow) * (v - c[i % 3])) };
  const masked = await photometricPsnr([base, grown], capture.views, ctx);
  // Without masks: opaque photos, scored where both meshes cover a pixel.
  const unmaskedViews = capture.views.map((v) => ({ ...v, mask: null, image: { ...v.image, data: v.image.data.map((x, i) => (i % 4 === 3 ? 255 : x)) } }));
  const unmasked = await photometricPsnr([base, grown], unmaskedViews, ctx);
  // The rule's choice both ways round: a grown "refined" mesh is refused (with a warning), the true one kept.
  const warnings: string[] = [];
  const quiet = { ...ctx, warn: (m: string) => warnings.push(m) };
  const refuse = await keepBetter(base, grown, capture.views, 'feedforward', quiet);
  const accept = await keepBetter(grown, base, capture.views, 'feedforward', quiet);
  return {
    masked, unmasked, faces: base.indices.length / 3,
    refused: { kept: refuse.keep.kept, sameMesh: refuse.mesh === base }, accepted: { kept: accept.keep.kept, sameMesh: accept.mesh === base }, warnings,
  };
}
