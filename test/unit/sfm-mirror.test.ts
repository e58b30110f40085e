import { describe, expect, it } from 'vitest';
import { agreeingCrossPairs, CONFLICT_RATIO, CONSISTENT_RATIO, mirrorCheck, type PairInliers } from '../../src/stages/sfm/mirrorCheck';
import { reconstructIncremental, type VerificationCache } from '../../src/stages/sfm/incremental';
import { placeByTransfer } from '../../src/stages/sfm/mirrorPlace';
import { NEIGHBOUR_AXIS_DEG, NEIGHBOUR_PAIRS, neighbourPairs } from '../../src/stages/sfm/solve';
import { verifySerial } from '../../src/stages/sfm/verifyPairs';
import { rotationDistanceDeg } from '../../src/stages/sfm/geometry/linalg';
import type { PairMatches, SfmInput, SfmResult } from '../../src/stages/sfm/types';
import { orbitCameras, project, rng, synthInput } from './sfmSynthetic';

/**
 * An object whose surface points are seen where the surface faces the camera, with a small repeated part: SYM points
 * that have an identical twin at the object's 180-degree rotation about the vertical axis (lego's caterpillar
 * tracks). 24 cameras on an orbit, 15 degrees apart. The "mirrored" model places views 0-3 at the mirror image of
 * their pose, as SfM does when mirror pairs glue them on: pose P Ry, observing Ry X where the truth has X. Their
 * observations of the repeated part join the twins' tracks (shared with the true views of the other side); the rest
 * of what they see becomes a duplicated copy of their own side that no true view observes.
 */
const N = 1500, SYM = 20, NCAM = 24, PATCH = [0, 1, 2, 3];
const W = 1280, H = 960, F = 1000;

function scene(mirrored: boolean) {
  const r = rng(5);
  const cams = orbitCameras(NCAM, 5, F, W, H, r);
  const X: number[] = [];
  for (let i = 0; i < N; i++) {
    let x, y, z;
    do { x = r() * 2 - 1; y = r() * 2 - 1; z = r() * 2 - 1; } while (x * x + y * y + z * z > 1);
    const n = Math.hypot(x, y, z);
    X.push((1.6 * x) / n, (1.2 * y) / n, (1.6 * z) / n);
  }
  // Twins of the first SYM points: Ry X = (-x, y, -z).
  const twin = new Map<number, number>();
  for (let i = 0; i < SYM; i++) { twin.set(i, N + i); twin.set(N + i, i); X.push(-X[3 * i], X[3 * i + 1], -X[3 * i + 2]); }
  const nTrue = X.length / 3;
  // Per view: the true points it sees (facing, inside, 80% detected) and their pixels: the view's features.
  const seen: number[][] = [], feats: Float32Array[] = [];
  cams.forEach((c) => {
    const p = c.pose, cc = [0, 1, 2].map((k) => -(p[k] * p[3] + p[4 + k] * p[7] + p[8 + k] * p[11]));
    const list: number[] = [], uv: number[] = [];
    for (let i = 0; i < nTrue; i++) {
      const nx = X[3 * i] / 1.6, ny = X[3 * i + 1] / 1.2, nz = X[3 * i + 2] / 1.6;
      const dx = cc[0] - X[3 * i], dy = cc[1] - X[3 * i + 1], dz = cc[2] - X[3 * i + 2];
      if ((nx * dx + ny * dy + nz * dz) / (Math.hypot(nx, ny, nz) * Math.hypot(dx, dy, dz)) < 0.2 || r() < 0.2) continue;
      const [u, v, z] = project(c, X, 3 * i);
      if (z <= 0 || u < 0 || v < 0 || u > W - 1 || v > H - 1) continue;
      list.push(i);
      uv.push(u, v);
    }
    seen.push(list);
    feats.push(Float32Array.from(uv));
  });
  // The model: points (true ones, then the patch's duplicates), observations (image, feature) per point.
  const pts = X.slice();
  const obsOf: [number, number][][] = Array.from({ length: nTrue }, () => []);
  const dup = new Map<number, number>();
  const poses = cams.map((c) => Array.from(c.pose));
  cams.forEach((c, v) => {
    const flip = mirrored && PATCH.includes(v);
    if (flip) {
      // P Ry: Ry = diag(-1, 1, -1) multiplies the rotation's first and third columns by -1.
      const p = poses[v];
      for (const k of [0, 2]) for (let row = 0; row < 3; row++) p[4 * row + k] = -p[4 * row + k];
    }
    seen[v].forEach((i, f) => {
      let m = i;
      if (flip) {
        m = twin.get(i) ?? dup.get(i) ?? -1;
        if (m < 0) { m = pts.length / 3; dup.set(i, m); pts.push(-X[3 * i], X[3 * i + 1], -X[3 * i + 2]); obsOf.push([]); }
      }
      obsOf[m].push([v, f]);
    });
  });
  const obs: number[] = [], start = [0];
  for (const o of obsOf) { for (const [v, f] of o) obs.push(v, f); start.push(obs.length / 2); }
  const result: SfmResult = {
    cameras: cams.map((c, v) => ({ K: [F, 0, c.cx, 0, F, c.cy, 0, 0, 1], camFromWorld: poses[v], k1: 0, k2: 0 })),
    unregistered: [],
    points: Float32Array.from(pts),
    trackLengths: Uint32Array.from(obsOf.map((o) => o.length)),
    pointObservations: Uint32Array.from(obs),
    pointObservationStart: Uint32Array.from(start),
    meanReprojectionError: 0,
    stats: {},
  };
  /** A verified pair of views a < b on the point correspondence `corr` (truth index in a -> truth index in b). */
  const pair = (a: number, b: number, corr: (i: number) => number | undefined): PairInliers => {
    const fb = new Map(seen[b].map((i, f) => [i, f]));
    const inl: number[] = [];
    seen[a].forEach((i, f) => { const j = corr(i); if (j !== undefined && fb.has(j)) inl.push(f, fb.get(j)!); });
    return { i: a, j: b, inliers: Uint32Array.from(inl) };
  };
  return { result, feats, pair, twin, seen, sizes: cams.map(() => ({ width: W, height: H })) };
}

