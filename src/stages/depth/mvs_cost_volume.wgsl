// Group-wise correlation cost volume of the learned MVS network (issue 7), the twin of training/model.py's
// cost_volume: for reference pixel (x, y) (pixel centres at integers) and hypothesis k, the source pixel is
// h = depth * (A [x y 1]) + b; a sample is visible when h.z > 1e-6 and 0 <= p <= size - 1; source features are
// sampled bilinearly between the taps floor(p) and min(floor(p) + 1, size - 1); per group g the correlation is the
// mean over the group's channels of ref * warped; groups are averaged over the sources that see the sample (0 when
// none does). Output: cost[(g * D + k) * H * W + y * W + x], i.e. [G*D, H, W], what the regulariser takes.
// Hypotheses are uniform in inverse depth: mode 0 over [invNear, invFar] at (k + 0.5) / D; mode 1 around the
// stage-1 inverse depth (`prior`, half the resolution, upsampled bilinearly with half-pixel centres as PyTorch's
// align_corners=False) +- halfWidth, clamped to >= 1e-6.
struct Params {
  a: array<mat3x3f, 4>,
  b: array<vec4f, 4>,
  size: vec2u,
  channels: u32,
  groups: u32,
  depthCount: u32,
  sourceCount: u32,
  mode: u32,
  invNear: f32,
  invFar: f32,
  halfWidth: f32,
  priorSize: vec2u,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> refFeat: array<f32>;
@group(0) @binding(2) var<storage, read> src0: array<f32>;
@group(0) @binding(3) var<storage, read> src1: array<f32>;
@group(0) @binding(4) var<storage, read> src2: array<f32>;
@group(0) @binding(5) var<storage, read> src3: array<f32>;
@group(0) @binding(6) var<storage, read> prior: array<f32>;
@group(0) @binding(7) var<storage, read_write> cost: array<f32>;

const MAX_GROUPS = 8u;

fn srcValue(s: u32, i: u32) -> f32 {
  switch (s) {
    case 0u: { return src0[i]; }
    case 1u: { return src1[i]; }
    case 2u: { return src2[i]; }
    default: { return src3[i]; }
  }
}

// priorAt / priorUpsampled: mvs_prior.wgsl.

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = params.size.x;
  let h = params.size.y;
  let hw = w * h;
  let pixel = gid.x;
  let k = gid.y;
  if (pixel >= hw || k >= params.depthCount) {
    return;
  }
  let x = pixel % w;
  let y = pixel / w;
  let t = (f32(k) + 0.5) / f32(params.depthCount);
  var invDepth: f32;
  if (params.mode == 0u) {
    invDepth = params.invNear + (params.invFar - params.invNear) * t;
  } else {
    invDepth = max(priorUpsampled(x, y) + params.halfWidth * (t * 2.0 - 1.0), 1e-6);
  }
  let depth = 1.0 / invDepth;
  let perGroup = params.channels / params.groups;
  var sums: array<f32, MAX_GROUPS>;
  for (var g = 0u; g < MAX_GROUPS; g = g + 1u) {
    sums[g] = 0.0;
  }
  var seen = 0.0;
  for (var s = 0u; s < params.sourceCount; s = s + 1u) {
    let hh = depth * (params.a[s] * vec3f(f32(x), f32(y), 1.0)) + params.b[s].xyz;
    if (hh.z <= 1e-6) {
      continue;
    }
    let px = hh.x / hh.z;
    let py = hh.y / hh.z;
    if (!(px >= 0.0 && px <= f32(w - 1u) && py >= 0.0 && py <= f32(h - 1u))) {
      continue;
    }
    let x0 = u32(floor(px));
    let y0 = u32(floor(py));
    let x1 = min(x0 + 1u, w - 1u);
    let y1 = min(y0 + 1u, h - 1u);
    let fx = px - f32(x0);
    let fy = py - f32(y0);
    let w00 = (1.0 - fx) * (1.0 - fy);
    let w10 = fx * (1.0 - fy);
    let w01 = (1.0 - fx) * fy;
    let w11 = fx * fy;
    let i00 = y0 * w + x0;
    let i10 = y0 * w + x1;
    let i01 = y1 * w + x0;
    let i11 = y1 * w + x1;
    seen = seen + 1.0;
    for (var g = 0u; g < params.groups; g = g + 1u) {
      var acc = 0.0;
      for (var j = 0u; j < perGroup; j = j + 1u) {
        let c = g * perGroup + j;
        let base = c * hw;
        let v = w00 * srcValue(s, base + i00) + w10 * srcValue(s, base + i10) + w01 * srcValue(s, base + i01) + w11 * srcValue(s, base + i11);
        acc = acc + v * refFeat[base + pixel];
      }
      sums[g] = sums[g] + acc / f32(perGroup);
    }
  }
  let norm = 1.0 / max(seen, 1.0);
  for (var g = 0u; g < params.groups; g = g + 1u) {
    cost[(g * params.depthCount + k) * hw + pixel] = sums[g] * norm;
  }
}
