// Copies the renderer's camera-z texture into a slice of a storage buffer (row-major, no padding): the baker keeps
// per-view visibility depth on the GPU instead of reading it back.
struct Params {
  size: vec2u,
  offset: u32,
  _pad: u32,
};

@group(0) @binding(0) var depth: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.size.x || gid.y >= params.size.y) {
    return;
  }
  out[params.offset + gid.y * params.size.x + gid.x] = textureLoad(depth, vec2i(gid.xy), 0).r;
}
