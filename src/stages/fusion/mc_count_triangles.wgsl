// Marching cubes, pass 2: each grid point (except the last in each axis) is the corner of one cube; its case comes
// from the 8 corner signs. A cube makes triangles only when all corners are observed and every edge its case crosses
// carries a vertex (pass 1's rule), so no triangle references a missing vertex.
@group(0) @binding(0) var<storage, read> tsdf: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<i32>;
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;
@group(0) @binding(4) var<uniform> params: VolumeParams;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd) {
    return;
  }
  counts[i] = cubeTriangles(i, gridCoord(i, params.dims));
}
