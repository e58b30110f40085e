// SIFT on the GPU (siftGpu.ts drives it; siftPlan.ts holds the shared constants, siftCpu.ts the CPU reference).
// Buffers: `gauss` holds every Gaussian level of every octave, `dogb` the DoG levels, `tmp` the horizontal blur pass.
// Offsets and sizes are in floats and come per dispatch in P (one 256-byte uniform slot per dispatch).

const BORDER: i32 = 5;
const ORI_FIXED: f32 = 1048576.0;   // 2^20, siftPlan.ts ORI_FIXED
const DESC_FIXED: f32 = 262144.0;   // 2^18, siftPlan.ts DESC_FIXED
const TWO_PI: f32 = 6.283185307179586;
const MAX_ORI: u32 = 4u;
const HTILE: i32 = 94;              // 64 + 2 * RADIUS_MAX
const VTILE: i32 = 46;              // 16 + 2 * RADIUS_MAX

struct Params {
  w: u32, h: u32, src: u32, dst: u32,
  radius: u32, inW: u32, inH: u32, octave: u32,
  threshold: f32, prelim: f32, edge: f32, sigma0: f32,
  s: u32, capCand: u32, capKp: u32, mode: u32,
  taps: array<vec4<f32>, 4>,
  // Per octave: width, height, float offset of level 0 in gauss, unused.
  octs: array<vec4<u32>, 8>,
}

struct Cand { x: f32, y: f32, level: f32, response: f32, octave: u32, layer: u32, pad0: u32, pad1: u32 }
struct Kp { x: f32, y: f32, level: f32, response: f32, octave: u32, layer: u32, angle: f32, pad: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> rgba: array<u32>;
@group(0) @binding(2) var<storage, read_write> gauss: array<f32>;
@group(0) @binding(3) var<storage, read_write> tmp: array<f32>;
@group(0) @binding(4) var<storage, read_write> dogb: array<f32>;
@group(0) @binding(5) var<storage, read_write> counters: array<atomic<u32>, 4>;
@group(0) @binding(6) var<storage, read_write> cands: array<Cand>;
@group(0) @binding(7) var<storage, read_write> kps: array<Kp>;
@group(0) @binding(8) var<storage, read_write> desc: array<u32>;
@group(0) @binding(9) var<storage, read_write> args: array<u32>;

fn tap(k: i32) -> f32 { return P.taps[k / 4][k % 4]; }

fn lumaAt(x: u32, y: u32) -> f32 {
  let c = unpack4x8unorm(rgba[y * P.inW + x]);
  return 0.299 * c.x + 0.587 * c.y + 0.114 * c.z;
}

// RGBA8 -> luma in [0, 1] at octave 0's size. Downscaling (or 1:1): box average over the input pixels each output
// pixel covers (integer bounds, so the CPU reference reproduces them exactly). Upsampling: bilinear, edges clamped.
@compute @workgroup_size(16, 16)
fn luma(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= P.w || gid.y >= P.h) { return; }
  if (P.w > P.inW) {
    let sx = (f32(gid.x) + 0.5) * (f32(P.inW) / f32(P.w)) - 0.5;
    let sy = (f32(gid.y) + 0.5) * (f32(P.inH) / f32(P.h)) - 0.5;
    let fx0 = floor(sx);
    let fy0 = floor(sy);
    let ax = sx - fx0;
    let ay = sy - fy0;
    let x0 = u32(clamp(i32(fx0), 0, i32(P.inW) - 1));
    let x1 = u32(clamp(i32(fx0) + 1, 0, i32(P.inW) - 1));
    let y0 = u32(clamp(i32(fy0), 0, i32(P.inH) - 1));
    let y1 = u32(clamp(i32(fy0) + 1, 0, i32(P.inH) - 1));
    let top = lumaAt(x0, y0) * (1.0 - ax) + lumaAt(x1, y0) * ax;
    let bottom = lumaAt(x0, y1) * (1.0 - ax) + lumaAt(x1, y1) * ax;
    gauss[P.dst + gid.y * P.w + gid.x] = top * (1.0 - ay) + bottom * ay;
    return;
  }
  let x0 = (gid.x * P.inW) / P.w;
  let x1 = max(x0 + 1u, ((gid.x + 1u) * P.inW + P.w - 1u) / P.w);
  let y0 = (gid.y * P.inH) / P.h;
  let y1 = max(y0 + 1u, ((gid.y + 1u) * P.inH + P.h - 1u) / P.h);
  var sum = 0.0;
  for (var y = y0; y < y1; y++) {
    for (var x = x0; x < x1; x++) { sum += lumaAt(x, y); }
  }
  gauss[P.dst + gid.y * P.w + gid.x] = sum / f32((x1 - x0) * (y1 - y0));
}

