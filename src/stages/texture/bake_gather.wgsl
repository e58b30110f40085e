// out[i] = src[index[i]]: the few depth pixels exposure compensation reads (bake.ts `gatherDepth`), so that only they
// come back to the CPU instead of every view's whole depth map.
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> index: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.y * groups.x * 256u + gid.x;
  if (i < arrayLength(&index)) { out[i] = src[index[i]]; }
}
