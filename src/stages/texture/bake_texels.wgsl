// For every atlas texel on the surface: the views that see it (its camera depth matches the mesh's depth there),
// weighted by the viewing angle and distance, blend their photo colours (bilinear) divided by each view's gain
// (exposure compensation). Masked-out pixels are ignored. Two passes over the views: the first gives a weighted mean
// and spread, the second drops samples far from it (a view where the texel is occluded by a part the mesh lacks, a
// specular highlight, a misregistered edge), so one bad view cannot stain the texel. Views that see the texel near a
// depth discontinuity of the mesh (where a small pose or geometry error picks up the background or an occluder) keep
// a small weight only.
struct Params {
  atlasSize: u32,
  viewCount: u32,
  depthTolerance: f32,
  minCosine: f32,
};

@group(0) @binding(0) var surfacePosition: texture_2d<f32>;
@group(0) @binding(1) var surfaceNormal: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> views: array<View>;
@group(0) @binding(3) var<storage, read> depth: array<f32>;
@group(0) @binding(4) var<storage, read> pixels: array<u32>;
@group(0) @binding(5) var<storage, read_write> texels: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

fn unpack(c: u32) -> vec4f {
  return vec4f(f32(c & 255u), f32((c >> 8u) & 255u), f32((c >> 16u) & 255u), f32(c >> 24u)) / 255.0;
}

fn meshDepthAt(view: View, x: i32, y: i32) -> f32 {
  let xc = clamp(x, 0, i32(view.size.x) - 1);
  let yc = clamp(y, 0, i32(view.size.y) - 1);
  return depth[view.offset + u32(yc) * view.size.x + u32(xc)];
}

// The view's colour at surface point p (rgb, gain-compensated) and its blending weight (0: not usable).
fn sampleView(view: View, p: vec3f, n: vec3f) -> vec4f {
  let cz = dot(view.r2.xyz, p) + view.r2.w;
  if (cz <= 1e-6) {
    return vec4f(0.0);
  }
  let cx = dot(view.r0.xyz, p) + view.r0.w;
  let cy = dot(view.r1.xyz, p) + view.r1.w;
  let u = view.intrinsics.x * cx / cz + view.intrinsics.z;
  let v = view.intrinsics.y * cy / cz + view.intrinsics.w;
  let w = i32(view.size.x);
  let h = i32(view.size.y);
  let ui = i32(floor(u + 0.5));
  let vi = i32(floor(v + 0.5));
  if (ui < 1 || vi < 1 || ui >= w - 1 || vi >= h - 1) {
    return vec4f(0.0);
  }
  // Visibility: the mesh's own depth in this view at the pixel.
  let tolerance = params.depthTolerance * cz;
  let meshDepth = meshDepthAt(view, ui, vi);
  if (meshDepth <= 0.0 || abs(meshDepth - cz) > tolerance) {
    return vec4f(0.0);
  }
  // Viewing angle: the camera centre is -R^T t.
  let t = vec3f(view.r0.w, view.r1.w, view.r2.w);
  let centre = -(view.r0.xyz * t.x + view.r1.xyz * t.y + view.r2.xyz * t.z);
  let cosine = dot(n, normalize(centre - p));
  if (cosine < params.minCosine) {
    return vec4f(0.0);
  }
  // Bilinear colour; any masked-out neighbour rejects the sample.
  let x0 = i32(floor(u));
  let y0 = i32(floor(v));
  let fx = u - f32(x0);
  let fy = v - f32(y0);
  let base = view.offset + u32(y0) * view.size.x + u32(x0);
  let c00 = unpack(pixels[base]);
  let c10 = unpack(pixels[base + 1u]);
  let c01 = unpack(pixels[base + view.size.x]);
  let c11 = unpack(pixels[base + view.size.x + 1u]);
  if (min(min(c00.a, c10.a), min(c01.a, c11.a)) < 0.5) {
    return vec4f(0.0);
  }
  let colour = mix(mix(c00.rgb, c10.rgb, fx), mix(c01.rgb, c11.rgb, fx), fy) / view.gain;
  // Foreshortening and resolution: cos of the viewing angle times focal / depth is the photo's linear sampling rate of
  // the surface. Its 6th power lets the one or two sharpest views dominate (an even average of many views, each off
  // by a fraction of a pixel, blurs every edge), while views of similar quality still average out noise and seams.
  let rate = cosine * view.intrinsics.x / cz;
  let r2 = rate * rate;
  var weight = r2 * r2 * r2;
  // Near a depth edge of the mesh in this view (2 pixels around), trust the view little.
  for (var k = 0; k < 4; k = k + 1) {
    let dx = select(select(0, 2, k == 0), -2, k == 1);
    let dy = select(select(0, 2, k == 2), -2, k == 3);
    let d = meshDepthAt(view, ui + dx, vi + dy);
    if (d <= 0.0 || abs(d - meshDepth) > 4.0 * tolerance) {
      weight = weight * 0.02;
      break;
    }
  }
  return vec4f(colour, weight);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.atlasSize || gid.y >= params.atlasSize) {
    return;
  }
  let texel = gid.y * params.atlasSize + gid.x;
  let surface = textureLoad(surfacePosition, vec2i(gid.xy), 0);
  if (surface.w < 0.5) {
    texels[texel] = 0u;
    return;
  }
  let p = surface.xyz;
  let n = normalize(textureLoad(surfaceNormal, vec2i(gid.xy), 0).xyz);
  // Pass 1: weighted mean and spread of every usable view.
  var sum = vec3f(0.0);
  var sumSq = 0.0;
  var weightSum = 0.0;
  for (var k = 0u; k < params.viewCount; k = k + 1u) {
    let s = sampleView(views[k], p, n);
    sum = sum + s.rgb * s.w;
    sumSq = sumSq + dot(s.rgb, s.rgb) * s.w;
    weightSum = weightSum + s.w;
  }
  if (weightSum <= 0.0) {
    // On the surface but seen by no view: alpha 1 marks it for the coverage figure and the gutter fill.
    texels[texel] = 1u << 24u;
    return;
  }
  let mean = sum / weightSum;
  let spread = sqrt(max(0.0, sumSq / weightSum - dot(mean, mean)));
  // Pass 2: only the samples that agree with the mean (within twice the spread, at least 0.08 in colour).
  let limit = max(0.08, 2.0 * spread);
  var kept = vec3f(0.0);
  var keptWeight = 0.0;
  for (var k = 0u; k < params.viewCount; k = k + 1u) {
    let s = sampleView(views[k], p, n);
    if (s.w > 0.0 && length(s.rgb - mean) <= limit) {
      kept = kept + s.rgb * s.w;
      keptWeight = keptWeight + s.w;
    }
  }
  let colour = select(mean, kept / keptWeight, keptWeight > 0.0);
  let c = clamp(colour, vec3f(0.0), vec3f(1.0)) * 255.0 + 0.5;
  texels[texel] = u32(c.x) | (u32(c.y) << 8u) | (u32(c.z) << 16u) | (255u << 24u);
}