var<workgroup> htile: array<f32, 376>;   // 4 rows x HTILE
var<workgroup> vtile: array<f32, 736>;   // VTILE rows x 16

// Separable Gaussian, horizontal pass: gauss[src] -> tmp. Borders replicate the edge pixel.
@compute @workgroup_size(64, 4)
fn blur_h(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let w = i32(P.w);
  let h = i32(P.h);
  let R = i32(P.radius);
  let x0 = i32(wid.x) * 64 - R;
  let yo = i32(wid.y) * 4 + i32(lid.y);
  let y = min(yo, h - 1);
  let row = i32(lid.y) * HTILE;
  for (var i = i32(lid.x); i < 64 + 2 * R; i += 64) {
    let x = clamp(x0 + i, 0, w - 1);
    htile[row + i] = gauss[P.src + u32(y * w + x)];
  }
  workgroupBarrier();
  let x = i32(wid.x) * 64 + i32(lid.x);
  if (x >= w || yo >= h) { return; }
  let c = row + i32(lid.x) + R;
  var sum = tap(0) * htile[c];
  for (var k = 1; k <= R; k++) { sum += tap(k) * (htile[c - k] + htile[c + k]); }
  tmp[u32(yo * w + x)] = sum;
}

// Vertical pass: tmp -> gauss[dst].
@compute @workgroup_size(16, 16)
fn blur_v(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let w = i32(P.w);
  let h = i32(P.h);
  let R = i32(P.radius);
  let xo = i32(wid.x) * 16 + i32(lid.x);
  let x = min(xo, w - 1);
  let y0 = i32(wid.y) * 16 - R;
  for (var i = i32(lid.y); i < 16 + 2 * R; i += 16) {
    let y = clamp(y0 + i, 0, h - 1);
    vtile[i * 16 + i32(lid.x)] = tmp[u32(y * w + x)];
  }
  workgroupBarrier();
  let y = i32(wid.y) * 16 + i32(lid.y);
  if (xo >= w || y >= h) { return; }
  let c = (i32(lid.y) + R) * 16 + i32(lid.x);
  var sum = tap(0) * vtile[c];
  for (var k = 1; k <= R; k++) { sum += tap(k) * (vtile[c - 16 * k] + vtile[c + 16 * k]); }
  gauss[P.dst + u32(y * w + xo)] = sum;
}

// The same two passes reading global memory directly. Chosen on CPU fallback adapters (SwiftShader), where a
// workgroup barrier costs ~15x the whole blur (measured: 2.9 s vs 0.17 s for the horizontal passes of a 320x240
// pyramid); the results are bit-identical to the tiled kernels (same taps, same order of additions).
@compute @workgroup_size(64, 4)
fn blur_h_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = i32(P.w);
  let x = i32(gid.x);
  if (x >= w || gid.y >= P.h) { return; }
  let b = P.src + gid.y * P.w;
  let R = i32(P.radius);
  var sum = tap(0) * gauss[b + u32(x)];
  for (var k = 1; k <= R; k++) { sum += tap(k) * (gauss[b + u32(max(x - k, 0))] + gauss[b + u32(min(x + k, w - 1))]); }
  tmp[gid.y * P.w + u32(x)] = sum;
}

@compute @workgroup_size(16, 16)
fn blur_v_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = i32(P.h);
  let y = i32(gid.y);
  if (gid.x >= P.w || y >= h) { return; }
  let R = i32(P.radius);
  var sum = tap(0) * tmp[u32(y) * P.w + gid.x];
  for (var k = 1; k <= R; k++) { sum += tap(k) * (tmp[u32(max(y - k, 0)) * P.w + gid.x] + tmp[u32(min(y + k, h - 1)) * P.w + gid.x]); }
  gauss[P.dst + u32(y) * P.w + gid.x] = sum;
}

// Level 0 of the next octave: every other pixel of level s of this one (inW = that octave's width).
@compute @workgroup_size(16, 16)
fn downsample(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= P.w || gid.y >= P.h) { return; }
  gauss[P.dst + gid.y * P.w + gid.x] = gauss[P.src + (2u * gid.y) * P.inW + 2u * gid.x];
}

@compute @workgroup_size(16, 16, 1)
fn dog(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= P.w || gid.y >= P.h) { return; }
  let plane = P.w * P.h;
  let i = gid.y * P.w + gid.x;
  dogb[P.dst + gid.z * plane + i] = gauss[P.src + (gid.z + 1u) * plane + i] - gauss[P.src + gid.z * plane + i];
}

