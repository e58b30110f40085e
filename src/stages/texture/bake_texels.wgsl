// For every atlas texel on the surface: the views that see it (its camera depth matches the mesh's depth there),
// weighted by the viewing angle and distance, blend their photo colours (bilinear) divided by each view's gain
// (exposure compensation). Masked-out pixels are ignored. Two passes over the views: the first gives a weighted mean
// and spread, the second drops samples far from it (a view where the texel is occluded by a part the mesh lacks, a
// specular highlight, a misregistered edge), so one bad view cannot stain the texel. A view that sees the texel within
// a margin of a depth discontinuity of the mesh (its silhouette, or an occlusion edge) gives it no weight: there a
// small geometry or pose error picks up the background or the occluder (fountain: sky-blue fringes on the wall's
// edges). The margin is the geometry's uncertainty (e.g. the fusion voxel) projected into the view, at least
// edgeMinPx pixels. Texels that every view sees only near an edge stay unseen and are filled from their neighbours.
struct Params {
  atlasSize: u32,
  viewCount: u32,
  depthTolerance: f32,
  minCosine: f32,
  // World units (0: edgeMinPx alone).
  edgeMargin: f32,
  edgeMinPx: f32,
  // 0: the former rule (2-pixel cross, weight x0.02); 1: exclusion within the margin.
  edgeMode: u32,
  pad: u32,
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

// Whether a depth discontinuity of the mesh lies within the margin around pixel (u, v): at 4 radii up to the margin, in
// 4 directions, the inverse depths on opposite sides against the centre's (inverse depth is affine across a plane, so
// slanted surfaces do not count as edges); a pixel the mesh does not cover is an edge (the silhouette).
fn nearDepthEdge(view: View, u: f32, v: f32, meshDepth: f32, cz: f32) -> bool {
  let margin = clamp(max(params.edgeMinPx, view.intrinsics.x * params.edgeMargin / cz), 1.0, 12.0);
  let inv0 = 1.0 / meshDepth;
  for (var i = 1; i <= 4; i = i + 1) {
    let r = margin * f32(i) / 4.0;
    for (var k = 0; k < 4; k = k + 1) {
      let a = f32(k) * 0.7853982;
      let o = vec2f(cos(a), sin(a)) * r;
      let d1 = meshDepthAt(view, i32(floor(u + o.x + 0.5)), i32(floor(v + o.y + 0.5)));
      let d2 = meshDepthAt(view, i32(floor(u - o.x + 0.5)), i32(floor(v - o.y + 0.5)));
      if (d1 <= 0.0 || d2 <= 0.0) {
        return true;
      }
      if (abs(1.0 / d1 + 1.0 / d2 - 2.0 * inv0) > 4.0 * params.depthTolerance * inv0) {
        return true;
      }
    }
  }
  return false;
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
  if (params.edgeMode == 0u) {
    // The former rule: near a depth edge of the mesh in this view (2 pixels around), trust the view little.
    for (var k = 0; k < 4; k = k + 1) {
      let dx = select(select(0, 2, k == 0), -2, k == 1);
      let dy = select(select(0, 2, k == 2), -2, k == 3);
      let d = meshDepthAt(view, ui + dx, vi + dy);
      if (d <= 0.0 || abs(d - meshDepth) > 4.0 * tolerance) {
        weight = weight * 0.02;
        break;
      }
    }
  } else if (nearDepthEdge(view, u, v, meshDepth, cz)) {
    return vec4f(0.0);
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
