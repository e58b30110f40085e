import { describe, expect, it } from 'vitest';
import { decodeFixed, initialParams, NO_FACE, paramLayout, weldMesh } from '../../src/stages/refine/problem';
import { bakeRadiance, meshFromParams } from '../../src/stages/refine/refineMesh';
import { MIN_VISITS_PER_PHOTO, REFINE_ITERATIONS, refineIterations, splitValidation } from '../../src/models/refine';
import type { TexturedMesh } from '../../src/core/mesh';

/** Two quads side by side whose shared edge is a UV seam (its two vertices exist twice). */
function seamMesh(): TexturedMesh {
  const positions = Float32Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, /* seam copies */ 1, 0, 0, 1, 1, 0, 2, 0, 0, 2, 1, 0]);
  const uvs = Float32Array.from([0.1, 0.1, 0.4, 0.1, 0.4, 0.4, 0.1, 0.4, 0.6, 0.1, 0.6, 0.4, 0.9, 0.1, 0.9, 0.4]);
  const indices = Uint32Array.from([0, 1, 2, 0, 2, 3, 4, 6, 7, 4, 7, 5]);
  const T = 4, data = new Uint8Array(T * T * 4);
  for (let i = 0; i < T * T; i++) data.set([i * 10, 255 - i * 10, 100, 255], 4 * i);
  return { positions, uvs, indices, texture: { width: T, height: T, data } };
}