fn D(x: i32, y: i32, l: i32) -> f32 {
  return dogb[P.dst + u32(l) * P.w * P.h + u32(y) * P.w + u32(x)];
}

// 3x3x3 extrema of the DoG at levels 1..s, refined by the quadratic fit (up to 5 moves), with Lowe's contrast and
// edge tests; survivors are appended to `cands` (atomic order: the host sorts, so results stay deterministic).
@compute @workgroup_size(8, 8, 1)
fn extrema(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = i32(P.w);
  let h = i32(P.h);
  let s = i32(P.s);
  var x = i32(gid.x);
  var y = i32(gid.y);
  var l = i32(gid.z) + 1;
  if (x < BORDER || y < BORDER || x >= w - BORDER || y >= h - BORDER) { return; }
  let v = D(x, y, l);
  if (abs(v) <= P.prelim) { return; }
  var isMax = v > 0.0;
  var isMin = v < 0.0;
  for (var dl = -1; dl <= 1; dl++) {
    for (var dy = -1; dy <= 1; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        if (dl == 0 && dy == 0 && dx == 0) { continue; }
        let n = D(x + dx, y + dy, l + dl);
        isMax = isMax && v >= n;
        isMin = isMin && v <= n;
      }
    }
  }
  if (!(isMax || isMin)) { return; }
  var off = vec3<f32>(0.0);
  var g = vec3<f32>(0.0);
  var converged = false;
  for (var it = 0; it < 5; it++) {
    let c = D(x, y, l);
    g = vec3<f32>((D(x + 1, y, l) - D(x - 1, y, l)) * 0.5, (D(x, y + 1, l) - D(x, y - 1, l)) * 0.5, (D(x, y, l + 1) - D(x, y, l - 1)) * 0.5);
    let dxx = D(x + 1, y, l) + D(x - 1, y, l) - 2.0 * c;
    let dyy = D(x, y + 1, l) + D(x, y - 1, l) - 2.0 * c;
    let dss = D(x, y, l + 1) + D(x, y, l - 1) - 2.0 * c;
    let dxy = (D(x + 1, y + 1, l) - D(x - 1, y + 1, l) - D(x + 1, y - 1, l) + D(x - 1, y - 1, l)) * 0.25;
    let dxs = (D(x + 1, y, l + 1) - D(x - 1, y, l + 1) - D(x + 1, y, l - 1) + D(x - 1, y, l - 1)) * 0.25;
    let dys = (D(x, y + 1, l + 1) - D(x, y - 1, l + 1) - D(x, y + 1, l - 1) + D(x, y - 1, l - 1)) * 0.25;
    // off = -H^-1 g by Cramer's rule (H symmetric).
    let det = dxx * (dyy * dss - dys * dys) - dxy * (dxy * dss - dys * dxs) + dxs * (dxy * dys - dyy * dxs);
    if (det == 0.0) { return; }
    let ox = -(g.x * (dyy * dss - dys * dys) - dxy * (g.y * dss - dys * g.z) + dxs * (g.y * dys - dyy * g.z)) / det;
    let oy = -(dxx * (g.y * dss - dys * g.z) - g.x * (dxy * dss - dys * dxs) + dxs * (dxy * g.z - g.y * dxs)) / det;
    let os = -(dxx * (dyy * g.z - g.y * dys) - dxy * (dxy * g.z - g.y * dxs) + g.x * (dxy * dys - dyy * dxs)) / det;
    off = vec3<f32>(ox, oy, os);
    if (abs(ox) < 0.5 && abs(oy) < 0.5 && abs(os) < 0.5) { converged = true; break; }
    if (abs(ox) > 1e4 || abs(oy) > 1e4 || abs(os) > 1e4) { return; }
    x += i32(round(ox));
    y += i32(round(oy));
    l += i32(round(os));
    if (l < 1 || l > s || x < BORDER || y < BORDER || x >= w - BORDER || y >= h - BORDER) { return; }
  }
  if (!converged) { return; }
  let response = abs(D(x, y, l) + 0.5 * dot(g, off));
  if (response < P.threshold) { return; }
  let c = D(x, y, l);
  let dxx = D(x + 1, y, l) + D(x - 1, y, l) - 2.0 * c;
  let dyy = D(x, y + 1, l) + D(x, y - 1, l) - 2.0 * c;
  let dxy = (D(x + 1, y + 1, l) - D(x - 1, y + 1, l) - D(x + 1, y - 1, l) + D(x - 1, y - 1, l)) * 0.25;
  let tr = dxx + dyy;
  let det2 = dxx * dyy - dxy * dxy;
  if (det2 <= 0.0 || tr * tr * P.edge >= (P.edge + 1.0) * (P.edge + 1.0) * det2) { return; }
  let idx = atomicAdd(&counters[0], 1u);
  if (idx >= P.capCand) { return; }
  cands[idx] = Cand(f32(x) + off.x, f32(y) + off.y, f32(l) + off.z, response, P.octave, u32(l), 0u, 0u);
}

