// Marching cubes, pass 4: writes each cube's triangles at its scanned index. A vertex index is the owner's scanned
// vertex base plus the number of the owner's vertex-carrying edges on lower axes.
@group(0) @binding(0) var<storage, read> tsdf: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<i32>;
@group(0) @binding(3) var<storage, read> vertexBase: array<u32>;
@group(0) @binding(4) var<storage, read> triangleBase: array<u32>;
@group(0) @binding(5) var<storage, read_write> indices: array<u32>;
@group(0) @binding(6) var<uniform> params: VolumeParams;

override WORKGROUP_SIZE: u32 = 64;

fn vertexIndex(owner: vec3u, axis: u32) -> u32 {
  var rank = 0u;
  for (var a = 0u; a < axis; a = a + 1u) {
    if (owner[a] + 1u < params.dims[a] && edgeHasVertex(owner, a)) {
      rank = rank + 1u;
    }
  }
  return vertexBase[gridIndex(owner, params.dims)] + rank;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd) {
    return;
  }
  let c = gridCoord(i, params.dims);
  let n = cubeTriangles(i, c);
  if (n == 0u) {
    return;
  }
  let config = u32(cubeCase(c));
  let base = 256u + config * TABLE_STRIDE;
  let out = 3u * triangleBase[i];
  for (var k = 0u; k < 3u * n; k = k + 1u) {
    let e = u32(table[base + k]);
    indices[out + k] = vertexIndex(edgeOwner(c, e), e / 4u);
  }
}
