/**
 * A procedurally modelled and textured object for the built-in sample: a closed vase (surface of revolution with a
 * wavy profile, capped top and bottom) and a painted texture (colour bands, a checker frieze, dots and fine noise,
 * so that photos of it have detail to match and to bake). Our own geometry and pixels: nothing third-party.
 */
import type { RgbaImage } from '../core/mesh';
import { seededRandom } from '../ml/onnxBuilder';

export interface ProceduralObject {
  positions: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array;
  texture: RgbaImage;
}

function profile(t: number): number {
  // radius along the height t in [0, 1]
  return 0.28 + 0.16 * Math.sin(Math.PI * t * 1.15 + 0.2) - 0.07 * Math.sin(3 * Math.PI * t) + 0.05 * Math.exp(-((t - 0.92) ** 2) / 0.002);
}

export function makeVase(segments = 96, rings = 64, textureSize = 1024, seed = 5): ProceduralObject {
  const pos: number[] = [], uv: number[] = [], idx: number[] = [];
  const height = 1.1;
  // side: (segments + 1) x (rings + 1) vertices (seam duplicated for uv continuity)
  for (let r = 0; r <= rings; r++) {
    const t = r / rings;
    const radius = profile(t);
    for (let s = 0; s <= segments; s++) {
      const a = (2 * Math.PI * s) / segments;
      pos.push(radius * Math.cos(a), t * height, radius * Math.sin(a));
      uv.push(s / segments, 0.8 * (1 - t));
    }
  }
  for (let r = 0; r < rings; r++) for (let s = 0; s < segments; s++) {
    const a = r * (segments + 1) + s, b = a + segments + 1;
    idx.push(a, a + 1, b, a + 1, b + 1, b);
  }
  // caps: a centre vertex and a ring, uv in the bottom strip of the texture (v in 0.8..1)
  for (const [t, flip] of [[0, true], [1, false]] as const) {
    const radius = profile(t);
    const centre = pos.length / 3;
    pos.push(0, t * height, 0);
    uv.push(t === 0 ? 0.25 : 0.75, 0.9);
    for (let s = 0; s <= segments; s++) {
      const a = (2 * Math.PI * s) / segments;
      pos.push(radius * Math.cos(a), t * height, radius * Math.sin(a));
      uv.push((t === 0 ? 0.25 : 0.75) + 0.2 * Math.cos(a), 0.9 + 0.09 * Math.sin(a));
    }
    for (let s = 0; s < segments; s++) {
      if (flip) idx.push(centre, centre + 1 + s, centre + 2 + s);
      else idx.push(centre, centre + 2 + s, centre + 1 + s);
    }
  }
  const rand = seededRandom(seed);
  const N = textureSize;
  const data = new Uint8Array(N * N * 4);
  const dots = Array.from({ length: 60 }, () => [rand(), rand() * 0.8, 0.01 + rand() * 0.025, rand()]);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    const u = x / N, v = y / N;
    let c: number[];
    if (v > 0.8) c = [120, 90, 70];
    else {
      const band = Math.floor(v * 10);
      const hues = [[196, 64, 52], [236, 180, 60], [40, 110, 160], [230, 230, 220], [60, 140, 90], [150, 60, 140], [236, 120, 40], [30, 60, 110]];
      c = [...hues[band % hues.length]];
      if (v > 0.42 && v < 0.5) {
        const checker = (Math.floor(u * 48) + Math.floor(v * 96)) % 2;
        c = checker ? [25, 25, 30] : [245, 240, 225];
      }
      for (const [du, dv, r, h] of dots) {
        const d = Math.hypot(Math.min(Math.abs(u - du), 1 - Math.abs(u - du)) * 2.2, v - dv);
        if (d < r) c = h < 0.5 ? [250, 250, 245] : [20, 20, 25];
      }
      const wave = Math.sin(u * Math.PI * 2 * 12 + v * 40) * 0.5 + 0.5;
      if (Math.abs(v * 10 - Math.round(v * 10)) < 0.02) c = [20, 20, 20];
      c = c.map((ch) => ch * (0.85 + 0.15 * wave));
    }
    const noise = (rand() - 0.5) * 30;
    const o = 4 * (y * N + x);
    data[o] = Math.max(0, Math.min(255, c[0] + noise));
    data[o + 1] = Math.max(0, Math.min(255, c[1] + noise));
    data[o + 2] = Math.max(0, Math.min(255, c[2] + noise));
    data[o + 3] = 255;
  }
  return { positions: new Float32Array(pos), uvs: new Float32Array(uv), indices: new Uint32Array(idx), texture: { width: N, height: N, data } };
}
