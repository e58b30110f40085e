/**
 * A CPU probe: which colour-camera focal length do 7-Scenes redkitchen's photos support, under the given poses held
 * fixed? SIFT matches between wide pairs (the pose proxy's cached features), then for each (fx, fy) on a grid the
 * robust (truncated) Sampson error of every match under F = K^-T [t]x R K^-1 of the given relative pose.
 *
 *   npx vitest run --config bench/kitchen/vitest.config.ts bench/kitchen/focal-probe.test.ts
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { decode } from 'fast-png';
import { it } from 'vitest';
import { CACHE, DATA, loadFeatures } from './features';
import { parsePose4 } from '../../src/io/formats/sevenScenes';
import { triangulateDlt } from '../../src/stages/sfm/geometry/triangulation';
import { matchPairsCpu } from '../../src/stages/sfm/matching/matchCpu';
import type { PairMatches } from '../../src/stages/sfm/types';


const rot = (p: number[]) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
const mul = (a: number[], b: number[]) => Array.from({ length: 9 }, (_, i) => a[Math.floor(i / 3) * 3] * b[i % 3] + a[Math.floor(i / 3) * 3 + 1] * b[3 + (i % 3)] + a[Math.floor(i / 3) * 3 + 2] * b[6 + (i % 3)]);
const tr = (a: number[]) => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];

it('7-Scenes: focal length from matches under the given poses', () => {
  const frames = readdirSync(DATA).filter((f) => f.endsWith('.color.png')).map((f) => f.replace('.color.png', '')).sort();
  const poses = frames.map((f) => parsePose4(readFileSync(`${DATA}/${f}.pose.txt`, 'utf8'), f));
  const features = loadFeatures(frames);
  const gaps = JSON.parse(process.env.GAPS ?? '[4,8,12,16,24,32]') as number[];
  const pairs: [number, number][] = [];
  for (const g of gaps) for (let i = 0; i + g < frames.length; i += 2) pairs.push([i, i + g]);
  const file = `${CACHE}/wide-${gaps.join('-')}.json`;
  if (!existsSync(file)) writeFileSync(file, JSON.stringify(matchPairsCpu(features, pairs).map((x) => ({ i: x.i, j: x.j, matches: Array.from(x.matches) }))));
  const matches: PairMatches[] = JSON.parse(readFileSync(file, 'utf8')).map((m: { i: number; j: number; matches: number[] }) => ({ i: m.i, j: m.j, matches: Uint32Array.from(m.matches) }));
  const E = matches.map(({ i, j }) => {
    const R = mul(rot(poses[j]), tr(rot(poses[i])));
    const ti = [poses[i][3], poses[i][7], poses[i][11]], tj = [poses[j][3], poses[j][7], poses[j][11]];
    const t = [0, 1, 2].map((r) => tj[r] - (R[3 * r] * ti[0] + R[3 * r + 1] * ti[1] + R[3 * r + 2] * ti[2]));
    const tx = [0, -t[2], t[1], t[2], 0, -t[0], -t[1], t[0], 0];
    const angle = (Math.acos(Math.min(1, (R[0] + R[4] + R[8] - 1) / 2)) * 180) / Math.PI;
    return { E: mul(tx, R), angle, base: Math.hypot(...t) };
  });
  console.log(`${matches.length} pairs, ${matches.reduce((n, m) => n + m.matches.length / 2, 0)} matches; rotation ${Math.min(...E.map((e) => e.angle)).toFixed(1)}-${Math.max(...E.map((e) => e.angle)).toFixed(1)} deg, baseline ${Math.min(...E.map((e) => e.base)).toFixed(3)}-${Math.max(...E.map((e) => e.base)).toFixed(3)} m`);
  const tau = Number(process.env.TAU ?? 2);
  const cost = (fx: number, fy: number, cx = 320, cy = 240, minAngle = 0) => {
    let sum = 0, n = 0, inl = 0;
    matches.forEach((m, k) => {
      if (E[k].angle < minAngle) return;
      const e = E[k].E;
      // F = Kinv^T E Kinv, Kinv = [[1/fx,0,-cx/fx],[0,1/fy,-cy/fy],[0,0,1]]
      const Ki = [1 / fx, 0, -cx / fx, 0, 1 / fy, -cy / fy, 0, 0, 1];
      const F = mul(tr(Ki), mul(e, Ki));
      const a = features[m.i].keypoints, b = features[m.j].keypoints;
      for (let q = 0; q < m.matches.length; q += 2) {
        const ia = 4 * m.matches[q], ib = 4 * m.matches[q + 1];
        const x1 = a[ia], y1 = a[ia + 1], x2 = b[ib], y2 = b[ib + 1];
        const l0 = F[0] * x1 + F[1] * y1 + F[2], l1 = F[3] * x1 + F[4] * y1 + F[5], l2 = F[6] * x1 + F[7] * y1 + F[8];
        const m0 = F[0] * x2 + F[3] * y2 + F[6], m1 = F[1] * x2 + F[4] * y2 + F[7];
        const r = x2 * l0 + y2 * l1 + l2;
        const s = (r * r) / (l0 * l0 + l1 * l1 + m0 * m0 + m1 * m1);
        sum += Math.min(s, tau * tau);
        if (s < tau * tau) inl++;
        n++;
      }
    });
    return { c: sum / n, inl: inl / n };
  };
  // Coordinate search over (fx, fy, cx, cy) from 525 / 320 / 240.
  let k4 = [525, 525, 320, 240];
  for (const step of [8, 4, 2, 1, 0.5]) {
    for (let round = 0; round < 4; round++) for (let a = 0; a < 4; a++) {
      let bestV = k4[a], bestC = cost(k4[0], k4[1], k4[2], k4[3]).c;
      for (const d of [-step, step]) {
        const t = k4.slice();
        t[a] += d;
        const c = cost(t[0], t[1], t[2], t[3]).c;
        if (c < bestC) { bestC = c; bestV = t[a]; }
      }
      k4[a] = bestV;
    }
  }
  console.log(`coordinate search: fx ${k4[0]} fy ${k4[1]} cx ${k4[2]} cy ${k4[3]}: cost ${cost(k4[0], k4[1], k4[2], k4[3]).c.toFixed(4)} (525/525/320/240: ${cost(525, 525).c.toFixed(4)})`);
  // Each match triangulated with the given poses and a K; its depth over the sensor's (585 px depth camera mapped to
  // 525 px about the centre, as the app reads it), by image third.
  const depth = frames.map((f) => decode(readFileSync(`${DATA}/${f}.depth.png`)).data as Uint16Array);
  const P = new Float64Array(12 * poses.length);
  poses.forEach((p, i) => P.set(p.slice(0, 12), 12 * i));
  const report = (label: string, [fx, fy, cx, cy]: number[]) => {
    const all: number[] = [], bins: number[][] = Array.from({ length: 6 }, () => []);
    const X = new Float64Array(3);
    for (const m of matches) {
      const a = features[m.i].keypoints, b = features[m.j].keypoints;
      for (let q = 0; q < m.matches.length; q += 2) {
        const ia = 4 * m.matches[q], ib = 4 * m.matches[q + 1];
        const xn = [(a[ia] - cx) / fx, (a[ia + 1] - cy) / fy, (b[ib] - cx) / fx, (b[ib + 1] - cy) / fy];
        if (!triangulateDlt(P, [m.i, m.j], xn, 2, X)) continue;
        const p = poses[m.i];
        const z = p[8] * X[0] + p[9] * X[1] + p[10] * X[2] + p[11];
        const u = (fx * (p[0] * X[0] + p[1] * X[1] + p[2] * X[2] + p[3])) / z + cx, v = (fy * (p[4] * X[0] + p[5] * X[1] + p[6] * X[2] + p[7])) / z + cy;
        if (!(z > 0) || Math.hypot(u - a[ia], v - a[ia + 1]) > 2) continue;
        const ud = Math.round(320 + ((a[ia] - 320) * 585) / 525), vd = Math.round(240 + ((a[ia + 1] - 240) * 585) / 525);
        if (ud < 0 || vd < 0 || ud >= 640 || vd >= 480) continue;
        const s = depth[m.i][vd * 640 + ud];
        if (!s || s === 65535) continue;
        const r = z / (s / 1000);
        all.push(r);
        bins[Math.min(2, Math.floor((a[ia] / 640) * 3))].push(r);
        bins[3 + Math.min(2, Math.floor((a[ia + 1] / 480) * 3))].push(r);
      }
    }
    const med = (r: number[]) => (r.sort((x, y) => x - y), r[Math.floor(r.length / 2)]);
    all.sort((x, y) => x - y);
    const absRel = all.reduce((s2, r) => s2 + Math.abs(r - 1), 0) / all.length;
    console.log(`${label}: ${all.length} matches, depth / sensor quartiles ${[0.25, 0.5, 0.75].map((q) => all[Math.floor(q * all.length)].toFixed(3)).join(' / ')}, |r-1| mean ${absRel.toFixed(3)}; by third x ${bins.slice(0, 3).map(med).map((v) => v.toFixed(3)).join(' / ')}, y ${bins.slice(3).map(med).map((v) => v.toFixed(3)).join(' / ')}`);
  };
  report('K 525', [525, 525, 320, 240]);
  report('K fitted', k4);
  report('K session 12 photometric (511.8, 528.2, 322.5, 237.7)', [511.8, 528.2, 322.5, 237.7]);
  if (process.env.GRID) for (const minAngle of [0, 5, 10]) {
    let best = { fx: 0, fy: 0, c: Infinity };
    const rows: string[] = [];
    for (let fx = 490; fx <= 560; fx += 2) for (let fy = 490; fy <= 560; fy += 2) {
      const { c } = cost(fx, fy, 320, 240, minAngle);
      if (c < best.c) best = { fx, fy, c };
    }
    for (const f of [500, 505, 510, 515, 520, 525, 530, 540, 550]) rows.push(`${f}: ${cost(f, f, 320, 240, minAngle).c.toFixed(4)}`);
    console.log(`pairs rotating >= ${minAngle} deg: best fx ${best.fx} fy ${best.fy} cost ${best.c.toFixed(4)} (525/525: ${cost(525, 525, 320, 240, minAngle).c.toFixed(4)}, inliers ${cost(best.fx, best.fy, 320, 240, minAngle).inl.toFixed(3)} vs ${cost(525, 525, 320, 240, minAngle).inl.toFixed(3)}); square: ${rows.join(', ')}`);
  }
});
