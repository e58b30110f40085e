import { describe, expect, it } from 'vitest';
import { composePoses, lookAt, projectPoint } from '../../src/core/camera';
import type { CaptureSet } from '../../src/core/capture';
import { makeRng } from '../../src/stages/sfm/geometry/linalg';
import { adjustGivenPoses, carryToHeldOut, posePairs } from '../../src/stages/sfm/refineGiven';
import type { ImageFeatures, PairMatches } from '../../src/stages/sfm/types';

/**
 * 10 cameras on a 25-degree arc 2 m from 600 points in a 1 m box; features are exact projections plus noise.
 * `rollDeg`: cameras turned about their axes by -roll / 0 / +roll in turn (upright cameras cannot tell a pixel aspect
 * from a vertical stretch of the scene).
 */
function scene(noisePx: number, seed = 3, K = [500, 0, 319.5, 0, 500, 239.5, 0, 0, 1], rollDeg = 0) {
  const rand = makeRng(seed);
  const cams = Array.from({ length: 10 }, (_, i) => {
    const a = ((i - 4.5) * 2.5 * Math.PI) / 180, roll = (((i % 3) - 1) * rollDeg * Math.PI) / 180;
    return lookAt([2 * Math.sin(a), 0.3 * Math.cos(3 * a), -2 * Math.cos(a)], [0, 0, 0], [Math.sin(roll), -Math.cos(roll), 0]);
  });
  const points = Array.from({ length: 600 }, () => [rand() - 0.5, rand() - 0.5, rand() - 0.5]);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const features: ImageFeatures[] = cams.map((pose) => {
    const keypoints = new Float32Array(4 * points.length);
    points.forEach((p, k) => {
      const q = projectPoint(K, pose, p[0], p[1], p[2]);
      keypoints.set([q.u + noisePx * gauss(), q.v + noisePx * gauss(), 2, 0], 4 * k);
    });
    return { width: 640, height: 480, count: points.length, keypoints, descriptors: new Uint8Array(128 * points.length) };
  });
  const matches: PairMatches[] = [];
  for (let i = 0; i < cams.length; i++) for (let j = i + 1; j < cams.length; j++) {
    matches.push({ i, j, matches: Uint32Array.from(points.flatMap((_, k) => [k, k])) });
  }
  return { K, cams, features, matches, rand };
}

/** Rotation (deg) between the relative rotations i -> j of two pose sets, median over all pairs. */
function relativeRotationError(a: number[][], b: number[][]): number {
  const R = (p: number[]) => [0, 1, 2].map((r) => [0, 1, 2].map((c) => p[4 * r + c]));
  const rel = (p: number[], q: number[]) => {
    const A = R(p), B = R(q);
    return [0, 1, 2].map((r) => [0, 1, 2].map((c) => B[r][0] * A[c][0] + B[r][1] * A[c][1] + B[r][2] * A[c][2]));
  };
  const errors: number[] = [];
  for (let i = 0; i < a.length; i++) for (let j = i + 1; j < a.length; j++) {
    const X = rel(a[i], a[j]), Y = rel(b[i], b[j]);
    let trace = 0;
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) trace += X[r][c] * Y[r][c];
    errors.push((Math.acos(Math.max(-1, Math.min(1, (trace - 1) / 2))) * 180) / Math.PI);
  }
  return errors.sort((x, y) => x - y)[Math.floor(errors.length / 2)];
}

/** Turns a pose by `deg` about a random axis and moves its centre by `shift`. */
function perturb(pose: number[], deg: number, shift: number, rand: () => number): number[] {
  const axis = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
  const n = Math.hypot(...axis);
  const [x, y, z] = axis.map((v) => v / n);
  const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t), C = 1 - c;
  const D = [[c + x * x * C, x * y * C - z * s, x * z * C + y * s], [y * x * C + z * s, c + y * y * C, y * z * C - x * s], [z * x * C - y * s, z * y * C + x * s, c + z * z * C]];
  const R = [0, 1, 2].map((r) => [0, 1, 2].map((col) => D[r][0] * pose[col] + D[r][1] * pose[4 + col] + D[r][2] * pose[8 + col]));
  const tr = [0, 1, 2].map((r) => pose[4 * r + 3] + shift * (rand() - 0.5) * 2);
  return [R[0][0], R[0][1], R[0][2], tr[0], R[1][0], R[1][1], R[1][2], tr[1], R[2][0], R[2][1], R[2][2], tr[2]];
}

