// Logits [D, H, W] of the regulariser -> depth, the twin of training/model.py's `regress`: softmax over the
// hypotheses, expected fractional index t = sum p_k (k + 0.5) / D, confidence = probability of the argmax (the first
// maximum) and its two neighbours.
// mode 0 (stage 1): inverse depth mix(invNear, invFar, t) -> invOut[pixel], confidence -> confOut[pixel].
// mode 1 (stage 2): inverse depth = max(prior upsampled (as mvs_cost_volume.wgsl) + halfWidth (2t - 1), 1e-6);
//   result[outOffset + pixel] = (depth, confidence of stage 2 x confidence of stage 1 at the pixel's parent).
struct Params {
  size: vec2u,
  depthCount: u32,
  mode: u32,
  invNear: f32,
  invFar: f32,
  halfWidth: f32,
  outOffset: u32,
  priorSize: vec2u,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> prior: array<f32>;
@group(0) @binding(3) var<storage, read> priorConf: array<f32>;
@group(0) @binding(4) var<storage, read_write> invOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> confOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> result: array<vec2f>;

// priorAt / priorUpsampled: mvs_prior.wgsl.

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = params.size.x;
  let hw = w * params.size.y;
  let pixel = gid.x;
  if (pixel >= hw) {
    return;
  }
  let D = params.depthCount;
  var best = -3.0e38;
  var bestIndex = 0u;
  for (var k = 0u; k < D; k = k + 1u) {
    let v = logits[k * hw + pixel];
    if (v > best) {
      best = v;
      bestIndex = k;
    }
  }
  var total = 0.0;
  var weighted = 0.0;
  var near = 0.0;
  for (var k = 0u; k < D; k = k + 1u) {
    let e = exp(logits[k * hw + pixel] - best);
    total = total + e;
    weighted = weighted + e * (f32(k) + 0.5);
    if (k + 1u >= bestIndex && k <= bestIndex + 1u) {
      near = near + e;
    }
  }
  let t = weighted / total / f32(D);
  let confidence = near / total;
  if (params.mode == 0u) {
    invOut[pixel] = params.invNear + (params.invFar - params.invNear) * t;
    confOut[pixel] = confidence;
    return;
  }
  let x = pixel % w;
  let y = pixel / w;
  let inv = max(priorUpsampled(x, y) + params.halfWidth * (2.0 * t - 1.0), 1e-6);
  let parent = priorConf[min(y / 2u, params.priorSize.y - 1u) * params.priorSize.x + min(x / 2u, params.priorSize.x - 1u)];
  result[params.outOffset + pixel] = vec2f(1.0 / inv, confidence * parent);
}
