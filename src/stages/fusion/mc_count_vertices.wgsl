// Marching cubes, pass 1: each grid point owns the edges to its +x, +y, +z neighbours; an edge carries a vertex when
// both ends are observed, unsaturated and on opposite sides of the surface. Writes the vertex count (0..3).
@group(0) @binding(0) var<storage, read> tsdf: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@group(0) @binding(3) var<uniform> params: VolumeParams;

override WORKGROUP_SIZE: u32 = 64;

fn usable(i: u32) -> bool {
  return weight[i] > 0.0 && abs(tsdf[i]) < params.saturated;
}

// Bit `axis` set when the owner's edge along `axis` carries a vertex.
fn edgeBits(i: u32, c: vec3u) -> u32 {
  if (!usable(i)) {
    return 0u;
  }
  let inside = tsdf[i] < 0.0;
  var bits = 0u;
  let steps = vec3u(1u, params.dims.x, params.dims.x * params.dims.y);
  for (var axis = 0u; axis < 3u; axis = axis + 1u) {
    if (c[axis] + 1u >= params.dims[axis]) {
      continue;
    }
    let j = i + steps[axis];
    if (usable(j) && (tsdf[j] < 0.0) != inside) {
      bits = bits | (1u << axis);
    }
  }
  return bits;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd) {
    return;
  }
  counts[i] = countOneBits(edgeBits(i, gridCoord(i, params.dims)));
}
