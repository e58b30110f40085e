// The geometric-consistency filter of planeSweep.ts (filterConsistent, its CPU reference) on the GPU: one invocation
// per pixel of every view (z = the reference view). A depth is kept when at least `minConsistent` of the view's
// sources confirm it: the pixel at its depth lands in the source, the source's depth there is sent back, and the
// point comes back within `reprojectionPx` of the pixel with a depth within `depthTolerance`. Sources that see a
// surface clearly in front of the point (or cannot see it) neither confirm nor deny; with `excuseHidden` they are not
// asked. The source depth is read bilinearly when its four pixels agree within 5% (sampling 1), else at the nearest.
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
  pad0: u32,
  pad1: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> raw: array<vec2f>;
// Per view PAIR_STRIDE floats: [source count, s0, s1, s2, s3, 0, 0, 0], then per source 24 floats:
// forward A (row-major 3x3), forward b (3), backward A (3x3), backward b (3) of sourceProjection.
@group(0) @binding(2) var<storage, read> pairs: array<f32>;
@group(0) @binding(3) var<storage, read_write> kept: array<f32>;

const PAIR_STRIDE: u32 = 104u;
const BILINEAR_SPREAD: f32 = 0.05;

fn usable(k: u32) -> f32 {
  let v = raw[k];
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

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = params.size.x;
  let h = params.size.y;
  let r = gid.z;
  if (gid.x >= w || gid.y >= h || r >= params.viewCount) {
    return;
  }
  let n = w * h;
  let i = r * n + gid.y * w + gid.x;
  kept[i] = 0.0;
  let v = raw[i];
  let d = v.x;
  if (d <= 0.0 || v.y < params.minConfidence) {
    return;
  }
  let x = f32(gid.x);
  let y = f32(gid.y);
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
    if (!(px > -0.5 && py > -0.5 && px < f32(w) - 0.5 && py < f32(h) - 0.5)) {
      hidden = hidden + 1u;
      continue;
    }
    let sb = s * n;
    let x0 = u32(min(f32(w) - 2.0, max(0.0, floor(px))));
    let y0 = u32(min(f32(h) - 2.0, max(0.0, floor(py))));
    let fx = clamp(px - f32(x0), 0.0, 1.0);
    let fy = clamp(py - f32(y0), 0.0, 1.0);
    let d00 = usable(sb + y0 * w + x0);
    let d10 = usable(sb + y0 * w + x0 + 1u);
    let d01 = usable(sb + (y0 + 1u) * w + x0);
    let d11 = usable(sb + (y0 + 1u) * w + x0 + 1u);
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
      ds = usable(sb + u32(vv) * w + u32(u));
    }
    if (ds <= 0.0) {
      continue;
    }
    if (ds < hp.z * (1.0 - 4.0 * params.depthTolerance)) {
      hidden = hidden + 1u;
      continue;
    }
    let B = mat(o + 12u);
    let c = vec3f(pairs[o + 21u], pairs[o + 22u], pairs[o + 23u]);
    let q = ds * (B * vec3f(u, vv, 1.0)) + c;
    if (q.z <= 0.0) {
      continue;
    }
    let rx = q.x / q.z - x;
    let ry = q.y / q.z - y;
    if (rx * rx + ry * ry < params.r2max && abs(q.z - d) < params.depthTolerance * d) {
      good = good + 1u;
    }
  }
  var required = need;
  if (params.excuseHidden == 1u) {
    required = min(need, count - min(hidden, count));
  }
  if (good >= max(1u, required)) {
    kept[i] = d;
  }
}
