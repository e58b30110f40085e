/**
 * Descriptor matching shared by the GPU path and the tests: the nearest-neighbour record of one query, the ratio and
 * mutual tests applied to two directions, and a CPU reference of the GPU kernel (match.wgsl) with the same exact
 * integer distances and tie rule (lower index wins).
 */
import type { ImageFeatures, PairMatches } from '../types';

export interface MatchOptions {
  /** Lowe's ratio on distances (not squared). Default 0.8. */
  ratio?: number;
  /** Keep a match only when each is the other's nearest neighbour. Default true. */
  mutual?: boolean;
}

/** Per query: nearest reference index, squared distance to it and to the second nearest (NO_MATCH_DIST if none). */
export interface Nearest {
  index: Uint32Array;
  d1: Uint32Array;
  d2: Uint32Array;
}

export const NO_MATCH_DIST = 0x3fffffff;

export function descriptorNorms(descriptors: Uint8Array): Uint32Array {
  const n = descriptors.length / 128;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < 128; k++) s += descriptors[128 * i + k] ** 2;
    out[i] = s;
  }
  return out;
}

/** CPU reference of match.wgsl for one direction. */
export function nearestCpu(query: Uint8Array, ref: Uint8Array): Nearest {
  const nq = query.length / 128, nr = ref.length / 128;
  const qn = descriptorNorms(query), rn = descriptorNorms(ref);
  const out: Nearest = { index: new Uint32Array(nq).fill(0xffffffff), d1: new Uint32Array(nq).fill(NO_MATCH_DIST), d2: new Uint32Array(nq).fill(NO_MATCH_DIST) };
  for (let a = 0; a < nq; a++) {
    let s1 = NO_MATCH_DIST, s2 = NO_MATCH_DIST, j1 = 0xffffffff;
    for (let b = 0; b < nr; b++) {
      let dot = 0;
      for (let k = 0; k < 128; k++) dot += query[128 * a + k] * ref[128 * b + k];
      const sc = rn[b] - 2 * dot;
      if (sc < s1) { s2 = s1; s1 = sc; j1 = b; }
      else if (sc < s2) s2 = sc;
    }
    out.index[a] = j1;
    if (s1 < NO_MATCH_DIST) out.d1[a] = Math.max(0, qn[a] + s1);
    if (s2 < NO_MATCH_DIST) out.d2[a] = Math.max(0, qn[a] + s2);
  }
  return out;
}

/**
 * The ratio test on the forward direction (d1 < ratio^2 d2 in float32, as squared distances) and, when asked, the
 * mutual check against the backward direction's nearest neighbours. Returns [a0, b0, a1, b1, ...].
 */
export function filterMatches(forward: Nearest, backward: Nearest | null, options: MatchOptions = {}): Uint32Array {
  const r2 = Math.fround((options.ratio ?? 0.8) ** 2);
  const mutual = options.mutual ?? true;
  const out: number[] = [];
  for (let a = 0; a < forward.index.length; a++) {
    const b = forward.index[a];
    if (b === 0xffffffff) continue;
    if (!(forward.d1[a] < Math.fround(r2 * forward.d2[a]))) continue;
    if (mutual && backward && backward.index[b] !== a) continue;
    out.push(a, b);
  }
  return Uint32Array.from(out);
}

/** CPU reference of matchPairs. */
export function matchPairsCpu(features: ImageFeatures[], pairs: [number, number][], options: MatchOptions = {}): PairMatches[] {
  return pairs.map(([i, j]) => {
    const fwd = nearestCpu(features[i].descriptors, features[j].descriptors);
    const bwd = (options.mutual ?? true) ? nearestCpu(features[j].descriptors, features[i].descriptors) : null;
    return { i, j, matches: filterMatches(fwd, bwd, options) };
  });
}
