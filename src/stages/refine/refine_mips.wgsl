// Box-filtered mip level `level` of the kd texture from the level below (level 0 = the texture parameters).
struct MipLevel {
  level: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
};
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<uniform> mip: MipLevel;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> mips: array<f32>;

fn below(x: u32, y: u32, c: u32) -> f32 {
  let level = mip.level - 1u;
  let n = setup.texSize >> level;
  if (level == 0u) { return params[setup.texOff + 3u * (y * n + x) + c]; }
  return mips[mipOffset(level) + 3u * (y * n + x) + c];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = setup.texSize >> mip.level;
  if (gid.x >= n || gid.y >= n) { return; }
  let base = mipOffset(mip.level) + 3u * (gid.y * n + gid.x);
  for (var c = 0u; c < 3u; c++) {
    let x = 2u * gid.x;
    let y = 2u * gid.y;
    mips[base + c] = 0.25 * (below(x, y, c) + below(x + 1u, y, c) + below(x, y + 1u, c) + below(x + 1u, y + 1u, c));
  }
}
