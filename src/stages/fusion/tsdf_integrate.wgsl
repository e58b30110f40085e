// TSDF integration: every grid point projects into each view of the batch, reads the depth there (nearest pixel),
// and folds the truncated signed distance (and colour, near the surface) into a running weighted average.
// Depth < 0 marks background (mask): free space; fusion.ts uploads minus the pixel's distance to the silhouette there
// (silhouette.ts), so a point just outside the outline gets a small positive distance instead of a full truncation
// (which eroded thin and curved parts). Depth 0 is missing: no update.
// Silhouette fill (params.hullFill, only when the capture has masks): a grid point that no depth map observes but that
// projects inside a mask (onto missing depth, or behind a surface by more than the truncation) counts one "hull"
// vote. Until its first real update, its weight holds minus its vote count (so weight <= 0 still means unobserved to
// every other kernel); fusion_hull.wgsl turns points with enough votes into interior, closing the holes that depth
// estimation leaves inside the silhouettes.
@group(0) @binding(0) var<storage, read_write> tsdf: array<f32>;
@group(0) @binding(1) var<storage, read_write> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> color: array<u32>;
@group(0) @binding(3) var<storage, read> views: array<View>;
@group(0) @binding(4) var<storage, read> depth: array<f32>;
@group(0) @binding(5) var<storage, read> pixels: array<u32>;
@group(0) @binding(6) var<uniform> params: VolumeParams;

override WORKGROUP_SIZE: u32 = 64;
// The weight of a free-space vote beyond the truncation band: types.ts FREE_SPACE_WEIGHT, which the host passes in.
override FREE_SPACE_WEIGHT: f32;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd) {
    return;
  }
  let p = params.origin + vec3f(gridCoord(i, params.dims)) * params.voxelSize;
  var t = tsdf[i];
  var w = weight[i];
  var hull = max(0.0, -w);
  w = max(0.0, w);
  var c = color[i];
  for (var k = 0u; k < params.viewCount; k = k + 1u) {
    let view = views[params.viewStart + k];
    let cz = dot(view.r2.xyz, p) + view.r2.w;
    if (cz <= 1e-6) {
      continue;
    }
    let cx = dot(view.r0.xyz, p) + view.r0.w;
    let cy = dot(view.r1.xyz, p) + view.r1.w;
    let u = i32(floor(view.intrinsics.x * cx / cz + view.intrinsics.z + 0.5));
    let v = i32(floor(view.intrinsics.y * cy / cz + view.intrinsics.w + 0.5));
    if (u < 0 || v < 0 || u >= i32(view.size.x) || v >= i32(view.size.y)) {
      continue;
    }
    let pixel = view.offset + u32(v) * view.size.x + u32(u);
    let d = depth[pixel];
    var sdf: f32;
    if (d < 0.0) {
      // -d: pixels from this background pixel to the silhouette (the full distance: silhouette.ts says why); intrinsics.x
      // is fx.
      sdf = min(params.truncation, -d * cz / view.intrinsics.x);
    } else if (d == 0.0) {
      hull = hull + 1.0;
      continue;
    } else {
      sdf = d - cz;
    }
    if (sdf < -params.truncation) {
      hull = hull + 1.0;
      continue;
    }
    let value = min(1.0, sdf / params.truncation);
    // FREE_SPACE_RULE: free space beyond the band in front of a measured depth counts FREE_SPACE_WEIGHT of a vote.
    let vote = select(1.0, FREE_SPACE_WEIGHT, d > 0.0 && sdf > params.truncation);
    t = (t * w + value * vote) / (w + vote);
    if (d > 0.0 && sdf < params.truncation) {
      let sample = pixels[pixel];
      let wc = (c >> 24u) & 255u;
      var packed = 0u;
      for (var ch = 0u; ch < 3u; ch = ch + 1u) {
        let a = f32((c >> (8u * ch)) & 255u);
        let b = f32((sample >> (8u * ch)) & 255u);
        packed = packed | (u32(floor((a * f32(wc) + b) / f32(wc + 1u) + 0.5)) << (8u * ch));
      }
      c = packed | (min(255u, wc + 1u) << 24u);
    }
    w = w + vote;
  }
  tsdf[i] = t;
  weight[i] = select(w, -hull, w <= 0.0 && params.hullFill != 0u);
  color[i] = c;
}
