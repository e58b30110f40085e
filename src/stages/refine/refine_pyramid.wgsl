// Multi-resolution texture step (a Laplacian-pyramid parametrisation of kd, as nvdiffrec-like setups use, folded
// into the texture): kd = P0 + sum_l U_l(P_l), U_l the nearest upsampling of level l (texSize >> l, blocks of 2^l
// texels). A coarse level's gradient is the sum of the texel gradients over its block (the adjoint of U_l), and
// Adam runs on every level with its own moments; since kd is linear in the levels, the coarse steps are added to
// the texels (upsampled) and the levels themselves need not be stored. Per-texel Adam alone gives each texel a full
// step from however few pixels saw it, which fits the training views' noise; the coarse levels move whole blocks
// from many pixels' evidence, and the finest level's rate is `texFineScale` x lrTex.
// `level` dispatches run first (one per coarse level), then `apply` (one invocation per texel).
struct Level {
  level: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
};
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<uniform> lvl: Level;
@group(0) @binding(2) var<storage, read> texGrad: array<f32>;
@group(0) @binding(3) var<storage, read_write> pyrMoments: array<vec2f>;
@group(0) @binding(4) var<storage, read_write> pyrDelta: array<f32>;
// declared for the shared helpers of refine_setup.wgsl; unused here, so not part of the pipeline's layout
@group(0) @binding(5) var<storage, read> params: array<f32>;

fn adamStep(m: ptr<function, vec2f>, g: f32, lr: f32) -> f32 {
  *m = vec2f(setup.beta1 * (*m).x + (1.0 - setup.beta1) * g, setup.beta2 * (*m).y + (1.0 - setup.beta2) * g * g);
  let mHat = (*m).x / (1.0 - pow(setup.beta1, setup.step));
  let vHat = (*m).y / (1.0 - pow(setup.beta2, setup.step));
  return -lr * mHat / (sqrt(vHat) + 1e-8);
}

@compute @workgroup_size(8, 8)
fn level(@builtin(global_invocation_id) gid: vec3u) {
  let l = lvl.level;
  let n = setup.texSize >> l;
  if (gid.x >= n || gid.y >= n) { return; }
  let side = 1u << l;
  var g = vec3f(0.0);
  for (var dy = 0u; dy < side; dy++) {
    for (var dx = 0u; dx < side; dx++) {
      let t = 3u * (((gid.y << l) + dy) * setup.texSize + (gid.x << l) + dx);
      g += vec3f(texGrad[t], texGrad[t + 1u], texGrad[t + 2u]);
    }
  }
  let base = mipOffset(l) + 3u * (gid.y * n + gid.x);
  for (var c = 0u; c < 3u; c++) {
    var m = pyrMoments[base + c];
    pyrDelta[base + c] = adamStep(&m, g[c], setup.lrTex);
    pyrMoments[base + c] = m;
  }
}