describe('refinement of given cameras (GIVEN_POSE_BA_RULE)', () => {
  it('brings poses that are ~0.3 deg off back to the photos, keeping the frame and scale', async () => {
    const { K, cams, features, matches, rand } = scene(0.3);
    const given = cams.map((p) => perturb(p, 0.3, 0.004, rand));
    const views = given.map((p) => ({ K, camFromWorld: p.slice() }));
    const before = relativeRotationError(given, cams);
    const stats = await adjustGivenPoses(views, features, matches);
    const after = relativeRotationError(views.map((v) => v.camFromWorld), cams);
    console.log(`[given-pose BA] ${JSON.stringify({ ...stats, points: undefined })} relative rotation error ${before.toFixed(3)} -> ${after.toFixed(3)} deg`);
    expect(stats.accepted).toBe(true);
    expect(stats.tracks).toBeGreaterThan(400);
    // The adjusted tracks' points come back (CaptureSet.scenePoints), in the scene: the cube of half-side 0.5.
    expect(stats.points!.length).toBe(3 * stats.tracks);
    expect(stats.points!.every((v) => Math.abs(v) < 0.55)).toBe(true);
    expect(stats.rmsAfter).toBeLessThan(0.5 * stats.rmsBefore);
    expect(before).toBeGreaterThan(0.2);
    // The given poses are a soft prior (0.3 deg): the result sits a little toward them...
    expect(after).toBeLessThan(0.1);
    // ...and without the prior the photos alone decide.
    const free = given.map((p) => ({ K, camFromWorld: p.slice() }));
    expect((await adjustGivenPoses(free, features, matches, { priorRotationDeg: 0 })).accepted).toBe(true);
    expect(relativeRotationError(free.map((v) => v.camFromWorld), cams)).toBeLessThan(0.05);
    // The scale of the given poses stays: the distance between the first and last camera centres within 2%.
    const centre = (p: number[]) => [0, 1, 2].map((i) => -(p[i] * p[3] + p[4 + i] * p[7] + p[8 + i] * p[11]));
    const span = (ps: number[][]) => Math.hypot(...centre(ps[0]).map((v, i) => v - centre(ps[9])[i]));
    expect(span(views.map((v) => v.camFromWorld)) / span(cams)).toBeGreaterThan(0.98);
    expect(span(views.map((v) => v.camFromWorld)) / span(cams)).toBeLessThan(1.02);
  });

  it('pairs each camera with its nearest cameras that look the same way, once per pair', async () => {
    const { K, cams } = scene(0.3);
    const views = cams.map((p) => ({ K, camFromWorld: p }));
    // A camera turned away (looking the other way) pairs with no one.
    views.push({ K, camFromWorld: lookAt([0, 0, -2], [0, 0, -4], [0, -1, 0]) });
    const pairs = posePairs(views, 3);
    expect(pairs.every(([i, j]) => i < j && j !== 10)).toBe(true);
    expect(new Set(pairs.map((p) => p.join())).size).toBe(pairs.length);
    // Camera 0 (an end of the arc) pairs with its three neighbours 1, 2, 3.
    expect(pairs.filter(([i]) => i === 0).map(([, j]) => j).sort()).toEqual([1, 2, 3]);
  });

  it('leaves exact poses alone (square or not), and refuses skew', async () => {
    const { K, cams, features, matches } = scene(0.3, 5);
    const views = cams.map((p) => ({ K, camFromWorld: p.slice() }));
    const stats = await adjustGivenPoses(views, features, matches);
    expect(stats.accepted).toBe(false);
    expect(stats.reason).toMatch(/already explain/);
    views.forEach((v, i) => expect(v.camFromWorld).toEqual(cams[i]));
    const skewed = cams.map((p) => ({ K: [500, 0.5, 319.5, 0, 500, 239.5, 0, 0, 1], camFromWorld: p.slice() }));
    expect((await adjustGivenPoses(skewed, features, matches)).reason).toMatch(/skew/);
    // Non-square pixels given exactly: nothing to mend either.
    const tall = scene(0.3, 5, [500, 0, 319.5, 0, 520, 239.5, 0, 0, 1]);
    const tallViews = tall.cams.map((p) => ({ K: tall.K, camFromWorld: p.slice() }));
    const tallStats = await adjustGivenPoses(tallViews, tall.features, tall.matches, { refineAspect: true });
    expect(tallStats.reason).toMatch(/already explain/);
    expect(tallStats.rmsBefore).toBeLessThan(0.6);
    // (and without refining the aspect: the given fy is used as it is)
    const tallHeld = await adjustGivenPoses(tall.cams.map((p) => ({ K: tall.K, camFromWorld: p.slice() })), tall.features, tall.matches);
    expect(tallHeld.reason).toMatch(/already explain/);
    expect(tallHeld.rmsBefore).toBeLessThan(0.6);
  });

  it('recovers a pixel aspect the given K leaves out (fy 3% over fx), and the poses with it', async () => {
    const truthK = [500, 0, 319.5, 0, 515, 239.5, 0, 0, 1];
    const { cams, features, matches, rand } = scene(0.3, 7, truthK, 30);
    const given = cams.map((p) => perturb(p, 0.3, 0.004, rand));
    const square = [500, 0, 319.5, 0, 500, 239.5, 0, 0, 1];
    const held = given.map((p) => ({ K: square, camFromWorld: p.slice() }));
    const heldStats = await adjustGivenPoses(held, features, matches);
    const views = given.map((p) => ({ K: square, camFromWorld: p.slice() }));
    const stats = await adjustGivenPoses(views, features, matches, { refineAspect: true });
    const before = relativeRotationError(given, cams), withoutAspect = relativeRotationError(held.map((v) => v.camFromWorld), cams);
    const after = relativeRotationError(views.map((v) => v.camFromWorld), cams);
    console.log(`[given-pose BA, aspect] ${JSON.stringify(stats.intrinsics)} RMS ${heldStats.rmsAfter.toFixed(3)} (square) / ${stats.rmsAfter.toFixed(3)} px; relative rotation ${before.toFixed(3)} -> ${withoutAspect.toFixed(3)} (square) / ${after.toFixed(3)} deg`);
    expect(stats.accepted).toBe(true);
    expect(stats.intrinsics![1] / stats.intrinsics![0]).toBeGreaterThan(1.025);
    expect(stats.intrinsics![1] / stats.intrinsics![0]).toBeLessThan(1.035);
    // Only the rows' focal moves: fx and the principal point stay the given ones.
    expect(views[0].K[0]).toBe(500);
    expect(views[0].K[2]).toBe(319.5);
    expect(views[0].K[5]).toBe(239.5);
    expect(stats.rmsAfter).toBeLessThan(0.5);
    expect(stats.rmsAfter).toBeLessThan(0.8 * heldStats.rmsAfter);
    expect(after).toBeLessThan(0.05);
    expect(withoutAspect).toBeGreaterThan(2 * after);
  });
});

