// Classical plane-sweep stereo: for each reference pixel and each of D depth hypotheses (uniform in inverse depth),
// project a (2 RADIUS + 1)^2 window into every source view (fronto-parallel to the reference camera), score it by normalised
// cross-correlation, and keep the mean of the best two sources' costs (robust to one occluded source). The best
// hypothesis is refined to sub-sample precision by a parabola through its neighbours' costs.
// Coarse to fine: with `usePrior`, each pixel searches +-priorHalfWidth (inverse depth) around the previous pass's
// depth instead of the view's whole range; pixels without a previous depth stay empty. The previous pass may run at
// half resolution (`level` 1 of the image texture, `priorSize` its size): a 7x7 window there covers 14x14 pixels,
// which finds low-texture surfaces that a full-resolution window cannot tell apart, at a quarter of the cost. The prior
// is then the median of the valid depths in the 3x3 coarse neighbourhood, so one wrong coarse pixel does not send its
// fine search to the wrong place.
struct Params {
  // rows of A_s = (K_s R_s R_ref^T) K_ref^-1 and b_s = K_s (t_s - R_s R_ref^T t_ref), per source s (4 max)
  a: array<mat3x3f, 4>,
  b: array<vec4f, 4>,
  size: vec2u,
  refLayer: u32,
  sourceCount: u32,
  sourceLayers: vec4u,
  invDepthNear: f32,
  invDepthFar: f32,
  depthCount: u32,
  outOffset: u32,
  priorHalfWidth: f32,
  usePrior: u32,
  // Mip level of the image texture this pass reads (its size is `size`).
  level: u32,
  priorOffset: u32,
  // Size of the prior map (the previous pass's `size`).
  priorSize: vec2u,
};

@group(0) @binding(0) var images: texture_2d_array<f32>;
@group(0) @binding(1) var imageSampler: sampler;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> result: array<vec2f>;
@group(0) @binding(4) var<storage, read> prior: array<vec2f>;

// The window radius is a constant the host writes in (planeSweep.ts), so that the reference window can live in a
// private array: it is read and centred once per pixel, not once per plane and source (half the texture reads).
const RADIUS: i32 = RADIUS_VALUE;
const WINDOW: u32 = u32((2 * RADIUS + 1) * (2 * RADIUS + 1));
var<private> refWindow: array<f32, WINDOW>;

fn refSample(x: i32, y: i32) -> f32 {
  let c = clamp(vec2i(x, y), vec2i(0), vec2i(params.size) - vec2i(1));
  return textureLoad(images, c, params.refLayer, i32(params.level)).r;
}

fn sourceSample(layer: u32, h: vec3f) -> f32 {
  let p = h.xy / h.z;
  let uv = (p + 0.5) / vec2f(params.size);
  return textureSampleLevel(images, imageSampler, uv, layer, f32(params.level)).r;
}

// 1 - NCC of the window at inverse depth `invDepth` for source s (2 when the window leaves the image); refWindow holds
// the reference window minus its mean.
fn cost(s: u32, pixel: vec2i, depth: f32, refNorm: f32) -> f32 {
  let A = params.a[s];
  let b = params.b[s].xyz;
  let centre = depth * (A * vec3f(vec2f(pixel), 1.0)) + b;
  let stepX = depth * A[0];
  let stepY = depth * A[1];
  if (!windowInside(centre)) {
    return 2.0;
  }
  var sum = 0.0;
  var sum2 = 0.0;
  var cross = 0.0;
  var w = 0u;
  for (var j = -RADIUS; j <= RADIUS; j = j + 1) {
    for (var i = -RADIUS; i <= RADIUS; i = i + 1) {
      let h = centre + f32(i) * stepX + f32(j) * stepY;
      let v = sourceSample(params.sourceLayers[s], h);
      let r = refWindow[w];
      w = w + 1u;
      sum = sum + v;
      sum2 = sum2 + v * v;
      cross = cross + r * v;
    }
  }
  return nccCost(sum, sum2, cross, refNorm);
}

// Whether a window centred at the homogeneous source position lies in front of the source and inside its image.
fn windowInside(centre: vec3f) -> bool {
  let p = centre.xy / centre.z;
  return centre.z > 0.0 && p.x >= 2.0 && p.y >= 2.0 && p.x <= f32(params.size.x) - 3.0 && p.y <= f32(params.size.y) - 3.0;
}

