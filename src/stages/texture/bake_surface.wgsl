// Rasterises the mesh in UV space: each atlas texel a triangle covers gets its surface position and normal.
struct VertexIn {
  @location(0) uv: vec2f,
  @location(1) position: vec3f,
  @location(2) normal: vec3f,
};

struct VertexOut {
  @builtin(position) clip: vec4f,
  @location(0) position: vec3f,
  @location(1) normal: vec3f,
};

struct SurfaceOut {
  @location(0) position: vec4f,
  @location(1) normal: vec4f,
};

@vertex
fn vs_main(input: VertexIn) -> VertexOut {
  var out: VertexOut;
  // uv (0,0) is the top-left texel; clip y points up.
  out.clip = vec4f(input.uv.x * 2.0 - 1.0, 1.0 - input.uv.y * 2.0, 0.0, 1.0);
  out.position = input.position;
  out.normal = input.normal;
  return out;
}

@fragment
fn fs_main(input: VertexOut) -> SurfaceOut {
  var out: SurfaceOut;
  out.position = vec4f(input.position, 1.0);
  out.normal = vec4f(normalize(input.normal), 0.0);
  return out;
}
