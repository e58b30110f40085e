// One pass of the enclosed-hole fill of holeFill.ts (fillDepthHoles, its CPU reference) on the GPU: one invocation per
// pixel of every view (z = the view), reading the previous pass's maps (`src`) and writing this pass's (`dst`). An
// empty pixel is filled when along at least `minAxes` of the four axes a kept depth lies on both sides within
// `radius` pixels, the two ends differ by at most `maxSlope` per pixel, and the axes' interpolations agree within
// `agreement`; the fill is their mean.
struct Params {
  size: vec2u,
  viewCount: u32,
  radius: i32,
  minAxes: u32,
  maxSlope: f32,
  agreement: f32,
  pad: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const AXES = array<vec2i, 4>(vec2i(1, 0), vec2i(0, 1), vec2i(1, 1), vec2i(1, -1));

// The nearest kept depth from `p` along `step` within the radius (x: depth, 0 = none; y: its distance in steps).
fn nearest(base: u32, p: vec2i, step: vec2i) -> vec2f {
  let size = vec2i(params.size);
  for (var s = 1; s <= params.radius; s = s + 1) {
    let q = p + s * step;
    if (any(q < vec2i(0)) || any(q >= size)) {
      break;
    }
    let d = src[base + u32(q.y) * params.size.x + u32(q.x)];
    if (d > 0.0) {
      return vec2f(d, f32(s));
    }
  }
  return vec2f(0.0, 0.0);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.size.x || gid.y >= params.size.y || gid.z >= params.viewCount) {
    return;
  }
  let base = gid.z * params.size.x * params.size.y;
  let i = base + gid.y * params.size.x + gid.x;
  let own = src[i];
  dst[i] = own;
  if (own > 0.0) {
    return;
  }
  let p = vec2i(gid.xy);
  var count = 0u;
  var lo = 3.0e38;
  var hi = 0.0;
  var sum = 0.0;
  for (var a = 0u; a < 4u; a = a + 1u) {
    let one = nearest(base, p, AXES[a]);
    if (one.x <= 0.0) {
      continue;
    }
    let other = nearest(base, p, -AXES[a]);
    if (other.x <= 0.0) {
      continue;
    }
    if (abs(one.x - other.x) > params.maxSlope * (one.y + other.y) * 0.5 * (one.x + other.x)) {
      continue;
    }
    let v = (one.x * other.y + other.x * one.y) / (one.y + other.y);
    count = count + 1u;
    lo = min(lo, v);
    hi = max(hi, v);
    sum = sum + v;
  }
  if (count < params.minAxes || count == 0u) {
    return;
  }
  let mean = sum / f32(count);
  if (hi - lo > params.agreement * mean) {
    return;
  }
  dst[i] = mean;
}