// Indirect dispatch sizes from the counters: mode 0 -> candidates (args 0..2), mode 1 -> keypoints (args 3..5).
@compute @workgroup_size(1)
fn indirect() {
  if (P.mode == 0u) {
    args[0] = min(atomicLoad(&counters[0]), P.capCand);
    args[1] = 1u;
    args[2] = 1u;
  } else {
    args[3] = min(atomicLoad(&counters[1]), P.capKp);
    args[4] = 1u;
    args[5] = 1u;
  }
}

fn G(base: u32, w: i32, x: i32, y: i32) -> f32 { return gauss[base + u32(y * w + x)]; }

var<workgroup> ohist: array<atomic<u32>, 36>;
var<workgroup> oraw: array<f32, 36>;
var<workgroup> osmooth: array<f32, 36>;

// Orientation: 36-bin histogram of gradient angles (Gaussian weight 1.5 sigma, radius 3 x 1.5 sigma), smoothed
// [1 4 6 4 1] / 16, peaks >= 0.8 x max with parabolic interpolation; one keypoint per peak (at most MAX_ORI).
// One workgroup per candidate (indirect dispatch: exactly the candidates found).
@compute @workgroup_size(64)
fn orient(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  if (t < 36u) { atomicStore(&ohist[t], 0u); }
  workgroupBarrier();
  let c = cands[wid.x];
  let o = P.octs[c.octave];
  let w = i32(o.x);
  let h = i32(o.y);
  let base = o.z + c.layer * o.x * o.y;
  let sigmaOct = P.sigma0 * exp2(c.level / f32(P.s));
  let sig = 1.5 * sigmaOct;
  let radius = i32(round(4.5 * sigmaOct));
  let px = i32(round(c.x));
  let py = i32(round(c.y));
  let side = 2 * radius + 1;
  for (var k = i32(t); k < side * side; k += 64) {
    let i = k / side - radius;
    let j = k % side - radius;
    let x = px + j;
    let y = py + i;
    if (x <= 0 || x >= w - 1 || y <= 0 || y >= h - 1) { continue; }
    let dx = G(base, w, x + 1, y) - G(base, w, x - 1, y);
    let dy = G(base, w, x, y + 1) - G(base, w, x, y - 1);
    let wgt = exp(-f32(i * i + j * j) / (2.0 * sig * sig));
    let mag = sqrt(dx * dx + dy * dy);
    let bin = ((i32(round(36.0 * atan2(dy, dx) / TWO_PI)) % 36) + 36) % 36;
    atomicAdd(&ohist[bin], u32(round(wgt * mag * ORI_FIXED)));
  }
  workgroupBarrier();
  if (t < 36u) { oraw[t] = f32(atomicLoad(&ohist[t])) / ORI_FIXED; }
  workgroupBarrier();
  if (t < 36u) {
    osmooth[t] = (oraw[(t + 34u) % 36u] + oraw[(t + 2u) % 36u]) * (1.0 / 16.0)
      + (oraw[(t + 35u) % 36u] + oraw[(t + 1u) % 36u]) * (4.0 / 16.0) + oraw[t] * (6.0 / 16.0);
  }
  workgroupBarrier();
  if (t == 0u) {
    var maxv = 0.0;
    for (var j = 0u; j < 36u; j++) { maxv = max(maxv, osmooth[j]); }
    var found = 0u;
    for (var j = 0u; j < 36u; j++) {
      let l = osmooth[(j + 35u) % 36u];
      let r = osmooth[(j + 1u) % 36u];
      let m = osmooth[j];
      if (m > l && m > r && m >= 0.8 * maxv && found < MAX_ORI) {
        found++;
        var bin = f32(j) + 0.5 * (l - r) / (l - 2.0 * m + r);
        if (bin < 0.0) { bin += 36.0; }
        if (bin >= 36.0) { bin -= 36.0; }
        let idx = atomicAdd(&counters[1], 1u);
        if (idx < P.capKp) {
          kps[idx] = Kp(c.x, c.y, c.level, c.response, c.octave, c.layer, bin * (TWO_PI / 36.0), 0u);
        }
      }
    }
  }
}

var<workgroup> dhist: array<atomic<u32>, 288>;   // (4 + 2) x (4 + 2) x 8

