// Rasterises a textured triangle mesh seen by a pinhole camera (OpenCV K and camFromWorld folded into
// clipFromWorld on the host). fs_color: albedo from the texture (v = 0 at the top row) times a simple light;
// fs_depth: the camera-space z of the surface (0 where nothing is drawn) for exact depth maps and masks.
struct Camera {
  clipFromWorld: mat4x4f,
  camFromWorld: mat4x4f,
  // xyz: direction towards the light (world), w: diffuse strength
  light: vec4f,
  // x: ambient, y: 1 when textured, z: 1 when the corners carry colours
  shading: vec4f,
  baseColor: vec4f,
};

@group(0) @binding(0) var<uniform> camera: Camera;
@group(0) @binding(1) var albedo: texture_2d<f32>;
@group(0) @binding(2) var albedoSampler: sampler;

struct VertexIn {
  @location(0) position: vec3f,
  @location(1) uv: vec2f,
  @location(2) normal: vec3f,
  @location(3) color: vec3f,
};

struct VertexOut {
  @builtin(position) clip: vec4f,
  @location(0) uv: vec2f,
  @location(1) normal: vec3f,
  @location(2) cameraZ: f32,
  @location(3) color: vec3f,
};

@vertex
fn vs_main(input: VertexIn) -> VertexOut {
  var out: VertexOut;
  let world = vec4f(input.position, 1.0);
  out.clip = camera.clipFromWorld * world;
  out.uv = input.uv;
  out.normal = input.normal;
  out.cameraZ = (camera.camFromWorld * world).z;
  out.color = input.color;
  return out;
}

@fragment
fn fs_color(input: VertexOut) -> @location(0) vec4f {
  var base = camera.baseColor.rgb;
  if (camera.shading.y > 0.5) {
    base = textureSample(albedo, albedoSampler, input.uv).rgb;
  } else if (camera.shading.z > 0.5) {
    base = input.color;
  }
  let n = normalize(input.normal);
  let diffuse = abs(dot(n, normalize(camera.light.xyz)));
  let shade = camera.shading.x + camera.light.w * diffuse;
  return vec4f(clamp(base * shade, vec3f(0.0), vec3f(1.0)), 1.0);
}

@fragment
fn fs_depth(input: VertexOut) -> @location(0) vec4f {
  return vec4f(input.cameraZ, 0.0, 0.0, 1.0);
}
