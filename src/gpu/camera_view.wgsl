// One camera as kernels read it (packed by src/gpu/cameraViews.ts): camFromWorld rows, intrinsics, image size, the
// offset of its pixels in a concatenated per-pixel buffer, and its photometric gain.
struct View {
  r0: vec4f,
  r1: vec4f,
  r2: vec4f,
  intrinsics: vec4f, // fx, fy, cx, cy
  size: vec2u,
  offset: u32,
  // photometric gain of the view (exposure compensation: colours are divided by it); 1 when unused
  gain: f32,
};
