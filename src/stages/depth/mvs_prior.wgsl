// Shared by mvs_cost_volume.wgsl and mvs_regress.wgsl (concatenated after each, which declare `prior` and
// `params.priorSize`): the stage-1 inverse depth at half resolution, bilinearly upsampled by 2 with half-pixel centres
// as PyTorch's F.interpolate(align_corners=False) does (source coordinate clamped at 0, upper tap at size - 1).
fn priorAt(x: u32, y: u32) -> f32 {
  return prior[y * params.priorSize.x + x];
}

fn priorUpsampled(x: u32, y: u32) -> f32 {
  let sx = max((f32(x) + 0.5) * 0.5 - 0.5, 0.0);
  let sy = max((f32(y) + 0.5) * 0.5 - 0.5, 0.0);
  let x0 = u32(floor(sx));
  let y0 = u32(floor(sy));
  let x1 = min(x0 + 1u, params.priorSize.x - 1u);
  let y1 = min(y0 + 1u, params.priorSize.y - 1u);
  let fx = sx - f32(x0);
  let fy = sy - f32(y0);
  let top = (1.0 - fx) * priorAt(x0, y0) + fx * priorAt(x1, y0);
  let bottom = (1.0 - fx) * priorAt(x0, y1) + fx * priorAt(x1, y1);
  return (1.0 - fy) * top + fy * bottom;
}