describe('MIRROR_REPAIR_RULE', () => {
  it('flags nothing on a true model', () => {
    const { result, sizes } = scene(false);
    const chk = mirrorCheck(result, sizes);
    expect(chk.flagged).toEqual([]);
    // Every view in one group: neighbours 15 degrees apart co-observe well above CONSISTENT_RATIO.
    expect(new Set(chk.group).size).toBe(1);
  });

  it('flags a mirrored sub-model, and only its mirror pairs agree with the model', () => {
    const { result, sizes, pair, twin, feats } = scene(true);
    const chk = mirrorCheck(result, sizes);
    expect(chk.flagged).toEqual([PATCH]);
    // The flipped views sit 180 degrees round the orbit, on top of views 12-15, and share only the repeated part.
    const cross = chk.edges.filter((e) => PATCH.includes(e.a) !== PATCH.includes(e.b) && e.axisDeg < 20);
    expect(cross.length).toBeGreaterThanOrEqual(4);
    for (const e of cross) expect(e.ratio).toBeLessThan(CONFLICT_RATIO);
    const same = chk.edges.filter((e) => PATCH.includes(e.a) === PATCH.includes(e.b) && e.axisDeg < 20);
    for (const e of same) expect(e.ratio).toBeGreaterThanOrEqual(CONSISTENT_RATIO);
    // Pairs: a mirror pair (view 1's repeated part against its twins in view 13, opposite), a true pair across the
    // patch's edge (3-4, 15 degrees apart), a pair inside the patch, a true pair of the rest.
    const mirror = pair(1, 13, (i) => twin.get(i)), trueCross = pair(3, 4, (i) => i), inside = pair(0, 1, (i) => i), rest = pair(10, 11, (i) => i);
    for (const p of [mirror, trueCross, inside, rest]) expect(p.inliers.length / 2).toBeGreaterThanOrEqual(4);
    expect(agreeingCrossPairs(result, feats, [mirror, trueCross, inside, rest], PATCH, 4)).toEqual([[1, 13]]);
  });

  it('a re-run with excluded pairs reuses the verification of the pruned trusted pass it repairs', async () => {
    const { input } = synthInput({ nCam: 8, nPts: 600, sigma: 0.5, outliers: 0.3, missing: 0.2, focalPriorFactor: 1, neighbours: 2, seed: 4 });
    const untrusted = { ...input, options: { noiseSigmas: 0 } };
    const trusted = { ...untrusted, images: input.images.map((im) => ({ ...im, focalFromExif: true })) };
    const cache: VerificationCache = {};
    await reconstructIncremental(untrusted, cache);
    const r1 = await reconstructIncremental(trusted, cache);
    const last = cache.last!;
    expect(last.key).toBe('1'.repeat(8));
    expect(last.verified.length).toBe(r1.stats.verifiedPairs);
    // Excluding view 0's pairs: same verification object (nothing verified again), view 0 left unregistered.
    const ex = last.verified.filter((v) => v.i === 0).map((v): [number, number] => [v.i, v.j]);
    expect(ex.length).toBeGreaterThan(0);
    const r2 = await reconstructIncremental({ ...trusted, options: { ...trusted.options, excludePairs: ex } }, cache);
    expect(cache.last!.verified).toBe(last.verified);
    expect(r1.cameras[0]).not.toBeNull();
    expect(r2.cameras[0]).toBeNull();
    expect(r2.cameras.filter(Boolean).length).toBe(7);
  });
});

