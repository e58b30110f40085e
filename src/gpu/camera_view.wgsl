// One camera as kernels read it (packed by src/gpu/cameraViews.ts): camFromWorld rows, intrinsics, image size and
// the offset of its pixels in a concatenated per-pixel buffer.
struct View {
  r0: vec4f,
  r1: vec4f,
  r2: vec4f,
  intrinsics: vec4f, // fx, fy, cx, cy
  size: vec2u,
  offset: u32,
  _pad: u32,
};
