// 64-bit fixed-point accumulation into `grad` (see refine_common.wgsl): the magnitude is split into hi/lo words
// exactly (|v| < 2^55 after scaling), negated in integer arithmetic, and added with a carry from the low word.
fn addFixed(k: u32, value: f32) {
  let v = value * FIXED_SCALE;
  let a = abs(v);
  if (!(a >= 0.5) || !(a < 3.6e16)) { return; } // below resolution, NaN or out of range: skip
  let hiF = floor(a / 4294967296.0);
  var lo = u32(a - hiF * 4294967296.0);
  var hi = u32(hiF);
  if (v < 0.0) {
    lo = ~lo + 1u;
    hi = ~hi + select(0u, 1u, lo == 0u);
  }
  let old = atomicAdd(&grad[2u * k], lo);
  let carry = select(0u, 1u, old + lo < old);
  let add = hi + carry;
  if (add != 0u) { atomicAdd(&grad[2u * k + 1u], add); }
}

// A position gradient for welded vertex v (its three parameters).
fn addVertex(v: u32, g: vec3f) {
  addFixed(3u * v, g.x);
  addFixed(3u * v + 1u, g.y);
  addFixed(3u * v + 2u, g.z);
}
