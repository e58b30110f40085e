// Silhouette term: the outline of the rendered surface agrees with the photo's mask. The masks are binary, sampled
// at pixel centres, so an outline anywhere between a pixel inside the mask and its neighbour outside it is as right as
// any other, and only a pixel on the wrong side of the outline has a loss. For such a pixel p and each 4-neighbour q
// on the other side, the outline crosses the segment from the covered pixel to the uncovered one at t in (0, 1)
// (`crossing`: a silhouette edge of the surface); the loss silWeight * d^2, d the way the outline still has to go to
// pass p's centre plus SIL_MARGIN, moves that edge's two vertices through their projections. Where the outline lies
// between the pixel centres is left to the colour term.
//
// Not a soft coverage compared with the mask (nvdiffrast's antialias applied to coverage, this term before session
// 16): against a centre-sampled binary mask its minimum lies ~0.15 px off the true outline (docs/benchmarks.md,
// "Session 16"), and the refinement drifted outward by that much. Runs only when the capture has masks.
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> faces: array<u32>;
@group(0) @binding(3) var<storage, read> views: array<View>;
@group(0) @binding(4) var<storage, read_write> grad: array<atomic<u32>>;
@group(0) @binding(5) var visTri: texture_2d_array<u32>;
@group(0) @binding(6) var photos: texture_2d_array<f32>;
@group(0) @binding(7) var<storage, read> faceAdj: array<u32>;
// How far past a pixel's centre (in units of the pixel step) the outline is pulled when the pixel is on the wrong side.
const SIL_MARGIN = 0.25;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = gid.z;
  let vid = batchView(slot);
  let view = views[vid];
  var contribution = vec2f(0.0);
  if (gid.x < view.size.x && gid.y < view.size.y) {
    let p = vec2i(gid.xy);
    let triP = textureLoad(visTri, p, slot, 0).r;
    let covered = triP > 0u;
    let mask = textureLoad(photos, p, vid, 0).a;
    var loss = 0.0;
    // only a pixel on the wrong side of the outline has a loss: the edge must move past its centre
    if (covered != (mask > 0.5)) {
      for (var k = 0u; k < 4u; k++) {
        let q = p + OFFSETS[k];
        if (!inImage(view, q)) { continue; }
        let triQ = textureLoad(visTri, q, slot, 0).r;
        if ((triQ > 0u) == covered) { continue; }
        let inner = vec2f(select(q, p, covered));
        let outer = vec2f(select(p, q, covered));
        let x = crossing(view, max(triP, triQ) - 1u, inner, outer);
        if (x.t < 0.0) { continue; }
        // the way left to go, in units of the segment: back to p (covered) or on past p (uncovered)
        let d = select(1.0 + SIL_MARGIN - x.t, x.t + SIL_MARGIN, covered);
        loss += setup.silWeight * d * d;
        let gT = 2.0 * setup.silWeight * d * select(-1.0, 1.0, covered);
        addCrossingGradient(view, x, inner, outer, gT);
      }
    }
    contribution = vec2f(loss, 1.0);
  }
  reduceLossStats(li, contribution, setup.statsOff + 2u);
}
