// Uniform Laplacian regulariser on the vertex offsets d = p - p0 (welded vertices, CSR adjacency):
// E = sum_v |L_v|^2 with L_v = d_v - mean_{u in N(v)} d_u. `delta` computes L; `gradient` gathers
// dE/dd_v = 2 (L_v - sum_{u in N(v)} L_u / |N(u)|) (the adjacency is symmetric), a gather: deterministic.
struct LapSetup {
  vertexCount: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
};
@group(0) @binding(0) var<uniform> lap: LapSetup;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> base: array<f32>;
@group(0) @binding(3) var<storage, read> adjOffsets: array<u32>;
@group(0) @binding(4) var<storage, read> adjList: array<u32>;
@group(0) @binding(5) var<storage, read_write> lapVec: array<f32>;
@group(0) @binding(6) var<storage, read_write> lapGrad: array<f32>;

fn offsetOf(v: u32) -> vec3f {
  return vec3f(params[3u * v] - base[3u * v], params[3u * v + 1u] - base[3u * v + 1u], params[3u * v + 2u] - base[3u * v + 2u]);
}

fn lapOf(v: u32) -> vec3f {
  return vec3f(lapVec[3u * v], lapVec[3u * v + 1u], lapVec[3u * v + 2u]);
}

@compute @workgroup_size(64)
fn delta(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let v = gid.x + gid.y * nwg.x * 64u;
  if (v >= lap.vertexCount) { return; }
  let first = adjOffsets[v];
  let last = adjOffsets[v + 1u];
  var sum = vec3f(0.0);
  for (var k = first; k < last; k++) { sum += offsetOf(adjList[k]); }
  var l = vec3f(0.0);
  if (last > first) { l = offsetOf(v) - sum / f32(last - first); }
  lapVec[3u * v] = l.x;
  lapVec[3u * v + 1u] = l.y;
  lapVec[3u * v + 2u] = l.z;
}

@compute @workgroup_size(64)
fn gradient(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let v = gid.x + gid.y * nwg.x * 64u;
  if (v >= lap.vertexCount) { return; }
  let first = adjOffsets[v];
  let last = adjOffsets[v + 1u];
  var g = select(vec3f(0.0), lapOf(v), last > first);
  for (var k = first; k < last; k++) {
    let u = adjList[k];
    let n = adjOffsets[u + 1u] - adjOffsets[u];
    g -= lapOf(u) / f32(max(n, 1u));
  }
  lapGrad[3u * v] = 2.0 * g.x;
  lapGrad[3u * v + 1u] = 2.0 * g.y;
  lapGrad[3u * v + 2u] = 2.0 * g.z;
}