// 1 - NCC from the source window's sum and sum of squares and its cross sum with the centred reference window
// (2 for a flat window).
fn nccCost(sum: f32, sum2: f32, cross: f32, refNorm: f32) -> f32 {
  let n = f32((2 * RADIUS + 1) * (2 * RADIUS + 1));
  let variance = sum2 - sum * sum / n;
  if (variance < 1e-5 || refNorm < 1e-5) {
    return 2.0;
  }
  return 1.0 - cross / sqrt(variance * refNorm);
}

// The costs of one plane over the sources: the best two so far (start at 4).
fn keepBestTwo(c: f32, two: ptr<function, vec2f>) {
  if (c < (*two).x) {
    *two = vec2f(c, (*two).x);
  } else if (c < (*two).y) {
    (*two).y = c;
  }
}

// A plane's cost: the mean of the best two sources' (robust to one occluded source), the best with one source.
fn planeCost(two: vec2f, sources: u32) -> f32 {
  return select(0.5 * (two.x + two.y), two.x, sources == 1u);
}

// The sweep's best plane so far and its neighbours' costs (for the parabola).
struct Best {
  cost: f32,
  index: u32,
  previous: f32,
  before: f32,
  after: f32,
};

fn newBest() -> Best {
  return Best(1e9, 0u, 1e9, 1e9, 1e9);
}

fn addPlane(best: ptr<function, Best>, k: u32, total: f32) {
  if (k == (*best).index + 1u) {
    (*best).after = total;
  }
  if (total < (*best).cost) {
    (*best).cost = total;
    (*best).index = k;
    (*best).before = (*best).previous;
    (*best).after = 1e9;
  }
  (*best).previous = total;
}

// The best hypothesis refined to sub-sample precision (a parabola through the neighbouring costs, in inverse depth):
// (depth, confidence), depth 0 when even the best cost is poor.
fn finish(b: Best, invNear: f32, invFar: f32, count: u32) -> vec2f {
  let best = b.cost;
  let bestIndex = b.index;
  let beforeBest = b.before;
  let afterBest = b.after;
  var offset = 0.0;
  if (beforeBest < 1e8 && afterBest < 1e8) {
    let denom = beforeBest - 2.0 * best + afterBest;
    if (denom > 1e-6) {
      offset = clamp(0.5 * (beforeBest - afterBest) / denom, -0.5, 0.5);
    }
  }
  let t = (f32(bestIndex) + 0.5 + offset) / f32(count);
  let depth = 1.0 / mix(invNear, invFar, t);
  let ok = best < 1.0;
  return vec2f(select(0.0, depth, ok), 1.0 - best * 0.5);
}

// The reference window around `pixel` minus its mean into refWindow; returns its sum of squares.
fn loadRefWindow(pixel: vec2i) -> f32 {
  var mean = 0.0;
  for (var j = -RADIUS; j <= RADIUS; j = j + 1) {
    for (var i = -RADIUS; i <= RADIUS; i = i + 1) {
      mean = mean + refSample(pixel.x + i, pixel.y + j);
    }
  }
  let n = f32((2 * RADIUS + 1) * (2 * RADIUS + 1));
  mean = mean / n;
  var norm = 0.0;
  var w = 0u;
  for (var j = -RADIUS; j <= RADIUS; j = j + 1) {
    for (var i = -RADIUS; i <= RADIUS; i = i + 1) {
      let r = refSample(pixel.x + i, pixel.y + j) - mean;
      refWindow[w] = r;
      w = w + 1u;
      norm = norm + r * r;
    }
  }
  return norm;
}