describe('GIVEN_POSE_RELIEF_RULE', () => {
  it('lands on the same relief whatever the rotation prior it starts from, where the prior alone would decide it', async () => {
    // A hand-held sweep with a narrow view: 30 cameras 2 cm apart along x (f = 1500 px, 24 degrees across), looking
    // down +z at points 2-2.5 m away; the given poses carry 0.1-deg rotation errors, the photos a lens distortion the
    // given K leaves out.
    const rand = makeRng(21);
    const K = [1500, 0, 319.5, 0, 1500, 239.5, 0, 0, 1];
    const K1 = 0.5;
    const cams = Array.from({ length: 30 }, (_, i) => lookAt([(i - 14.5) * 0.02, 0.002 * Math.sin(i), 0], [(i - 14.5) * 0.01, 0, 2.25], [0, -1, 0]));
    const points = Array.from({ length: 800 }, () => [(rand() - 0.5) * 1.4, (rand() - 0.5) * 0.8, 2 + 0.5 * rand()]);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const features: ImageFeatures[] = cams.map((pose) => {
      const keypoints = new Float32Array(4 * points.length);
      points.forEach((p, k) => {
        // a lens distortion the given K leaves out (k1 = K1): the systematic error that moves the adjustment along
        // the ambiguity
        const q = projectPoint(K, pose, p[0], p[1], p[2]);
        const x = (q.u - K[2]) / K[0], y = (q.v - K[5]) / K[4], d = 1 + K1 * (x * x + y * y);
        keypoints.set([K[2] + K[0] * d * x + 0.5 * gauss(), K[5] + K[4] * d * y + 0.5 * gauss(), 2, 0], 4 * k);
      });
      return { width: 640, height: 480, count: points.length, keypoints, descriptors: new Uint8Array(128 * points.length) };
    });
    const inView = (pose: number[], k: number) => {
      const q = projectPoint(K, pose, points[k][0], points[k][1], points[k][2]);
      return q.u > 0 && q.v > 0 && q.u < 640 && q.v < 480;
    };
    const given = cams.map((p) => perturb(p, 0.1, 0.001, rand));
    const views = () => given.map((p) => ({ K, camFromWorld: p.slice() }));
    const matches: PairMatches[] = posePairs(views()).map(([i, j]) => ({ i, j, matches: Uint32Array.from(points.flatMap((_, k) => (inView(cams[i], k) && inView(cams[j], k) ? [k, k] : []))) }));
    const run = async (options: Parameters<typeof adjustGivenPoses>[3]) => {
      const v = views();
      const stats = await adjustGivenPoses(v, features, matches, options);
      return { stats, error: relativeRotationError(v.map((x) => x.camFromWorld), cams) };
    };
    const loose = await run({ priorRotationDeg: 1 }), tight = await run({ priorRotationDeg: 0.1 });
    const looseFree = await run({ priorRotationDeg: 1, keepGivenRelief: false }), tightFree = await run({ priorRotationDeg: 0.1, keepGivenRelief: false });
    console.log(`[given-pose relief] from 1 deg: ${JSON.stringify(loose.stats.relief)}, from 0.1 deg: ${JSON.stringify(tight.stats.relief)}; relative rotation error ${relativeRotationError(given, cams).toFixed(3)} (given) -> ${loose.error.toFixed(3)} / ${tight.error.toFixed(3)} deg (without the rule: ${looseFree.error.toFixed(3)} / ${tightFree.error.toFixed(3)})`);
    for (const r of [loose, tight]) {
      expect(r.stats.accepted).toBe(true);
      expect(Math.abs(r.stats.relief!.depthRatio - 1)).toBeLessThanOrEqual(0.01);
    }
    // From either end the poses come out alike and better than the given ones; without the rule the prior decides
    // (from 1 deg a camera would turn too far and the given poses stay; from 0.1 deg the relief is 4x worse).
    const givenError = relativeRotationError(given, cams);
    expect(loose.error).toBeLessThan(0.75 * givenError);
    expect(tight.error).toBeLessThan(0.75 * givenError);
    expect(Math.abs(loose.error - tight.error)).toBeLessThan(0.02);
    expect(tightFree.error).toBeGreaterThan(2 * tight.error);
    expect(looseFree.error).toBeGreaterThan(1.5 * loose.error);
    // The hook before each adjustment (the job yields there and checks for cancellation): once per run, and what it
    // throws ends the refinement.
    let calls = 0;
    const counted = await adjustGivenPoses(views(), features, matches, { priorRotationDeg: 1 }, async () => { calls++; });
    expect(calls).toBe(counted.relief!.runs);
    await expect(adjustGivenPoses(views(), features, matches, { priorRotationDeg: 1 }, async (k) => { if (k === 2) throw new Error('cancelled'); })).rejects.toThrow('cancelled');
  });
});

