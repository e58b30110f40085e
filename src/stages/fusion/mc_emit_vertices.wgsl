// Marching cubes, pass 3: writes each owned edge's vertex at its scanned index: position by linear interpolation of
// the TSDF, normal from the TSDF gradient (pointing outwards, towards positive values), colour interpolated.
@group(0) @binding(0) var<storage, read> tsdf: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> color: array<u32>;
@group(0) @binding(3) var<storage, read> vertexBase: array<u32>;
@group(0) @binding(4) var<storage, read_write> positions: array<f32>;
@group(0) @binding(5) var<storage, read_write> normals: array<f32>;
@group(0) @binding(6) var<storage, read_write> colors: array<u32>;
@group(0) @binding(7) var<uniform> params: VolumeParams;

override WORKGROUP_SIZE: u32 = 64;

fn usable(i: u32) -> bool {
  return weight[i] > 0.0 && abs(tsdf[i]) < params.saturated;
}

fn sampleAt(c: vec3i) -> f32 {
  let m = vec3i(params.dims) - vec3i(1);
  return tsdf[gridIndex(vec3u(clamp(c, vec3i(0), m)), params.dims)];
}

fn gradient(c: vec3u) -> vec3f {
  let p = vec3i(c);
  return vec3f(
    sampleAt(p + vec3i(1, 0, 0)) - sampleAt(p - vec3i(1, 0, 0)),
    sampleAt(p + vec3i(0, 1, 0)) - sampleAt(p - vec3i(0, 1, 0)),
    sampleAt(p + vec3i(0, 0, 1)) - sampleAt(p - vec3i(0, 0, 1)),
  );
}

fn mixColor(a: u32, b: u32, t: f32) -> u32 {
  var out = 0u;
  for (var ch = 0u; ch < 3u; ch = ch + 1u) {
    let x = mix(f32((a >> (8u * ch)) & 255u), f32((b >> (8u * ch)) & 255u), t);
    out = out | (u32(clamp(floor(x + 0.5), 0.0, 255.0)) << (8u * ch));
  }
  return out;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = slabIndex(wid, nwg, lid, WORKGROUP_SIZE);
  if (i >= params.indexEnd || !usable(i)) {
    return;
  }
  let c = gridCoord(i, params.dims);
  let inside = tsdf[i] < 0.0;
  var slot = vertexBase[i];
  let steps = vec3u(1u, params.dims.x, params.dims.x * params.dims.y);
  for (var axis = 0u; axis < 3u; axis = axis + 1u) {
    if (c[axis] + 1u >= params.dims[axis]) {
      continue;
    }
    let j = i + steps[axis];
    if (!usable(j) || (tsdf[j] < 0.0) == inside) {
      continue;
    }
    let t = tsdf[i] / (tsdf[i] - tsdf[j]);
    var q = vec3f(c);
    q[axis] = q[axis] + t;
    let p = params.origin + q * params.voxelSize;
    var cj = c;
    cj[axis] = cj[axis] + 1u;
    var n = mix(gradient(c), gradient(cj), t);
    let len = length(n);
    n = select(vec3f(0.0, 0.0, 1.0), n / len, len > 1e-12);
    positions[3u * slot] = p.x;
    positions[3u * slot + 1u] = p.y;
    positions[3u * slot + 2u] = p.z;
    normals[3u * slot] = n.x;
    normals[3u * slot + 1u] = n.y;
    normals[3u * slot + 2u] = n.z;
    colors[slot] = mixColor(color[i], color[j], t);
    slot = slot + 1u;
  }
}