// The prior depth of a pixel: the previous pass's depth at the same place when it ran at this resolution, else the
// median of the valid depths of the 3x3 coarse pixels around it (0 when fewer than 3 are valid).
fn priorDepth(pixel: vec2i) -> f32 {
  if (all(params.priorSize == params.size)) {
    return prior[params.outOffset + u32(pixel.y) * params.size.x + u32(pixel.x)].x;
  }
  let scale = vec2f(params.priorSize) / vec2f(params.size);
  let centre = vec2i(floor((vec2f(pixel) + 0.5) * scale));
  var values: array<f32, 9>;
  var count = 0u;
  for (var j = -1; j <= 1; j = j + 1) {
    for (var i = -1; i <= 1; i = i + 1) {
      let c = centre + vec2i(i, j);
      if (any(c < vec2i(0)) || any(c >= vec2i(params.priorSize))) {
        continue;
      }
      let d = prior[params.priorOffset + u32(c.y) * params.priorSize.x + u32(c.x)].x;
      if (d > 0.0) {
        values[count] = d;
        count = count + 1u;
      }
    }
  }
  if (count < 3u) {
    return 0.0;
  }
  // insertion sort of at most 9 values
  for (var a = 1u; a < count; a = a + 1u) {
    let v = values[a];
    var b = a;
    while (b > 0u && values[b - 1u] > v) {
      values[b] = values[b - 1u];
      b = b - 1u;
    }
    values[b] = v;
  }
  return values[count / 2u];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.size.x || gid.y >= params.size.y) {
    return;
  }
  let pixel = vec2i(gid.xy);
  let index = params.outOffset + gid.y * params.size.x + gid.x;
  var invNear = params.invDepthNear;
  var invFar = params.invDepthFar;
  if (params.usePrior == 1u) {
    let previous = priorDepth(pixel);
    if (previous <= 0.0) {
      result[index] = vec2f(0.0, 0.0);
      return;
    }
    invNear = 1.0 / previous + params.priorHalfWidth;
    invFar = max(1.0 / previous - params.priorHalfWidth, 1e-6);
  }
  let norm = loadRefWindow(pixel);
  var best = newBest();
  let count = params.depthCount;
  for (var k = 0u; k < count; k = k + 1u) {
    let t = (f32(k) + 0.5) / f32(count);
    let invDepth = mix(invNear, invFar, t);
    let depth = 1.0 / invDepth;
    var two = vec2f(4.0);
    for (var s = 0u; s < params.sourceCount; s = s + 1u) {
      keepBestTwo(cost(s, pixel, depth, norm), &two);
    }
    addPlane(&best, k, planeCost(two, params.sourceCount));
  }
  result[index] = finish(best, invNear, invFar, count);
}

// The same sweep for a pass without a prior (every pixel searches the view's whole range, the same planes), TILE x
// TILE pixels per workgroup: per plane, the workgroup warps its tile and the window margin of every source once into
// workgroup memory (one bilinear sample per position instead of one per window and position: 49 -> ~1.9 per pixel at
// radius 3), and each pixel reads its windows from there. The costs are those of cost() up to float rounding (a
// window position is warped as depth A [q 1] + b rather than stepped from the centre).
const TILE: u32 = 16u;
const SPAN: u32 = TILE + 2u * u32(RADIUS);
const SPAN2: u32 = SPAN * SPAN;
var<workgroup> warped: array<f32, 4u * SPAN2>;

@compute @workgroup_size(16, 16)
fn mainTiled(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let inside = gid.x < params.size.x && gid.y < params.size.y;
  let pixel = vec2i(gid.xy);
  let origin = vec2i(wid.xy * TILE) - vec2i(RADIUS);
  let local = vec2i(gid.xy - wid.xy * TILE);
  var norm = 0.0;
  if (inside) {
    norm = loadRefWindow(pixel);
  }
  let invNear = params.invDepthNear;
  let invFar = params.invDepthFar;
  let sources = params.sourceCount;
  var best = newBest();
  let count = params.depthCount;
  for (var k = 0u; k < count; k = k + 1u) {
    let t = (f32(k) + 0.5) / f32(count);
    let depth = 1.0 / mix(invNear, invFar, t);
    workgroupBarrier();
    for (var s = 0u; s < sources; s = s + 1u) {
      let A = params.a[s];
      let b = params.b[s].xyz;
      let layer = params.sourceLayers[s];
      for (var i = lid; i < SPAN2; i = i + TILE * TILE) {
        let q = origin + vec2i(i32(i % SPAN), i32(i / SPAN));
        warped[s * SPAN2 + i] = sourceSample(layer, depth * (A * vec3f(vec2f(q), 1.0)) + b);
      }
    }
    workgroupBarrier();
    var two = vec2f(4.0);
    for (var s = 0u; s < sources; s = s + 1u) {
      var c = 2.0;
      let centre = depth * (params.a[s] * vec3f(vec2f(pixel), 1.0)) + params.b[s].xyz;
      if (inside && windowInside(centre)) {
        var sum = 0.0;
        var sum2 = 0.0;
        var cross = 0.0;
        var w = 0u;
        for (var j = 0; j <= 2 * RADIUS; j = j + 1) {
          let row = s * SPAN2 + u32(local.y + j) * SPAN + u32(local.x);
          for (var i = 0u; i <= u32(2 * RADIUS); i = i + 1u) {
            let v = warped[row + i];
            let r = refWindow[w];
            w = w + 1u;
            sum = sum + v;
            sum2 = sum2 + v * v;
            cross = cross + r * v;
          }
        }
        c = nccCost(sum, sum2, cross, norm);
      }
      keepBestTwo(c, &two);
    }
    addPlane(&best, k, planeCost(two, sources));
  }
  if (inside) {
    result[params.outOffset + gid.y * params.size.x + gid.x] = finish(best, invNear, invFar, count);
  }
}
