// Shared by all refinement kernels (concatenated after camera_view.wgsl; needs `setup` and `params`). The optimised parameters live in one flat
// f32 array `params`: welded vertex positions (3 per vertex), the kd texture (3 per texel, row-major, v = 0 at the
// top row), one exposure gain per view, and the global light (ambient, then an SH-1 / directional vector).
// Gradients are accumulated in `grad` as 64-bit fixed point (two u32 words per parameter, lo then hi, two's
// complement, FIXED_SCALE units per 1.0): integer addition is associative, so the sums do not depend on the order in
// which invocations run (deterministic), and 64 bits leave room for 2^39 in magnitude at 2^-24 resolution.
// Gradients of the SUM over pixels are accumulated; the optimiser multiplies by `gradScale` (1 / pixels).

struct Setup {
  texSize: u32,
  texOff: u32,
  gainOff: u32,
  lightOff: u32,
  paramCount: u32,
  vertexCount: u32,
  faceCount: u32,
  statsOff: u32,
  batchCount: u32,
  statsBase: u32,
  silWeight: f32,
  gradScale: f32,
  lrPos: f32,
  lrTex: f32,
  lrGain: f32,
  lrLight: f32,
  beta1: f32,
  beta2: f32,
  step: f32,
  lapWeight: f32,
  trainViews: u32,
  maskOn: u32,
  width: u32,
  height: u32,
  // mip levels above the texture (0 = none) and the gradient slot of level 1's first value
  mipLevels: u32,
  mipGradOff: u32,
  // coarse levels of the multi-resolution texture step (refine_pyramid.wgsl; 0 = per-texel Adam only) and the
  // finest level's share of lrTex
  pyramidLevels: u32,
  texFineScale: f32,
  // 1: the colour term blends across occlusion edges inside the surface too, not only at its outline
  // (refine_forward.wgsl)
  occlusion: u32,
  // view index (into `views`) of each batch slot, 4 per vec4
  batch: array<vec4u, 4>,
};

const FIXED_SCALE: f32 = 16777216.0; // 2^24

// Offset (in floats) of mip level `level` >= 1 in the `mips` buffer: levels 1, 2, ... of size (texSize >> level)^2 x 3.
fn mipOffset(level: u32) -> u32 {
  var off = 0u;
  for (var k = 1u; k < level; k++) {
    let n = setup.texSize >> k;
    off += 3u * n * n;
  }
  return off;
}

fn batchView(slot: u32) -> u32 {
  return setup.batch[slot / 4u][slot % 4u];
}

// A pixel's 4-neighbours, in opposite pairs (k ^ 1 is the opposite of k).
const OFFSETS = array<vec2i, 4>(vec2i(1, 0), vec2i(-1, 0), vec2i(0, 1), vec2i(0, -1));

fn inImage(view: View, q: vec2i) -> bool {
  return q.x >= 0 && q.y >= 0 && q.x < i32(view.size.x) && q.y < i32(view.size.y);
}

fn camPoint(view: View, p: vec3f) -> vec3f {
  return vec3f(dot(view.r0.xyz, p) + view.r0.w, dot(view.r1.xyz, p) + view.r1.w, dot(view.r2.xyz, p) + view.r2.w);
}

// camFromWorld^T g: a camera-space gradient back to world space.
fn worldGrad(view: View, g: vec3f) -> vec3f {
  return view.r0.xyz * g.x + view.r1.xyz * g.y + view.r2.xyz * g.z;
}

fn vertexPosition(v: u32) -> vec3f {
  return vec3f(params[3u * v], params[3u * v + 1u], params[3u * v + 2u]);
}