/** The WGSL encoder (refine_fixed.wgsl) in integer arithmetic: value -> (lo, hi) two's complement words. */
function encodeFixed(value: number): [number, number] {
  const big = BigInt.asUintN(64, BigInt(Math.trunc(value * 2 ** 24)));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

describe('refine host helpers', () => {
  it('welds seam copies and builds a symmetric adjacency', () => {
    const w = weldMesh(seamMesh());
    expect(w.positions.length / 3).toBe(6);
    expect(w.weldOf[4]).toBe(w.weldOf[1]);
    expect(w.weldOf[5]).toBe(w.weldOf[2]);
    for (let v = 0; v < 6; v++) for (let k = w.adjOffsets[v]; k < w.adjOffsets[v + 1]; k++) {
      const u = w.adjList[k];
      expect(Array.from(w.adjList.subarray(w.adjOffsets[u], w.adjOffsets[u + 1]))).toContain(v);
    }
    // Faces keep their uv corners (mesh vertices) beside the welded ones.
    expect(Array.from(w.faces.subarray(12, 18))).toEqual([w.weldOf[4], w.weldOf[6], w.weldOf[7], 4, 6, 7]);
  });

  it('pairs faces across their shared edges only where the winding agrees', () => {
    // A tetrahedron, wound consistently (outward), plus a face that the weld collapses (corners 0 and 4 coincide).
    const positions = Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    const tetra = [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3];
    const w = weldMesh({ positions, indices: Uint32Array.from([...tetra, 0, 4, 1]) });
    for (let f = 0; f < 4; f++) for (let k = 0; k < 3; k++) {
      const g = w.faceAdj[3 * f + k];
      expect(g, `face ${f} edge ${k}`).toBeLessThan(4);
      // symmetric: the face across lists this face across the same edge
      expect(Array.from(w.faceAdj.subarray(3 * g, 3 * g + 3))).toContain(f);
    }
    expect(Array.from(w.faceAdj.subarray(12, 15))).toEqual([NO_FACE, NO_FACE, NO_FACE]);
    // Flipping one face's winding leaves its three edges without a face across (and its neighbours' edges to it).
    const flipped = weldMesh({ positions, indices: Uint32Array.from([0, 1, 2, ...tetra.slice(3)]) });
    expect(Array.from(flipped.faceAdj.subarray(0, 3))).toEqual([NO_FACE, NO_FACE, NO_FACE]);
    expect(Array.from(flipped.faceAdj.subarray(3)).filter((g) => g === NO_FACE)).toHaveLength(3);
    // A third face on an edge makes it non-manifold: no face across it for any of the three.
    const fin = weldMesh({ positions: Float32Array.from([...positions.slice(0, 12), 1, 1, 1]), indices: Uint32Array.from([...tetra, 1, 4, 2]) });
    expect(fin.faceAdj[3 * 4 + 2]).toBe(NO_FACE);
    expect(fin.faceAdj[3 * 0 + 1]).toBe(NO_FACE);
  });

  it('decodes 64-bit fixed point exactly, negative values and carries included', () => {
    for (const v of [0, 1.5, -1.5, -3e-7 * 2 ** 0, 123456.25, -98765.5, 2 ** 30 + 0.75, -(2 ** 33)]) {
      const [lo, hi] = encodeFixed(v);
      const words = Uint32Array.from([lo, hi]);
      expect(decodeFixed(words, 0)).toBeCloseTo(Math.trunc(v * 2 ** 24) / 2 ** 24, 9);
    }
    // A sum of a positive and a negative value through the u32 words (what the atomics do) decodes to their sum.
    const [alo, ahi] = encodeFixed(5.25), [blo, bhi] = encodeFixed(-7.5);
    const lo = (alo + blo) >>> 0, carry = alo + blo > 0xffffffff ? 1 : 0;
    expect(decodeFixed(Uint32Array.from([lo, (ahi + bhi + carry) >>> 0]), 0)).toBeCloseTo(-2.25, 9);
  });

  it('returns the starting mesh unchanged from the initial parameters', () => {
    const mesh = seamMesh();
    const w = weldMesh(mesh);
    const layout = paramLayout(6, 4, 4, 3);
    const params = initialParams(layout, w.positions, mesh.texture);
    const out = meshFromParams(mesh, { layout, welded: w, trainViews: 3 }, params);
    expect(Array.from(out.positions)).toEqual(Array.from(mesh.positions));
    expect(Array.from(out.texture.data)).toEqual(Array.from(mesh.texture.data));
  });

  it('bakes the fitted light into the texture at each texel normal', () => {
    const mesh = seamMesh();
    const w = weldMesh(mesh);
    const layout = paramLayout(6, 4, 4, 1);
    const params = initialParams(layout, w.positions, mesh.texture);
    params.set([0.5, 0, 0, 0.25], layout.lightOff); // normal +z everywhere: shade 0.75
    const tex = bakeRadiance(params, layout, mesh.positions, mesh.indices, mesh.uvs, 1);
    for (let i = 0; i < 16; i++) expect(tex.data[4 * i + 1]).toBe(Math.round(0.75 * (255 - i * 10)));
  });

  it('holds back every eighth view for validation', () => {
    const views = Array.from({ length: 17 }, (_, i) => i);
    const { train, validation } = splitValidation(views);
    expect(validation).toEqual([7, 15]);
    expect(train.length).toBe(15);
    expect(splitValidation([1, 2, 3]).validation).toEqual([]);
  });

  it('draws every training photo at least MIN_VISITS_PER_PHOTO times, within twice the preset (REFINE_VISITS_RULE)', () => {
    // spot and bob (19 training photos): the preset's iterations
    expect(refineIterations('standard', 19, 4)).toBe(REFINE_ITERATIONS.standard);
    // lego (77): 963 iterations, 50 draws each
    const lego = refineIterations('standard', 77, 4);
    expect(lego).toBe(963);
    expect((lego * 4) / 77).toBeGreaterThanOrEqual(MIN_VISITS_PER_PHOTO);
    // a large capture stops at twice the preset; high already draws lego's photos often enough
    expect(refineIterations('standard', 500, 4)).toBe(2 * REFINE_ITERATIONS.standard);
    expect(refineIterations('high', 77, 4)).toBe(REFINE_ITERATIONS.high);
    // a smaller batch draws each photo less often per iteration
    expect(refineIterations('draft', 30, 1)).toBe(2 * REFINE_ITERATIONS.draft);
  });
});