describe('MIRROR_TRANSFER_RULE', () => {
  const OPTS = { minPnpInliers: 20, pnpErrorPx: 8, maxReprojectionPx: 4, minTriangulationAngleDeg: 1.5 };
  const R = (p: ArrayLike<number>) => [p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]];
  const centre = (p: ArrayLike<number>) => [0, 1, 2].map((k) => -(p[k] * p[3] + p[4 + k] * p[7] + p[8 + k] * p[11]));
  /**
   * The first run: views 0-3 mirrored (scene(true)). The repair: the true model in another gauge (a similarity:
   * rotated 40 degrees about y, scaled 0.5, shifted) with only `kept` of the patch registered; `bend` turns view 0's
   * repaired pose about the vertical axis (a wrong re-placement, so a wrong group motion).
   */
  function setupTransfer(kept: number[], bend = 0) {
    const bad = scene(true), good = scene(false);
    const a = (40 * Math.PI) / 180, s = 0.5, d = [0.3, -0.2, 0.7];
    const Q = [Math.cos(a), 0, Math.sin(a), 0, 1, 0, -Math.sin(a), 0, Math.cos(a)];
    const q = (x: number[]) => [0, 1, 2].map((i) => s * (Q[3 * i] * x[0] + Q[3 * i + 1] * x[1] + Q[3 * i + 2] * x[2]) + d[i]);
    const gauge = (p: number[]) => {
      // R' = R Q^T, t' = s t - R' d
      const Rp = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => p[4 * i] * Q[3 * j] + p[4 * i + 1] * Q[3 * j + 1] + p[4 * i + 2] * Q[3 * j + 2]));
      return [0, 1, 2].flatMap((i) => [Rp[3 * i], Rp[3 * i + 1], Rp[3 * i + 2], s * p[4 * i + 3] - (Rp[3 * i] * d[0] + Rp[3 * i + 1] * d[1] + Rp[3 * i + 2] * d[2])]);
    };
    const truth = good.result.cameras.map((c) => gauge(Array.from(c!.camFromWorld)));
    const gr = good.result;
    const pts: number[] = [];
    for (let p = 0; p < gr.points.length / 3; p++) pts.push(...q([gr.points[3 * p], gr.points[3 * p + 1], gr.points[3 * p + 2]]));
    const drop = (v: number) => PATCH.includes(v) && !kept.includes(v);
    const obs: number[] = [], start = [0];
    for (let p = 0; p < gr.points.length / 3; p++) {
      for (let o = gr.pointObservationStart[p]; o < gr.pointObservationStart[p + 1]; o++) if (!drop(gr.pointObservations[2 * o])) obs.push(gr.pointObservations[2 * o], gr.pointObservations[2 * o + 1]);
      start.push(obs.length / 2);
    }
    const cameras = gr.cameras.map((c, v) => {
      if (drop(v)) return null;
      let pose = truth[v];
      if (v === 0 && bend) {
        const b = (bend * Math.PI) / 180, Rb = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
        const Rv = R(pose), C = centre(pose);
        const Rn = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => Rv[3 * i] * Rb[j] + Rv[3 * i + 1] * Rb[3 + j] + Rv[3 * i + 2] * Rb[6 + j]));
        const t = [0, 1, 2].map((i) => -(Rn[3 * i] * C[0] + Rn[3 * i + 1] * C[1] + Rn[3 * i + 2] * C[2]));
        pose = [Rn[0], Rn[1], Rn[2], t[0], Rn[3], Rn[4], Rn[5], t[1], Rn[6], Rn[7], Rn[8], t[2]];
      }
      return { ...c!, camFromWorld: pose };
    });
    const repaired: SfmResult = { ...gr, cameras, points: Float32Array.from(pts), pointObservations: Uint32Array.from(obs), pointObservationStart: Uint32Array.from(start), unregistered: PATCH.filter(drop).map((index) => ({ index, reason: 'PnP failed' })) };
    // Putative matches: every pair's true correspondences.
    const pairs: PairMatches[] = [];
    for (let i = 0; i < NCAM; i++) for (let j = i + 1; j < NCAM; j++) {
      const m = good.pair(i, j, (x) => x).inliers;
      if (m.length >= 30) pairs.push({ i, j, matches: m });
    }
    const input: SfmInput = { images: good.feats.map((points, v) => ({ width: W, height: H, points, focalPrior: F, focalFromExif: true, cx: gr.cameras[v]!.K[2], cy: gr.cameras[v]!.K[5] })), pairs };
    return { first: bad.result, repaired, truth, input };
  }

  it('places the left-out views of a group from a re-placed member, in the repaired gauge', () => {
    const { first, repaired, truth, input } = setupTransfer([0]);
    const { result, report } = placeByTransfer(input, first, repaired, [PATCH], OPTS);
    expect(report.placed.sort()).toEqual([1, 2, 3]);
    for (const v of [1, 2, 3]) {
      const c = result.cameras[v]!;
      expect(rotationDistanceDeg(R(c.camFromWorld), R(truth[v]))).toBeLessThan(0.05);
      const e = centre(c.camFromWorld).map((x, k) => x - centre(truth[v])[k]);
      expect(Math.hypot(...e)).toBeLessThan(1e-3);
    }
    expect(result.unregistered).toEqual([]);
    // Each placed view observes model points (its PnP inliers) and the untouched input keeps its own arrays.
    const seenBy = new Set<number>();
    for (let o = 0; o < result.pointObservations.length; o += 2) seenBy.add(result.pointObservations[o]);
    for (const v of [1, 2, 3]) expect(seenBy.has(v)).toBe(true);
    expect(repaired.cameras[1]).toBeNull();
  });

  it('places nothing when no flagged view was re-placed', () => {
    const { first, repaired, input } = setupTransfer([]);
    const { result, report } = placeByTransfer(input, first, repaired, [PATCH], OPTS);
    expect(report.placed).toEqual([]);
    expect(result).toBe(repaired);
    expect(report.notes.map((n) => n.note)).toEqual(PATCH.map(() => 'no view of any flagged group re-placed'));
  });

  it('rejects the prediction of a wrong group motion', () => {
    // View 0 re-placed 25 degrees off: the motion it gives predicts views 1-3 far from any pose the data support.
    const { first, repaired, input } = setupTransfer([0], 25);
    const { report } = placeByTransfer(input, first, repaired, [PATCH], OPTS);
    expect(report.placed).toEqual([]);
    expect(report.notes).toHaveLength(3);
    for (const n of report.notes) expect(n.note).toMatch(/within 24 px of the predicted pose|rejected: /);
  });
});

