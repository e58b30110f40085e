/**
 * A CPU proxy of the MVS depth scale that the given-camera refinement (refineGiven.ts) gives 7-Scenes redkitchen
 * (docs/benchmarks.md, session 13): CPU SIFT on the 50 photos and matches between the pairs posePairs chooses (cached
 * in .cache/kitchen-ba/, ~2.5 min the first time on the 2-core CPU machine), then adjustGivenPoses per variant, then
 * every match triangulated with the resulting poses and its depth in the first view compared with the sensor's (the
 * depth camera's 585 px mapped to the colour camera's 525 px about the same centre). Prints the quartiles of
 * depth / sensor: the study's kept-depth ratio quartiles on the H200 follow the median closely.
 *
 *   npx vitest run --config bench/kitchen/vitest.config.ts
 *   VARIANTS='[["p0.2",{"priorRotationDeg":0.2}]]' npx vitest run --config bench/kitchen/vitest.config.ts
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { decode } from 'fast-png';
import { it } from 'vitest';
import { CACHE, DATA, loadFeatures } from './features';
import { parsePose4, SEVEN_SCENES_COLOUR_K } from '../../src/io/formats/sevenScenes';
import { triangulateDlt } from '../../src/stages/sfm/geometry/triangulation';
import { matchPairsCpu } from '../../src/stages/sfm/matching/matchCpu';
import { adjustGivenPoses, posePairs, type GivenPoseOptions } from '../../src/stages/sfm/refineGiven';
import type { ImageFeatures, PairMatches } from '../../src/stages/sfm/types';

const K = SEVEN_SCENES_COLOUR_K;

function loadMatches(features: ImageFeatures[], views: { K: number[]; camFromWorld: number[] }[]): PairMatches[] {
  const file = `${CACHE}/matches.json`;
  if (!existsSync(file)) {
    const m = matchPairsCpu(features, posePairs(views));
    writeFileSync(file, JSON.stringify(m.map((x) => ({ i: x.i, j: x.j, matches: Array.from(x.matches) }))));
  }
  return JSON.parse(readFileSync(file, 'utf8')).map((m: { i: number; j: number; matches: number[] }) => ({ i: m.i, j: m.j, matches: Uint32Array.from(m.matches) }));
}

/** Per match (in order): its depth in its first view, triangulated with `poses` (0 when it does not reproject within 2 px). */
function depthsOf(poses: number[][], features: ImageFeatures[], matches: PairMatches[], Kv: number[] = K): Float64Array {
  const P = new Float64Array(12 * poses.length);
  poses.forEach((p, i) => P.set(p.slice(0, 12), 12 * i));
  const out = new Float64Array(matches.reduce((n, m) => n + m.matches.length / 2, 0));
  const X = new Float64Array(3);
  const [f, cx, cy] = [Kv[0], Kv[2], Kv[5]];
  let n = 0;
  for (const m of matches) {
    for (let k = 0; k < m.matches.length; k += 2, n++) {
      const a = features[m.i].keypoints, b = features[m.j].keypoints, ia = 4 * m.matches[k], ib = 4 * m.matches[k + 1];
      const xn = Float64Array.from([(a[ia] - cx) / f, (a[ia + 1] - cy) / f, (b[ib] - cx) / f, (b[ib + 1] - cy) / f]);
      if (!triangulateDlt(P, [m.i, m.j], xn, 2, X)) continue;
      const p = poses[m.i];
      const z = p[8] * X[0] + p[9] * X[1] + p[10] * X[2] + p[11];
      const u = (f * (p[0] * X[0] + p[1] * X[1] + p[2] * X[2] + p[3])) / z + cx, v = (f * (p[4] * X[0] + p[5] * X[1] + p[6] * X[2] + p[7])) / z + cy;
      if (z > 0 && Math.hypot(u - a[ia], v - a[ia + 1]) <= 2) out[n] = z;
    }
  }
  return out;
}

/**
 * Quartiles of each match's depth (depthsOf) over the sensor depth at its first keypoint (the depth camera's 585 px
 * mapped to the colour camera's 525 px about the same centre), or over its depth with the `against` poses.
 */
