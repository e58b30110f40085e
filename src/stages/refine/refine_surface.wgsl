// Surface helpers of the forward and backward kernels: bilinear kd sampling, ray/triangle barycentrics, face
// normal and the global light (needs `params`, `faces`, `uvs`, `setup`).

// Texel of mip level `level` (0 = the texture parameters; >= 1 box-filtered levels in `mips`), clamped to the edge.
fn texel(level: u32, x: i32, y: i32) -> vec3f {
  let n = i32(setup.texSize >> level);
  let cx = clamp(x, 0, n - 1);
  let cy = clamp(y, 0, n - 1);
  if (level == 0u) {
    let k = setup.texOff + 3u * u32(cy * n + cx);
    return vec3f(params[k], params[k + 1u], params[k + 2u]);
  }
  let k = mipOffset(level) + 3u * u32(cy * n + cx);
  return vec3f(mips[k], mips[k + 1u], mips[k + 2u]);
}

struct Bilinear {
  // mip level, texel corners (unclamped integer coordinates of the top-left one) and fractions
  level: u32,
  x0: i32,
  y0: i32,
  fx: f32,
  fy: f32,
};

// Clamp-to-edge bilinear sampling at uv (texel centres at (i + 0.5) / size), as a linear sampler does.
fn bilinear(uv: vec2f, level: u32) -> Bilinear {
  let s = f32(setup.texSize >> level);
  let x = clamp(uv.x * s - 0.5, -0.5, s - 0.5);
  let y = clamp(uv.y * s - 0.5, -0.5, s - 0.5);
  let x0 = floor(x);
  let y0 = floor(y);
  return Bilinear(level, i32(x0), i32(y0), x - x0, y - y0);
}

fn sampleKd(b: Bilinear) -> vec3f {
  let k00 = texel(b.level, b.x0, b.y0);
  let k10 = texel(b.level, b.x0 + 1, b.y0);
  let k01 = texel(b.level, b.x0, b.y0 + 1);
  let k11 = texel(b.level, b.x0 + 1, b.y0 + 1);
  return mix(mix(k00, k10, b.fx), mix(k01, k11, b.fx), b.fy);
}

// Barycentrics of the hit of the camera ray through pixel (x, y) with the triangle (camera-space corners q0..q2):
// w_i = d . (q_j x q_k) for (i, j, k) cyclic, b = w / sum(w). This equals perspective-correct interpolation of the
// rasteriser, and is differentiable in the corners.
fn pixelRay(view: View, pixel: vec2f) -> vec3f {
  return vec3f((pixel.x - view.intrinsics.z) / view.intrinsics.x, (pixel.y - view.intrinsics.w) / view.intrinsics.y, 1.0);
}

struct Surface {
  b: vec3f,
  w: f32,
  uv: vec2f,
  n: vec3f,
  // |cross(e1, e2)| (for the normal's derivative)
  area2: f32,
};

struct Corners {
  p0: vec3f, p1: vec3f, p2: vec3f,
  q0: vec3f, q1: vec3f, q2: vec3f,
  t0: vec2f, t1: vec2f, t2: vec2f,
  i0: u32, i1: u32, i2: u32,
};

fn loadCorners(view: View, tri: u32) -> Corners {
  var c: Corners;
  c.i0 = faces[6u * tri];
  c.i1 = faces[6u * tri + 1u];
  c.i2 = faces[6u * tri + 2u];
  let u0 = faces[6u * tri + 3u];
  let u1 = faces[6u * tri + 4u];
  let u2 = faces[6u * tri + 5u];
  c.p0 = vertexPosition(c.i0);
  c.p1 = vertexPosition(c.i1);
  c.p2 = vertexPosition(c.i2);
  c.q0 = camPoint(view, c.p0);
  c.q1 = camPoint(view, c.p1);
  c.q2 = camPoint(view, c.p2);
  c.t0 = vec2f(uvs[2u * u0], uvs[2u * u0 + 1u]);
  c.t1 = vec2f(uvs[2u * u1], uvs[2u * u1 + 1u]);
  c.t2 = vec2f(uvs[2u * u2], uvs[2u * u2 + 1u]);
  return c;
}

fn surfaceAt(c: Corners, d: vec3f) -> Surface {
  var s: Surface;
  let w = vec3f(dot(d, cross(c.q1, c.q2)), dot(d, cross(c.q2, c.q0)), dot(d, cross(c.q0, c.q1)));
  s.w = w.x + w.y + w.z;
  s.b = w / s.w;
  s.uv = s.b.x * c.t0 + s.b.y * c.t1 + s.b.z * c.t2;
  let cr = cross(c.p1 - c.p0, c.p2 - c.p0);
  s.area2 = max(length(cr), 1e-30);
  s.n = cr / s.area2;
  return s;
}

fn shading(n: vec3f) -> f32 {
  let o = setup.lightOff;
  return params[o] + params[o + 1u] * n.x + params[o + 2u] * n.y + params[o + 3u] * n.z;
}

// Mip level for the pixel's footprint on the texture ('nearest mip': piecewise constant, so it has no gradient):
// uv at the neighbouring pixel rays on the same triangle plane give the footprint in texels; level = round(log2).
// Without it, pixel-centre samples update only 4 of the many texels under a pixel when the texture is finer than
// the photo, and the fit does not carry over to other views.
fn mipLevel(c: Corners, view: View, pixel: vec2f, s: Surface) -> u32 {
  if (setup.mipLevels == 0u) { return 0u; }
  let sx = surfaceAt(c, pixelRay(view, pixel + vec2f(1.0, 0.0)));
  let sy = surfaceAt(c, pixelRay(view, pixel + vec2f(0.0, 1.0)));
  let footprint = max(length(sx.uv - s.uv), length(sy.uv - s.uv)) * f32(setup.texSize);
  let lod = floor(log2(max(footprint, 1e-6)) + 0.5);
  return u32(clamp(lod, 0.0, f32(setup.mipLevels)));
}
