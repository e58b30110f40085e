// Cube helpers shared by the triangle passes. `table` holds 256 triangle counts, then 256 x 36 edge ids.
const TABLE_STRIDE: u32 = 36u;

fn usableCorner(i: u32) -> bool {
  return weight[i] > 0.0 && abs(tsdf[i]) < params.saturated;
}

fn cornerIndex(base: vec3u, corner: u32) -> u32 {
  return gridIndex(base + vec3u(corner & 1u, (corner >> 1u) & 1u, (corner >> 2u) & 1u), params.dims);
}

fn cubeCase(c: vec3u) -> i32 {
  var config = 0u;
  for (var k = 0u; k < 8u; k = k + 1u) {
    let i = cornerIndex(c, k);
    if (weight[i] <= 0.0) {
      return -1;
    }
    if (tsdf[i] < 0.0) {
      config = config | (1u << k);
    }
  }
  return i32(config);
}

// Edge e: axis e / 4; its lower corner has the other two axes' bits from e % 4.
fn edgeOwner(c: vec3u, e: u32) -> vec3u {
  let axis = e / 4u;
  let k = e % 4u;
  var offset = vec3u(0u);
  var bit = 0u;
  for (var a = 0u; a < 3u; a = a + 1u) {
    if (a != axis) {
      offset[a] = (k >> bit) & 1u;
      bit = bit + 1u;
    }
  }
  return c + offset;
}

fn edgeHasVertex(owner: vec3u, axis: u32) -> bool {
  let i = gridIndex(owner, params.dims);
  var next = owner;
  next[axis] = next[axis] + 1u;
  let j = gridIndex(next, params.dims);
  return usableCorner(i) && usableCorner(j) && ((tsdf[i] < 0.0) != (tsdf[j] < 0.0));
}

fn cubeTriangles(i: u32, c: vec3u) -> u32 {
  if (c.x + 1u >= params.dims.x || c.y + 1u >= params.dims.y || c.z + 1u >= params.dims.z) {
    return 0u;
  }
  let config = cubeCase(c);
  if (config <= 0 || config >= 255) {
    return 0u;
  }
  let n = u32(table[config]);
  let base = 256u + u32(config) * TABLE_STRIDE;
  for (var k = 0u; k < 3u * n; k = k + 1u) {
    let e = u32(table[base + k]);
    if (!edgeHasVertex(edgeOwner(c, e), e / 4u)) {
      return 0u;
    }
  }
  return n;
}