function depthRatio(poses: number[][], features: ImageFeatures[], matches: PairMatches[], depth: Uint16Array[], against?: number[][], Kv: number[] = K): number[] {
  const z = depthsOf(poses, features, matches, Kv), ref = against ? depthsOf(against, features, matches) : null;
  const ratios: number[] = [];
  // RADIAL env: the ratios also binned by the keypoint's distance from the image centre (in 100 px rings).
  const rings: number[][] = [[], [], [], []];
  // BINS env: the ratios by the keypoint's image third, left to right (x) and top to bottom (y).
  const bins: number[][] = Array.from({ length: 6 }, () => []);
  const bin = (u: number, v: number, r: number) => {
    bins[Math.min(2, Math.floor((u / 640) * 3))].push(r);
    bins[3 + Math.min(2, Math.floor((v / 480) * 3))].push(r);
  };
  const [f, cx, cy] = [K[0], K[2], K[5]];
  let n = 0;
  for (const m of matches) {
    for (let k = 0; k < m.matches.length; k += 2, n++) {
      if (!(z[n] > 0)) continue;
      if (ref) {
        if (ref[n] > 0) {
          ratios.push(z[n] / ref[n]);
          const a = features[m.i].keypoints, ia = 4 * m.matches[k];
          bin(a[ia], a[ia + 1], z[n] / ref[n]);
        }
        continue;
      }
      const a = features[m.i].keypoints, ia = 4 * m.matches[k];
      const ud = Math.round(320 + ((a[ia] - cx) * 585) / f), vd = Math.round(240 + ((a[ia + 1] - cy) * 585) / f);
      if (ud < 0 || vd < 0 || ud >= 640 || vd >= 480) continue;
      const s = depth[m.i][vd * 640 + ud];
      if (s && s !== 65535) {
        ratios.push(z[n] / (s / 1000));
        bin(a[ia], a[ia + 1], z[n] / (s / 1000));
        rings[Math.min(3, Math.floor(Math.hypot(a[ia] - cx, a[ia + 1] - cy) / 100))].push(z[n] / (s / 1000));
      }
    }
  }
  if (process.env.RADIAL) {
    for (const r of rings) r.sort((x, y) => x - y);
    console.log(`  by ring (0-100, 100-200, 200-300, 300+ px): ${rings.map((r) => `${r.length}: ${[0.25, 0.5, 0.75].map((q) => r[Math.floor(q * r.length)]?.toFixed(3)).join('/')}`).join('; ')}`);
  }
  if (process.env.BINS) {
    for (const r of bins) r.sort((x, y) => x - y);
    console.log(`  by third (x: left, middle, right; y: top, middle, bottom) medians: ${bins.map((r) => `${r[Math.floor(r.length / 2)]?.toFixed(3)} (${r.length})`).join(', ')}`);
  }
  ratios.sort((x, y) => x - y);
  return [0.25, 0.5, 0.75].map((q) => ratios[Math.floor(q * ratios.length)]);
}

it('7-Scenes: the depth scale of the given-camera refinement per variant', async () => {
  const frames = readdirSync(DATA).filter((f) => f.endsWith('.color.png')).map((f) => f.replace('.color.png', '')).sort();
  const given = frames.map((f) => parsePose4(readFileSync(`${DATA}/${f}.pose.txt`, 'utf8'), f));
  const depth = frames.map((f) => decode(readFileSync(`${DATA}/${f}.depth.png`)).data as Uint16Array);
  const features = loadFeatures(frames);
  const matches = loadMatches(features, given.map((camFromWorld) => ({ K, camFromWorld })));
  const fmt = (q: number[]) => q.map((x) => x.toFixed(3)).join(' / ');
  console.log(`given poses: depth / sensor quartiles ${fmt(depthRatio(given, features, matches, depth))}`);
  const variants: [string, Partial<GivenPoseOptions>][] = JSON.parse(process.env.VARIANTS ?? '[["default",{}],["prior 0.1 deg",{"priorRotationDeg":0.1}],["prior 1 deg",{"priorRotationDeg":1}]]');
  for (const [label, options] of variants) {
    const views = given.map((p) => ({ K, camFromWorld: p.slice() }));
    const t0 = performance.now();
    const s = await adjustGivenPoses(views, features, matches, options);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${label}: ${s.accepted ? 'accepted' : `refused (${s.reason})`}, RMS ${s.rmsBefore.toFixed(2)} -> ${s.rmsAfter.toFixed(2)} px, turn median ${s.rotationDeg.median.toFixed(2)} deg, relief ${JSON.stringify(s.relief)} in ${seconds.toFixed(1)} s; K ${views[0].K.map((x) => +x.toFixed(2)).join(',')}; depth / sensor quartiles ${fmt(depthRatio(views.map((v) => v.camFromWorld), features, matches, depth, undefined, views[0].K))}, depth / given poses' depth ${fmt(depthRatio(views.map((v) => v.camFromWorld), features, matches, depth, given, views[0].K))}`);
  }
});
