// Exclusive prefix sum of u32, one block of 512 elements per workgroup (Blelloch), block totals to `sums`.
struct Params {
  count: u32,
};

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> sums: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const BLOCK: u32 = 512u;
var<workgroup> temp: array<u32, 512>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  let base = block * BLOCK;
  if (base >= params.count) {
    return;
  }
  let i0 = base + 2u * lid;
  let i1 = i0 + 1u;
  temp[2u * lid] = select(0u, data[min(i0, params.count - 1u)], i0 < params.count);
  temp[2u * lid + 1u] = select(0u, data[min(i1, params.count - 1u)], i1 < params.count);
  var offset = 1u;
  for (var d = BLOCK >> 1u; d > 0u; d = d >> 1u) {
    workgroupBarrier();
    if (lid < d) {
      let ai = offset * (2u * lid + 1u) - 1u;
      let bi = offset * (2u * lid + 2u) - 1u;
      temp[bi] = temp[bi] + temp[ai];
    }
    offset = offset << 1u;
  }
  workgroupBarrier();
  if (lid == 0u) {
    sums[block] = temp[BLOCK - 1u];
    temp[BLOCK - 1u] = 0u;
  }
  for (var d = 1u; d < BLOCK; d = d << 1u) {
    offset = offset >> 1u;
    workgroupBarrier();
    if (lid < d) {
      let ai = offset * (2u * lid + 1u) - 1u;
      let bi = offset * (2u * lid + 2u) - 1u;
      let t = temp[ai];
      temp[ai] = temp[bi];
      temp[bi] = temp[bi] + t;
    }
  }
  workgroupBarrier();
  if (i0 < params.count) {
    data[i0] = temp[2u * lid];
  }
  if (i1 < params.count) {
    data[i1] = temp[2u * lid + 1u];
  }
}
