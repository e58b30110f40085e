/**
 * Measures of a UV atlas (tests and the atlas bench): how many texels carry surface, how many surface texels each
 * world unit of area gets (sharpness at a fixed atlas size), and how much the unwrap distorts.
 */

export interface AtlasQuality {
  /** Fraction of atlas texels whose centre lies inside some triangle. */
  covered: number;
  /** Texel centres strictly inside two triangles (an overlap: two surface points would share a texel). */
  overlaps: number;
  /** Covered texels per unit of surface area (higher: sharper texture at this atlas size). */
  texelsPerArea: number;
  /** Area-weighted mean of uv area / surface area, relative to the nominal density (1 = no area stretch). */
  areaScale: number;
  /** Area-weighted mean and 95th percentile of the larger over the smaller singular value of the uv map (1 = conformal). */
  angleStretch: number;
  angleStretchP95: number;
  /** Triangles whose uv winding is the opposite of the majority. */
  flipped: number;
}

/**
 * @param uvs per vertex, in [0, 1] (v down, as the mesh convention)
 * @param texelsPerUnit nominal density the atlas was built for (its `texelsPerUnit`)
 */
export function atlasQuality(positions: Float32Array, indices: Uint32Array, uvs: Float32Array, atlasSize: number, texelsPerUnit: number): AtlasQuality {
  const size = atlasSize;
  const owner = new Int32Array(size * size).fill(-1);
  let overlaps = 0, coveredCount = 0, positive = 0, negative = 0;
  let surface = 0, areaSum = 0, angleSum = 0;
  const stretches: [number, number][] = [];
  const faces = indices.length / 3;
  for (let f = 0; f < faces; f++) {
    const ia = indices[3 * f], ib = indices[3 * f + 1], ic = indices[3 * f + 2];
    // surface triangle in its own plane frame
    const e1 = [0, 1, 2].map((j) => positions[3 * ib + j] - positions[3 * ia + j]);
    const e2 = [0, 1, 2].map((j) => positions[3 * ic + j] - positions[3 * ia + j]);
    const l1 = Math.hypot(e1[0], e1[1], e1[2]);
    const cr = Math.hypot(e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]);
    const area3 = cr / 2;
    surface += area3;
    const p = [ia, ib, ic].map((v) => [uvs[2 * v] * size, uvs[2 * v + 1] * size]);
    const area = (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (p[1][1] - p[0][1]);
    if (area > 1e-12) positive++;
    else if (area < -1e-12) negative++;
    if (area3 > 0 && l1 > 0) {
      // J maps the plane frame (x along e1) to texel units / texelsPerUnit
      const x2 = (e1[0] * e2[0] + e1[1] * e2[1] + e1[2] * e2[2]) / l1, y2 = cr / l1;
      const du1 = (p[1][0] - p[0][0]) / texelsPerUnit, dv1 = (p[1][1] - p[0][1]) / texelsPerUnit;
      const du2 = (p[2][0] - p[0][0]) / texelsPerUnit, dv2 = (p[2][1] - p[0][1]) / texelsPerUnit;
      // columns: d/dx = (du1, dv1) / l1; d/dy = ((du2, dv2) - x2 * d/dx) / y2
      const a = du1 / l1, c = dv1 / l1, b = (du2 - x2 * a) / y2, d = (dv2 - x2 * c) / y2;
      const frob = a * a + b * b + c * c + d * d, det = Math.abs(a * d - b * c);
      const root = Math.sqrt(Math.max(0, frob * frob - 4 * det * det));
      const s1 = Math.sqrt((frob + root) / 2), s2 = Math.sqrt(Math.max(0, (frob - root) / 2));
      const ratio = s2 > 0 ? s1 / s2 : 1e6;
      areaSum += det * area3;
      angleSum += Math.min(ratio, 1e6) * area3;
      stretches.push([ratio, area3]);
    }
    if (Math.abs(area) < 1e-12) continue;
    const x0 = Math.max(0, Math.floor(Math.min(p[0][0], p[1][0], p[2][0]))), x1 = Math.min(size - 1, Math.ceil(Math.max(p[0][0], p[1][0], p[2][0])));
    const y0 = Math.max(0, Math.floor(Math.min(p[0][1], p[1][1], p[2][1]))), y1 = Math.min(size - 1, Math.ceil(Math.max(p[0][1], p[1][1], p[2][1])));
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
      const cx = x + 0.5, cy = y + 0.5;
      const w0 = ((p[1][0] - cx) * (p[2][1] - cy) - (p[2][0] - cx) * (p[1][1] - cy)) / area;
      const w1 = ((p[2][0] - cx) * (p[0][1] - cy) - (p[0][0] - cx) * (p[2][1] - cy)) / area;
      const w2 = 1 - w0 - w1;
      if (w0 < -1e-9 || w1 < -1e-9 || w2 < -1e-9) continue;
      const i = y * size + x;
      const strict = w0 > 1e-6 && w1 > 1e-6 && w2 > 1e-6;
      if (owner[i] === -1) coveredCount++;
      if (strict) {
        if (owner[i] >= 0 && owner[i] !== f) overlaps++;
        owner[i] = f;
      } else if (owner[i] === -1) owner[i] = -2;
    }
  }
  stretches.sort((a, b) => a[0] - b[0]);
  let acc = 0, p95 = 1;
  for (const [ratio, w] of stretches) {
    acc += w;
    if (acc >= 0.95 * surface) {
      p95 = ratio;
      break;
    }
  }
  return {
    covered: coveredCount / (size * size),
    overlaps,
    texelsPerArea: coveredCount / Math.max(surface, 1e-30),
    areaScale: areaSum / Math.max(surface, 1e-30),
    angleStretch: angleSum / Math.max(surface, 1e-30),
    angleStretchP95: p95,
    flipped: Math.min(positive, negative),
  };
}
