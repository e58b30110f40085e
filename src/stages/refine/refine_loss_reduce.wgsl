// Shared by refine_forward.wgsl and refine_silhouette.wgsl (concatenated after refine_fixed.wgsl): sums each invocation's
// (loss, count) over the 8x8 workgroup in shared memory and adds the workgroup's total to the loss statistics at
// `slot` and `slot + 1` in fixed point. Must be called from uniform control flow (it holds barriers).
var<workgroup> lossPartial: array<vec2f, 64>;

fn reduceLossStats(li: u32, contribution: vec2f, slot: u32) {
  lossPartial[li] = contribution;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride = stride / 2u) {
    if (li < stride) { lossPartial[li] = lossPartial[li] + lossPartial[li + stride]; }
    workgroupBarrier();
  }
  if (li == 0u && lossPartial[0].y > 0.0) {
    addFixed(slot, lossPartial[0].x);
    addFixed(slot + 1u, lossPartial[0].y);
  }
}
