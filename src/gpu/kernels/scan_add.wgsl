// Adds each block's scanned offset (from the level above) to its 512 elements.
struct Params {
  count: u32,
};

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read> sums: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  let i0 = block * 512u + 2u * lid;
  if (block == 0u || i0 >= params.count) {
    return;
  }
  let add = sums[block];
  data[i0] = data[i0] + add;
  if (i0 + 1u < params.count) {
    data[i0 + 1u] = data[i0 + 1u] + add;
  }
}
