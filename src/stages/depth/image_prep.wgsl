// The depth stage's inputs from a view's working image (RGBA8, one u32 a pixel), on the GPU instead of the CPU
// (imagePrep.ts): box-filtered luma for the plane sweep (8 bits, packed four to a u32 in rows of `rowWords` words, the
// layout copyBufferToTexture needs for an r8unorm texture), its 2x2 mip level, and the network's RGB planes in 0..1.
// Box of output pixel x: source columns [floor(x vw / W), min(vw, ceil((x + 1) vw / W))), in integers, so the CPU
// references (lumaBoxCpu, planarRgb) give the same boxes.
struct Params {
  srcSize: vec2u,
  dstSize: vec2u,
  // words per row of the level-0 and level-1 luma
  rowWords: u32,
  rowWords1: u32,
  // offset of the planes in `planes`, in floats
  planeOffset: u32,
  pad: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rgba: array<u32>;
@group(0) @binding(2) var<storage, read_write> lumaOut: array<u32>;
@group(0) @binding(3) var<storage, read_write> planes: array<f32>;
@group(0) @binding(4) var<storage, read> luma0: array<u32>;

fn boxStart(i: u32, src: u32, dst: u32) -> u32 {
  return (i * src) / dst;
}

fn boxEnd(i: u32, src: u32, dst: u32) -> u32 {
  return max(boxStart(i, src, dst) + 1u, min(src, ((i + 1u) * src + dst - 1u) / dst));
}

// The R, G, B sums over output pixel (x, y)'s box and its pixel count (boxSumsCpu on the CPU).
fn boxSum(x: u32, y: u32) -> vec4u {
  let vw = params.srcSize.x;
  let x0 = boxStart(x, vw, params.dstSize.x);
  let x1 = boxEnd(x, vw, params.dstSize.x);
  let y0 = boxStart(y, params.srcSize.y, params.dstSize.y);
  let y1 = boxEnd(y, params.srcSize.y, params.dstSize.y);
  var sum = vec3u(0u);
  for (var yy = y0; yy < y1; yy = yy + 1u) {
    for (var xx = x0; xx < x1; xx = xx + 1u) {
      let p = rgba[yy * vw + xx];
      sum = sum + vec3u(p & 255u, (p >> 8u) & 255u, (p >> 16u) & 255u);
    }
  }
  return vec4u(sum, (x1 - x0) * (y1 - y0));
}

// The Rec. 601 luma of the box: (299 R + 587 G + 114 B) / 1000 of the mean, rounded half up.
fn lumaBox(x: u32, y: u32) -> u32 {
  let s = boxSum(x, y);
  return (dot(s.xyz, vec3u(299u, 587u, 114u)) + 500u * s.w) / (1000u * s.w);
}

// Four luma pixels per invocation, packed into one word.
@compute @workgroup_size(8, 8)
fn luma(@builtin(global_invocation_id) gid: vec3u) {
  let x = 4u * gid.x;
  if (x >= params.dstSize.x || gid.y >= params.dstSize.y) {
    return;
  }
  var word = 0u;
  for (var i = 0u; i < 4u; i = i + 1u) {
    if (x + i < params.dstSize.x) {
      word = word | (lumaBox(x + i, gid.y) << (8u * i));
    }
  }
  lumaOut[gid.y * params.rowWords + gid.x] = word;
}

fn luma0At(x: u32, y: u32) -> u32 {
  return (luma0[y * params.rowWords + x / 4u] >> (8u * (x % 4u))) & 255u;
}

// Mip level 1 of the level-0 luma (floor of each side): the rounded mean of each 2 x 2 block.
@compute @workgroup_size(8, 8)
fn halve(@builtin(global_invocation_id) gid: vec3u) {
  let w = params.dstSize.x / 2u;
  let h = params.dstSize.y / 2u;
  let x = 4u * gid.x;
  if (x >= w || gid.y >= h) {
    return;
  }
  var word = 0u;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let xi = x + i;
    if (xi < w) {
      let s = luma0At(2u * xi, 2u * gid.y) + luma0At(2u * xi + 1u, 2u * gid.y) + luma0At(2u * xi, 2u * gid.y + 1u) + luma0At(2u * xi + 1u, 2u * gid.y + 1u);
      word = word | (((s + 2u) >> 2u) << (8u * i));
    }
  }
  lumaOut[gid.y * params.rowWords1 + gid.x] = word;
}

// The network's input: box-filtered R, G, B planes in 0..1 ([3, H, W] at planeOffset).
@compute @workgroup_size(8, 8)
fn rgbPlanes(@builtin(global_invocation_id) gid: vec3u) {
  let W = params.dstSize.x;
  let H = params.dstSize.y;
  if (gid.x >= W || gid.y >= H) {
    return;
  }
  let s = boxSum(gid.x, gid.y);
  let k = f32(255u * s.w);
  let i = params.planeOffset + gid.y * W + gid.x;
  planes[i] = f32(s.x) / k;
  planes[i + W * H] = f32(s.y) / k;
  planes[i + 2u * W * H] = f32(s.z) / k;
}