fn addBin(r: i32, c: i32, o: i32, v: f32) {
  atomicAdd(&dhist[((r + 1) * 6 + (c + 1)) * 8 + o], u32(round(v * DESC_FIXED)));
}

// 4 x 4 x 8 descriptor with trilinear interpolation (window 3 sigma per cell, Gaussian weight of half the width),
// clamped at 0.2 of its L2 norm, then RootSIFT (L1 normalise, sqrt) and bytes = min(255, round(512 v)).
@compute @workgroup_size(64)
fn descr(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  for (var k = t; k < 288u; k += 64u) { atomicStore(&dhist[k], 0u); }
  workgroupBarrier();
  let kp = kps[wid.x];
  let o = P.octs[kp.octave];
  let w = i32(o.x);
  let h = i32(o.y);
  let base = o.z + kp.layer * o.x * o.y;
  let sigmaOct = P.sigma0 * exp2(kp.level / f32(P.s));
  let histW = 3.0 * sigmaOct;
  let radius = min(i32(round(histW * 1.4142135623730951 * 5.0 * 0.5)), i32(sqrt(f32(w * w + h * h))));
  let px = i32(round(kp.x));
  let py = i32(round(kp.y));
  let cosT = cos(kp.angle) / histW;
  let sinT = sin(kp.angle) / histW;
  let side = 2 * radius + 1;
  for (var k = i32(t); k < side * side; k += 64) {
    let i = k / side - radius;
    let j = k % side - radius;
    let cRot = f32(j) * cosT + f32(i) * sinT;
    let rRot = -f32(j) * sinT + f32(i) * cosT;
    let rbin = rRot + 1.5;
    let cbin = cRot + 1.5;
    let x = px + j;
    let y = py + i;
    if (rbin <= -1.0 || rbin >= 4.0 || cbin <= -1.0 || cbin >= 4.0 || x <= 0 || x >= w - 1 || y <= 0 || y >= h - 1) { continue; }
    let dx = G(base, w, x + 1, y) - G(base, w, x - 1, y);
    let dy = G(base, w, x, y + 1) - G(base, w, x, y - 1);
    let mag = sqrt(dx * dx + dy * dy) * exp(-(cRot * cRot + rRot * rRot) / 8.0);
    var obin = (atan2(dy, dx) - kp.angle) * (8.0 / TWO_PI);
    let r0 = floor(rbin);
    let c0 = floor(cbin);
    let o0 = floor(obin);
    let fr = rbin - r0;
    let fc = cbin - c0;
    let fo = obin - o0;
    let ri = i32(r0);
    let ci = i32(c0);
    let oa = ((i32(o0) % 8) + 8) % 8;
    let ob = (oa + 1) % 8;
    let v1 = mag * fr;
    let v0 = mag - v1;
    let v11 = v1 * fc;
    let v10 = v1 - v11;
    let v01 = v0 * fc;
    let v00 = v0 - v01;
    addBin(ri, ci, oa, v00 * (1.0 - fo));
    addBin(ri, ci, ob, v00 * fo);
    addBin(ri, ci + 1, oa, v01 * (1.0 - fo));
    addBin(ri, ci + 1, ob, v01 * fo);
    addBin(ri + 1, ci, oa, v10 * (1.0 - fo));
    addBin(ri + 1, ci, ob, v10 * fo);
    addBin(ri + 1, ci + 1, oa, v11 * (1.0 - fo));
    addBin(ri + 1, ci + 1, ob, v11 * fo);
  }
  workgroupBarrier();
  if (t == 0u) {
    var v: array<f32, 128>;
    var n2 = 0.0;
    for (var i = 0; i < 4; i++) {
      for (var j = 0; j < 4; j++) {
        for (var b = 0; b < 8; b++) {
          let val = f32(atomicLoad(&dhist[((i + 1) * 6 + (j + 1)) * 8 + b])) / DESC_FIXED;
          v[(i * 4 + j) * 8 + b] = val;
          n2 += val * val;
        }
      }
    }
    let thr = 0.2 * sqrt(n2);
    var l1 = 0.0;
    for (var k = 0; k < 128; k++) { v[k] = min(v[k], thr); l1 += v[k]; }
    let inv = select(0.0, 1.0 / l1, l1 > 0.0);
    for (var q = 0; q < 32; q++) {
      var word = 0u;
      for (var b = 0; b < 4; b++) {
        let byte = u32(min(255.0, round(512.0 * sqrt(v[q * 4 + b] * inv))));
        word |= byte << (8u * u32(b));
      }
      desc[wid.x * 32u + u32(q)] = word;
    }
  }
}
