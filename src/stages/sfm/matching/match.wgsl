// Brute-force nearest and second-nearest descriptors (matchGpu.ts). A job is one direction of one image pair:
// queries q[0..qCount) against references r[0..rCount) in the shared descriptor buffer (32 u32 = 128 bytes each).
// Squared distance = |q|^2 + |r|^2 - 2 q.r in exact integers: for a fixed query only score = |r|^2 - 2 q.r matters,
// so the ranking is exact and ties go to the lower reference index, as in the CPU reference.
// Each workgroup takes 64 queries and streams every reference in tiles of 64 through workgroup memory (a 64 x 64
// tile of the matrix product per step, 4 x 4 per thread, dot4U8Packed on the bytes); per-thread top-2 lists are
// merged at the end in a fixed order. `main_direct` is the same search without workgroup memory or barriers, one
// thread per query streaming the references from global memory: for CPU fallback adapters (SwiftShader), where
// barriers cost ~15x and the tiled kernel took minutes on temple-sparse. Both give the same records bit for bit.

struct Job { qOff: u32, qCount: u32, rOff: u32, rCount: u32, outOff: u32, wgStart: u32, pad0: u32, pad1: u32 }
struct Params { jobs: u32, groups: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> jobs: array<Job>;
@group(0) @binding(2) var<storage, read> desc: array<u32>;
@group(0) @binding(3) var<storage, read> norms: array<u32>;
@group(0) @binding(4) var<storage, read_write> result: array<vec4<u32>>;

const BIG: i32 = 0x3fffffff;

// The job workgroup g belongs to (jobs sorted by wgStart).
fn jobOf(g: u32) -> u32 {
  var lo = 0u;
  var hi = P.jobs;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (jobs[mid].wgStart <= g) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

// [k][64 queries | references], rows padded to 65 words so that the transposing stores hit distinct banks.
const TS: u32 = 65u;
var<workgroup> qs: array<u32, 2080>;
var<workgroup> rs: array<u32, 2080>;
var<workgroup> rn: array<i32, 64>;
var<workgroup> best1: array<i32, 1024>;   // [16 column groups][64 rows]
var<workgroup> bidx: array<u32, 1024>;
var<workgroup> best2: array<i32, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) t: u32,
        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= P.groups) { return; }
  let job = jobs[jobOf(g)];
  let q0 = (g - job.wgStart) * 64u;
  for (var e = t; e < 2048u; e += 256u) {
    let row = e / 32u;
    let k = e % 32u;
    var v = 0u;
    if (q0 + row < job.qCount) { v = desc[(job.qOff + q0 + row) * 32u + k]; }
    qs[k * TS + row] = v;
  }
  var b1: array<i32, 4>;
  var i1: array<u32, 4>;
  var b2: array<i32, 4>;
  for (var r = 0; r < 4; r++) { b1[r] = BIG; b2[r] = BIG; i1[r] = 0xffffffffu; }
  let tiles = (job.rCount + 63u) / 64u;
  for (var tile = 0u; tile < tiles; tile++) {
    let r0 = tile * 64u;
    workgroupBarrier();
    for (var e = t; e < 2048u; e += 256u) {
      let col = e / 32u;
      let k = e % 32u;
      var v = 0u;
      if (r0 + col < job.rCount) { v = desc[(job.rOff + r0 + col) * 32u + k]; }
      rs[k * TS + col] = v;
    }
    if (t < 64u) { rn[t] = select(BIG, i32(norms[job.rOff + r0 + t]), r0 + t < job.rCount); }
    workgroupBarrier();
    var acc: array<array<u32, 4>, 4>;
    for (var a = 0; a < 4; a++) { for (var b = 0; b < 4; b++) { acc[a][b] = 0u; } }
    for (var k = 0u; k < 32u; k++) {
      var qv: array<u32, 4>;
      var rv: array<u32, 4>;
      for (var a = 0u; a < 4u; a++) {
        qv[a] = qs[k * TS + lid.y + 16u * a];
        rv[a] = rs[k * TS + lid.x + 16u * a];
      }
      for (var a = 0; a < 4; a++) {
        for (var b = 0; b < 4; b++) { acc[a][b] += dot4U8Packed(qv[a], rv[b]); }
      }
    }
    // Columns in increasing index order per thread: a strict < keeps the lower index on ties.
    for (var b = 0u; b < 4u; b++) {
      let col = lid.x + 16u * b;
      if (r0 + col >= job.rCount) { continue; }
      let n = rn[col];
      for (var a = 0; a < 4; a++) {
        let sc = n - 2 * i32(acc[a][b]);
        let idx = r0 + col;
        if (sc < b1[a] || (sc == b1[a] && idx < i1[a])) { b2[a] = b1[a]; b1[a] = sc; i1[a] = idx; }
        else if (sc < b2[a]) { b2[a] = sc; }
      }
    }
  }
  for (var a = 0u; a < 4u; a++) {
    let row = lid.y + 16u * a;
    best1[lid.x * 64u + row] = b1[a];
    bidx[lid.x * 64u + row] = i1[a];
    best2[lid.x * 64u + row] = b2[a];
  }
  workgroupBarrier();
  if (t < 64u) {
    var s1 = best1[t];
    var j1 = bidx[t];
    var s2 = best2[t];
    for (var c = 1u; c < 16u; c++) {
      let c1 = best1[c * 64u + t];
      let cj = bidx[c * 64u + t];
      let c2 = best2[c * 64u + t];
      if (c1 < s1 || (c1 == s1 && cj < j1)) { s2 = min(s1, c2); s1 = c1; j1 = cj; }
      else { s2 = min(s2, c1); }
    }
    if (q0 + t < job.qCount) {
      let qn = i32(norms[job.qOff + q0 + t]);
      // Squared distances (>= 0); BIG when there is no first / second reference.
      let d1 = select(u32(BIG), u32(max(0, qn + s1)), s1 < BIG);
      let d2 = select(u32(BIG), u32(max(0, qn + s2)), s2 < BIG);
      result[job.outOff + q0 + t] = vec4<u32>(j1, d1, d2, 0u);
    }
  }
}

// One thread per query, references in increasing index order: a strict < keeps the lower index on ties, and the
// second best is the second smallest score of the multiset, as the tiled kernel's merge gives.
@compute @workgroup_size(64)
fn main_direct(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= P.groups) { return; }
  let job = jobs[jobOf(g)];
  let q = (g - job.wgStart) * 64u + t;
  if (q >= job.qCount) { return; }
  var qv: array<u32, 32>;
  for (var k = 0u; k < 32u; k++) { qv[k] = desc[(job.qOff + q) * 32u + k]; }
  var s1 = BIG;
  var s2 = BIG;
  var j1 = 0xffffffffu;
  for (var r = 0u; r < job.rCount; r++) {
    let base = (job.rOff + r) * 32u;
    var acc = 0u;
    for (var k = 0u; k < 32u; k++) { acc += dot4U8Packed(qv[k], desc[base + k]); }
    let sc = i32(norms[job.rOff + r]) - 2 * i32(acc);
    if (sc < s1) { s2 = s1; s1 = sc; j1 = r; }
    else if (sc < s2) { s2 = sc; }
  }
  let qn = i32(norms[job.qOff + q]);
  let d1 = select(u32(BIG), u32(max(0, qn + s1)), s1 < BIG);
  let d2 = select(u32(BIG), u32(max(0, qn + s2)), s2 < BIG);
  result[job.outOff + q] = vec4<u32>(j1, d1, d2, 0u);
}