describe('held-out views under an adjustment of the given cameras', () => {
  it('take the correction of the adjusted view nearest them: exact for a correction common to all cameras', () => {
    const rand = makeRng(5);
    const K = [500, 0, 319.5, 0, 500, 239.5, 0, 0, 1];
    const given = Array.from({ length: 6 }, (_, i) => lookAt([0.1 * i, 0, 0], [0.1 * i, 0.2, 2]));
    // the adjustment: the whole world turned by 1 deg and moved (what the photos cannot tell from the given poses)
    const W = perturb([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], 1, 0.05, rand);
    const adjusted = given.map((p) => ({ K, camFromWorld: composePoses(p, W) }));
    const heldPose = lookAt([0.22, 0.01, 0], [0.22, 0.2, 2]);
    const capture = { views: [...given.map((p) => ({ heldOut: false, camFromWorld: p, K })), { heldOut: true, camFromWorld: heldPose.slice(), K: K.slice() }, { heldOut: true, camFromWorld: null, K }] } as unknown as CaptureSet;
    carryToHeldOut(capture, adjusted, given.map((p) => ({ pose: p, K })));
    const expected = composePoses(heldPose, W);
    capture.views[6].camFromWorld!.forEach((v, k) => expect(v).toBeCloseTo(expected[k], 12));
    expect(capture.views[7].camFromWorld).toBeNull();
    // Each camera its own correction (and camera 2 a refined K): the held-out view at x = 0.22 takes camera 2's.
    const Ws = given.map(() => perturb([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], 1, 0.05, rand));
    const refinedK = [510, 0, 320, 0, 510, 240, 0, 0, 1];
    const each = given.map((p, i) => ({ K: i === 2 ? refinedK : K, camFromWorld: composePoses(p, Ws[i]) }));
    capture.views[6].camFromWorld = heldPose.slice();
    carryToHeldOut(capture, each, given.map((p) => ({ pose: p, K })));
    const nearest = composePoses(heldPose, Ws[2]);
    capture.views[6].camFromWorld!.forEach((v, k) => expect(v).toBeCloseTo(nearest[k], 12));
    expect(capture.views[6].K).toEqual(refinedK);
  });
});
