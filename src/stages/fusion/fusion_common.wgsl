// Shared by the fusion kernels (concatenated in front of each). Grid point (x, y, z) has linear index
// x + nx * (y + ny * z) and world position origin + (x, y, z) * voxelSize.
struct VolumeParams {
  dims: vec3u,
  viewStart: u32,
  origin: vec3f,
  voxelSize: f32,
  truncation: f32,
  viewCount: u32,
  saturated: f32,
  /** 1: count silhouette (hull) votes in unobserved points (tsdf_integrate.wgsl). */
  hullFill: u32,
  /** The slab this dispatch covers: linear grid indices [indexBase, indexEnd) (fusion.ts runs passes in slabs). */
  indexBase: u32,
  indexEnd: u32,
};

fn linearIndex(wid: vec3u, nwg: vec3u, lid: u32, workgroupSize: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * workgroupSize + lid;
}

// The grid point an invocation handles within the current slab; >= params.indexEnd means none (every kernel that
// includes this file binds `params`).
fn slabIndex(wid: vec3u, nwg: vec3u, lid: u32, workgroupSize: u32) -> u32 {
  return params.indexBase + linearIndex(wid, nwg, lid, workgroupSize);
}

fn gridCoord(i: u32, dims: vec3u) -> vec3u {
  let plane = dims.x * dims.y;
  return vec3u(i % dims.x, (i / dims.x) % dims.y, i / plane);
}

fn gridIndex(c: vec3u, dims: vec3u) -> u32 {
  return c.x + dims.x * (c.y + dims.y * c.z);
}
