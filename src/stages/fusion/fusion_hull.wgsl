// Silhouette fill, after integration (see tsdf_integrate.wgsl). Unobserved grid points with at least MIN_VOTES hull
// votes are inside every mask that sees them and behind or beside every depth map: interior. Two passes, so no pass
// reads what it writes:
//   edges: a purely carved point (tsdf saturated at +1) next to an interior point (26-neighbourhood) gets +0.5, so that the surface
//          between them passes through the midpoint instead of being dropped as saturated;
//   fill:  interior points get -0.5 with a small weight (real depth outweighs them if anything is fused later); other
//          unobserved points go back to weight 0.
@group(0) @binding(0) var<storage, read_write> tsdf: array<f32>;
@group(0) @binding(1) var<storage, read_write> weight: array<f32>;
@group(0) @binding(2) var<uniform> params: VolumeParams;

override WORKGROUP_SIZE: u32 = 64;
override MIN_VOTES: f32 = 3.0;
const INTERIOR_WEIGHT: f32 = 0.01;

fn interior(c: vec3i) -> bool {
  if (any(c < vec3i(0)) || any(c >= vec3i(params.dims))) {
    return false;
  }
  return weight[gridIndex(vec3u(c), params.dims)] <= -MIN_VOTES;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn edges(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd) {
    return;
  }
  if (weight[i] <= 0.0 || tsdf[i] < params.saturated) {
    return;
  }
  // Any of the 26 neighbours: a marching cube holding both points needs every corner usable.
  let c = vec3i(gridCoord(i, params.dims));
  for (var dz = -1; dz <= 1; dz = dz + 1) {
    for (var dy = -1; dy <= 1; dy = dy + 1) {
      for (var dx = -1; dx <= 1; dx = dx + 1) {
        if (interior(c + vec3i(dx, dy, dz))) {
          tsdf[i] = 0.5;
          return;
        }
      }
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd) {
    return;
  }
  let w = weight[i];
  if (w <= -MIN_VOTES) {
    tsdf[i] = -0.5;
    weight[i] = INTERIOR_WEIGHT;
  } else if (w < 0.0) {
    weight[i] = 0.0;
  }
}
