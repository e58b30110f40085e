// The geometric-consistency filter of planeSweep.ts (filterConsistent, its CPU reference) on the GPU: one invocation
// per pixel of every view (z = the reference view). A depth is kept when at least `minConsistent` of the view's
// sources confirm it: the pixel at its depth lands in the source, the source's depth there is sent back, and the
// point comes back within `reprojectionPx` of the pixel with a depth within `depthTolerance`. Sources that see a
// surface clearly in front of the point (or cannot see it) neither confirm nor deny; with `excuseHidden` they are not
// asked. The source depth is read bilinearly when its four pixels agree within 5% (sampling 1), else at the nearest.
// With a second candidate map `alt` (ALTERNATE_RULE, alternates 1 or 2), a pixel whose first depth fails is kept at
// its second when that passes; with 2, a source also confirms when its second depth does.
struct Params {
  size: vec2u,
  viewCount: u32,
  minConsistent: u32,
  minConfidence: f32,
  witnessConfidence: f32,
  depthTolerance: f32,
  r2max: f32,
  bilinear: u32,
  excuseHidden: u32,
  alternates: u32,
  pad1: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> raw: array<vec2f>;
// Per view PAIR_STRIDE floats: [source count, s0, s1, s2, s3, 0, 0, 0], then per source 24 floats:
// forward A (row-major 3x3), forward b (3), backward A (3x3), backward b (3) of sourceProjection.
@group(0) @binding(2) var<storage, read> pairs: array<f32>;
@group(0) @binding(3) var<storage, read_write> kept: array<f32>;
// The second candidates (a 16-byte placeholder when alternates is 0; never read then).
@group(0) @binding(4) var<storage, read> alt: array<vec2f>;

const PAIR_STRIDE: u32 = 104u;
const BILINEAR_SPREAD: f32 = 0.05;
const NOTHING: u32 = 0u;
const CONFIRM: u32 = 1u;
const HIDDEN: u32 = 2u;

fn usable(k: u32, second: bool) -> f32 {
  var v: vec2f;
  if (second) {
    v = alt[k];
  } else {
    v = raw[k];
  }
  return select(0.0, v.x, v.x > 0.0 && v.y >= params.witnessConfidence);
}

fn mat(o: u32) -> mat3x3f {
  // columns of the row-major matrix at pairs[o..o+9]
  return mat3x3f(
    vec3f(pairs[o], pairs[o + 3u], pairs[o + 6u]),
    vec3f(pairs[o + 1u], pairs[o + 4u], pairs[o + 7u]),
    vec3f(pairs[o + 2u], pairs[o + 5u], pairs[o + 8u]),
  );
}

// What one source's map (the first or the second candidates) says of the point at depth d of pixel (x, y), whose
// projection into the source is (px, py) at depth hz; o is the pair's offset in `pairs`, sb the source's first pixel.
fn witness(second: bool, sb: u32, o: u32, d: f32, x: f32, y: f32, px: f32, py: f32, hz: f32) -> u32 {
  let w = params.size.x;
  let h = params.size.y;
  let x0 = u32(min(f32(w) - 2.0, max(0.0, floor(px))));
  let y0 = u32(min(f32(h) - 2.0, max(0.0, floor(py))));
  let fx = clamp(px - f32(x0), 0.0, 1.0);
  let fy = clamp(py - f32(y0), 0.0, 1.0);
  let d00 = usable(sb + y0 * w + x0, second);
  let d10 = usable(sb + y0 * w + x0 + 1u, second);
  let d01 = usable(sb + (y0 + 1u) * w + x0, second);
  let d11 = usable(sb + (y0 + 1u) * w + x0 + 1u, second);
  let lo = min(min(d00, d10), min(d01, d11));
  let hi = max(max(d00, d10), max(d01, d11));
  var ds: f32;
  var u: f32;
  var vv: f32;
  if (params.bilinear == 1u && lo > 0.0 && hi - lo < BILINEAR_SPREAD * lo) {
    ds = (d00 * (1.0 - fx) + d10 * fx) * (1.0 - fy) + (d01 * (1.0 - fx) + d11 * fx) * fy;
    u = px;
    vv = py;
  } else {
    // Math.round of the CPU reference: half-way rounds up
    u = min(f32(w) - 1.0, max(0.0, floor(px + 0.5)));
    vv = min(f32(h) - 1.0, max(0.0, floor(py + 0.5)));
    ds = usable(sb + u32(vv) * w + u32(u), second);
  }
  if (ds <= 0.0) {
    return NOTHING;
  }
  if (ds < hz * (1.0 - 4.0 * params.depthTolerance)) {
    return HIDDEN;
  }
  let B = mat(o + 12u);
  let c = vec3f(pairs[o + 21u], pairs[o + 22u], pairs[o + 23u]);
  let q = ds * (B * vec3f(u, vv, 1.0)) + c;
  if (q.z <= 0.0) {
    return NOTHING;
  }
  let rx = q.x / q.z - x;
  let ry = q.y / q.z - y;
  if (rx * rx + ry * ry < params.r2max && abs(q.z - d) < params.depthTolerance * d) {
    return CONFIRM;
  }
  return NOTHING;
}

fn consistent(r: u32, d: f32, x: f32, y: f32) -> bool {
  let n = params.size.x * params.size.y;
  let w = f32(params.size.x);
  let h = f32(params.size.y);
  let base = r * PAIR_STRIDE;
  let count = u32(pairs[base]);
  let need = min(params.minConsistent, count);
  var good = 0u;
  var hidden = 0u;
  for (var k = 0u; k < count; k = k + 1u) {
    let s = u32(pairs[base + 1u + k]);
    let o = base + 8u + k * 24u;
    let A = mat(o);
    let b = vec3f(pairs[o + 9u], pairs[o + 10u], pairs[o + 11u]);
    let hp = d * (A * vec3f(x, y, 1.0)) + b;
    if (hp.z <= 0.0) {
      hidden = hidden + 1u;
      continue;
    }
    let px = hp.x / hp.z;
    let py = hp.y / hp.z;
    if (!(px > -0.5 && py > -0.5 && px < w - 0.5 && py < h - 0.5)) {
      hidden = hidden + 1u;
      continue;
    }
    var says = witness(false, s * n, o, d, x, y, px, py, hp.z);
    if (says != CONFIRM && params.alternates == 2u && witness(true, s * n, o, d, x, y, px, py, hp.z) == CONFIRM) {
      says = CONFIRM;
    }
    if (says == CONFIRM) {
      good = good + 1u;
    } else if (says == HIDDEN) {
      hidden = hidden + 1u;
    }
  }
  var required = need;
  if (params.excuseHidden == 1u) {
    required = min(need, count - min(hidden, count));
  }
  return good >= max(1u, required);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = params.size.x;
  let h = params.size.y;
  let r = gid.z;
  if (gid.x >= w || gid.y >= h || r >= params.viewCount) {
    return;
  }
  let i = r * w * h + gid.y * w + gid.x;
  kept[i] = 0.0;
  let x = f32(gid.x);
  let y = f32(gid.y);
  let v = raw[i];
  if (v.x > 0.0 && v.y >= params.minConfidence && consistent(r, v.x, x, y)) {
    kept[i] = v.x;
    return;
  }
  if (params.alternates > 0u) {
    let a = alt[i];
    if (a.x > 0.0 && a.y >= params.minConfidence && consistent(r, a.x, x, y)) {
      kept[i] = a.x;
    }
  }
}
