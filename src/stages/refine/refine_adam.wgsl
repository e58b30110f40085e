// Adam over the flat parameter vector. The gradient is the fixed-point sum (decoded, times gradScale = 1 / pixels)
// plus, for positions, lapWeight * the Laplacian gradient; the fixed-point words are zeroed for the next step.
// Learning rates per group (positions, texture, gains, light) already include the schedule; `step` is the
// 1-based step for bias correction. The texture stays in [0, 1], gains in [0.25, 4].
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> moments: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> gradWords: array<u32>;
@group(0) @binding(4) var<storage, read> lapGrad: array<f32>;
// The texel gradients (scaled), for the multi-resolution step (refine_pyramid.wgsl) when it is on.
@group(0) @binding(5) var<storage, read_write> texGrad: array<f32>;

fn decodeFixed(lo: u32, hi: u32) -> f32 {
  var l = lo;
  var h = hi;
  let negative = (hi & 0x80000000u) != 0u;
  if (negative) {
    l = ~lo + 1u;
    h = ~hi + select(0u, 1u, l == 0u);
  }
  let magnitude = (f32(h) * 4294967296.0 + f32(l)) / FIXED_SCALE;
  return select(magnitude, -magnitude, negative);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * 64u;
  if (k >= setup.paramCount) { return; }
  var g = decodeFixed(gradWords[2u * k], gradWords[2u * k + 1u]);
  if (k >= setup.texOff && k < setup.gainOff && setup.mipLevels > 0u) {
    // Gradients of the mip texels above this texel, each spread evenly over the 4^level texels it averages.
    let t = (k - setup.texOff) / 3u;
    let ch = (k - setup.texOff) % 3u;
    let x = t % setup.texSize;
    let y = t / setup.texSize;
    var weight = 1.0;
    for (var level = 1u; level <= setup.mipLevels; level++) {
      weight *= 0.25;
      let n = setup.texSize >> level;
      let m = setup.mipGradOff + mipOffset(level) + 3u * ((y >> level) * n + (x >> level)) + ch;
      g += weight * decodeFixed(gradWords[2u * m], gradWords[2u * m + 1u]);
    }
  }
  g *= setup.gradScale;
  gradWords[2u * k] = 0u;
  gradWords[2u * k + 1u] = 0u;
  if (k >= setup.texOff && k < setup.gainOff && setup.pyramidLevels > 0u) {
    // the texture's step is taken by refine_pyramid.wgsl (all levels at once)
    texGrad[k - setup.texOff] = g;
    return;
  }
  var lr = setup.lrPos;
  if (k < 3u * setup.vertexCount) {
    g += setup.lapWeight * lapGrad[k];
  } else if (k < setup.gainOff) {
    lr = setup.lrTex;
  } else if (k < setup.lightOff) {
    lr = setup.lrGain;
    // only training views' gains are optimised (validation views take their mean: see `syncGains`)
    if (k - setup.gainOff >= setup.trainViews) { lr = 0.0; }
  } else {
    // the ambient term is fixed at 1: the per-view gains already carry the overall brightness
    lr = select(setup.lrLight, 0.0, k == setup.lightOff);
  }
  if (lr == 0.0) { return; }
  var m = moments[k];
  m = vec2f(setup.beta1 * m.x + (1.0 - setup.beta1) * g, setup.beta2 * m.y + (1.0 - setup.beta2) * g * g);
  moments[k] = m;
  let mHat = m.x / (1.0 - pow(setup.beta1, setup.step));
  let vHat = m.y / (1.0 - pow(setup.beta2, setup.step));
  var p = params[k] - lr * mHat / (sqrt(vHat) + 1e-8);
  if (k >= setup.texOff && k < setup.gainOff) { p = clamp(p, 0.0, 1.0); }
  if (k >= setup.gainOff && k < setup.lightOff) { p = clamp(p, 0.25, 4.0); }
  params[k] = p;
}

// Validation views get the mean of the training views' gains (their own exposure is never fitted).
@compute @workgroup_size(64)
fn syncGains(@builtin(global_invocation_id) gid: vec3u) {
  let total = setup.lightOff - setup.gainOff;
  let v = setup.trainViews + gid.x;
  if (v >= total) { return; }
  var sum = 0.0;
  for (var k = 0u; k < setup.trainViews; k++) { sum += params[setup.gainOff + k]; }
  params[setup.gainOff + v] = sum / f32(max(setup.trainViews, 1u));
}

// The texel update of the multi-resolution step (refine_pyramid.wgsl's levels ran first): the finest level's own
// Adam step plus every coarse level's step at this texel's block, clamped to [0, 1].
@group(0) @binding(6) var<storage, read> pyrDelta: array<f32>;

@compute @workgroup_size(64)
fn applyPyramid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= setup.texSize * setup.texSize) { return; }
  let x = t % setup.texSize;
  let y = t / setup.texSize;
  for (var c = 0u; c < 3u; c++) {
    let k = setup.texOff + 3u * t + c;
    let g = texGrad[3u * t + c];
    var m = moments[k];
    m = vec2f(setup.beta1 * m.x + (1.0 - setup.beta1) * g, setup.beta2 * m.y + (1.0 - setup.beta2) * g * g);
    moments[k] = m;
    let mHat = m.x / (1.0 - pow(setup.beta1, setup.step));
    let vHat = m.y / (1.0 - pow(setup.beta2, setup.step));
    var d = -setup.lrTex * setup.texFineScale * mHat / (sqrt(vHat) + 1e-8);
    for (var l = 1u; l <= setup.pyramidLevels; l++) {
      let n = setup.texSize >> l;
      d += pyrDelta[mipOffset(l) + 3u * ((y >> l) * n + (x >> l)) + c];
    }
    params[k] = clamp(params[k] + d, 0.0, 1.0);
  }
}
