/**
 * Distance to the silhouette for the background pixels of a masked depth map, so that fusion can give a grid point
 * that projects onto background its (estimated) distance to the surface instead of "free space, a full truncation
 * away". With the full truncation, a point just inside a thin or strongly curved part (an ear, a leg) that rounds to
 * a background pixel next to the outline gets +1 from that view, the zero crossing moves inwards, and the fused
 * outline shrinks by a fraction of a pixel all round: on the synthetic spot capture that sub-pixel shrink was most of
 * the held-out error (the renderer's antialiased edge pixels lose coverage).
 *
 * A background pixel at distance D (pixel centres) from the nearest foreground pixel puts a grid point that rounds to
 * it D pixels outside the silhouette, times depth / focal length in world units (tsdf_integrate.wgsl, cpuReference.ts).
 * The outline lies between the two pixel centres, so D - 0.5 would be its expected distance from the background
 * pixel's centre; the full D gave the smaller outline error on the synthetic spot capture at standard (held-out views,
 * 4x4 supersampled coverage against the true mesh: 107 px too big + 64 too small over 3 views, vs 146 + 45 with
 * D - 0.5, 48 + 151 with the old "background = a full truncation"), so no offset is subtracted.
 */

/** Background marker in the depth maps fusion reads (types.ts): any value < 0; producers write -1. */
export const BACKGROUND = -1;

/** Stands in for "no foreground pixel in the view" (farther than any truncation in pixels). */
export const FAR_FROM_SILHOUETTE = 1e6;

/**
 * 1D squared distance transform (Felzenszwalb and Huttenlocher): f (0 or +inf) -> out[q] = min_p (q - p)^2 + f[p].
 * `v`, `z` are scratch arrays of length n and n + 1.
 */
function transform1d(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    // z[0] = -inf, so the search stops at k = 0 at the latest.
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * (q - v[k]));
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * (q - v[k]));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    const d = q - v[j];
    out[q] = d * d + f[v[j]];
  }
}

/**
 * Euclidean distance, in pixels, from each background pixel's centre (depth < 0) to the nearest foreground pixel's
 * centre (depth >= 0: measured or missing depth inside the mask); 0 on foreground. A view without foreground gets
 * FAR_FROM_SILHOUETTE everywhere.
 */
export function silhouetteDistance(depth: Float32Array, width: number, height: number): Float32Array {
  const n = width * height;
  const grid = new Float64Array(n);
  const longest = Math.max(width, height);
  const f = new Float64Array(longest), out = new Float64Array(longest), z = new Float64Array(longest + 1);
  const v = new Int32Array(longest);
  // Columns, then rows.
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = depth[y * width + x] < 0 ? Infinity : 0;
    transform1d(f, height, out, v, z);
    for (let y = 0; y < height; y++) grid[y * width + x] = out[y];
  }
  const result = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = grid[y * width + x];
    transform1d(f, width, out, v, z);
    for (let x = 0; x < width; x++) result[y * width + x] = out[x] === Infinity ? FAR_FROM_SILHOUETTE : Math.sqrt(out[x]);
  }
  return result;
}

/**
 * The depth map as the integration kernel reads it: foreground unchanged, background pixels hold minus their distance
 * to the silhouette in pixels (<= -1, so "< 0 is background" still holds). Returns the input itself when it has no
 * background.
 */
export function withSilhouetteDistance(depth: Float32Array, width: number, height: number): Float32Array {
  let any = false;
  for (let i = 0; i < depth.length; i++) if (depth[i] < 0) {
    any = true;
    break;
  }
  if (!any) return depth;
  const distance = silhouetteDistance(depth, width, height);
  const out = new Float32Array(depth);
  for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = -distance[i];
  return out;
}