describe('MIRROR_NEIGHBOUR_RULE', () => {
  const axis = (p: ArrayLike<number>) => [p[8], p[9], p[10]];
  const angleDeg = (a: number[], b: number[]) => (Math.acos(Math.min(1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2])) * 180) / Math.PI;

  it('pairs a left-out view with the registered views nearest its predicted pose that it was not matched with', () => {
    // 24 views on an orbit, 15 degrees apart; view 5 left out and predicted at its true pose; it was matched (by
    // "retrieval") with view 4, its nearest, and with views 17 and 18 on the far side.
    const { result } = scene(false);
    const left = 5;
    const cameras = result.cameras.map((c, v) => (v === left ? null : c));
    const pairs: PairMatches[] = [[4, 5], [5, 17], [5, 18]].map(([i, j]) => ({ i, j, matches: new Uint32Array(0) }));
    const pose = result.cameras[left]!.camFromWorld;
    const out = neighbourPairs({ pairs }, { cameras }, [{ index: left, pose }]);
    const others = out.map(([i, j]) => (i === left ? j : i));
    expect(out.every(([i, j]) => i < j && (i === left || j === left))).toBe(true);
    // Not view 4 (already matched), nor the far side; the nearest others in order of axis angle, all within the rule's angle.
    expect(others).not.toContain(4);
    expect(others.length).toBe(Math.min(NEIGHBOUR_PAIRS, others.length));
    const angles = others.map((o) => angleDeg(axis(pose), axis(result.cameras[o]!.camFromWorld)));
    for (const a of angles) expect(a).toBeLessThanOrEqual(NEIGHBOUR_AXIS_DEG);
    const expected = cameras.map((c, o) => ({ o, a: c ? angleDeg(axis(pose), axis(c.camFromWorld)) : 999 })).filter(({ o, a }) => o !== 4 && a <= NEIGHBOUR_AXIS_DEG).sort((x, y) => x.a - y.a).slice(0, NEIGHBOUR_PAIRS).map(({ o }) => o);
    expect(new Set(others)).toEqual(new Set(expected));
    expect(others).toEqual(expect.arrayContaining([3, 6, 2, 7]));
    // A pose with no registered view within the angle gets no pair.
    const lonely = cameras.map((c) => (c && angleDeg(axis(pose), axis(c.camFromWorld)) > NEIGHBOUR_AXIS_DEG ? c : null));
    expect(neighbourPairs({ pairs }, { cameras: lonely }, [{ index: left, pose }])).toEqual([]);
  });

  it('verifies only the pairs appended after a cached verification, as a full verification would', async () => {
    const { input } = synthInput({ nCam: 8, nPts: 600, sigma: 0.5, outliers: 0.3, missing: 0.2, focalPriorFactor: 1, neighbours: 3, seed: 7 });
    const trusted: SfmInput = { ...input, images: input.images.map((im) => ({ ...im, focalFromExif: true })), options: { noiseSigmas: 0 } };
    let jobs = 0;
    const counting: SfmInput['verify'] = (j, signal, progress) => { jobs += j.count; return verifySerial(j, signal, progress); };
    const keep = trusted.pairs.length - 3;
    const cache: VerificationCache = {};
    await reconstructIncremental({ ...trusted, pairs: trusted.pairs.slice(0, keep), verify: counting }, cache);
    expect(cache.last!.pairs).toBe(keep);
    const before = jobs;
    const appended = await reconstructIncremental({ ...trusted, verify: counting }, cache);
    expect(jobs - before).toBe(3);
    expect(cache.last!.pairs).toBe(trusted.pairs.length);
    const full = await reconstructIncremental(trusted, {});
    const keyOf = (v: { i: number; j: number; inliers: Uint32Array }) => `${v.i}-${v.j}:${Array.from(v.inliers).join(',')}`;
    expect(cache.last!.verified.map(keyOf).sort()).toEqual((await (async () => { const c: VerificationCache = {}; await reconstructIncremental(trusted, c); return c.last!.verified; })()).map(keyOf).sort());
    expect(appended.cameras.map((c) => c?.camFromWorld.map((x) => +x.toFixed(6)))).toEqual(full.cameras.map((c) => c?.camFromWorld.map((x) => +x.toFixed(6))));
  });
});
