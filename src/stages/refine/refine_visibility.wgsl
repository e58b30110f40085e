// Visibility buffer of the refinement: per pixel the triangle id + 1 (0 = background), and perspective-correct
// barycentrics (b0, b1) with the camera-space depth. Vertices are read from the current parameters (storage), so
// no vertex buffer is rebuilt after an optimiser step; the view's clipFromWorld comes by instance index.
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> faces: array<u32>;
@group(0) @binding(2) var<storage, read> clips: array<mat4x4f>;
@group(0) @binding(3) var<storage, read> camRows: array<vec4f>;

struct VertexOut {
  @builtin(position) clip: vec4f,
  @location(0) @interpolate(flat) tri: u32,
  @location(1) bary: vec2f,
  @location(2) cameraZ: f32,
};

@vertex
fn vs_main(@builtin(vertex_index) vi: u32, @builtin(instance_index) view: u32) -> VertexOut {
  let tri = vi / 3u;
  let corner = vi % 3u;
  let v = faces[6u * tri + corner];
  let p = vec4f(params[3u * v], params[3u * v + 1u], params[3u * v + 2u], 1.0);
  var out: VertexOut;
  out.clip = clips[view] * p;
  out.tri = tri + 1u;
  out.bary = select(select(vec2f(0.0, 0.0), vec2f(0.0, 1.0), corner == 1u), vec2f(1.0, 0.0), corner == 0u);
  out.cameraZ = dot(camRows[3u * view + 2u], p);
  return out;
}

struct FragmentOut {
  @location(0) tri: u32,
  @location(1) bary: vec4f,
};

@fragment
fn fs_main(input: VertexOut) -> FragmentOut {
  var out: FragmentOut;
  out.tri = input.tri;
  out.bary = vec4f(input.bary, input.cameraZ, 1.0);
  return out;
}
