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

const NO_FACE = 0xffffffffu;
// How far past a pixel's centre (in units of the pixel step) the outline is pulled when the pixel is on the wrong side.
const SIL_MARGIN = 0.25;


fn project(view: View, q: vec3f) -> vec2f {
  return vec2f(view.intrinsics.x * q.x / q.z + view.intrinsics.z, view.intrinsics.y * q.y / q.z + view.intrinsics.w);
}

// d(pixel)/d(camera point)^T g
fn projectGrad(view: View, q: vec3f, g: vec2f) -> vec3f {
  let fx = view.intrinsics.x;
  let fy = view.intrinsics.y;
  return vec3f(g.x * fx / q.z, g.y * fy / q.z, -(g.x * fx * q.x + g.y * fy * q.y) / (q.z * q.z));
}

fn cross2(a: vec2f, b: vec2f) -> f32 {
  return a.x * b.y - a.y * b.x;
}

struct Crossing {
  // t in (0, 1) along inside -> outside; t < 0 when no silhouette edge is crossed
  t: f32,
  // the crossed edge's triangle (its corners' vertices, camera points and projections) and its corner numbers
  e: Edge,
  a: u32,
  b: u32,
  // the edge's orientation sign and the edge function at both pixels
  sgn: f32,
  ei: f32,
  eo: f32,
};

struct Edge {
  s: array<vec2f, 3>,
  q: array<vec3f, 3>,
  v: array<u32, 3>,
  ok: bool,
};

fn loadEdge(view: View, tri: u32) -> Edge {
  var e: Edge;
  e.ok = true;
  for (var k = 0u; k < 3u; k++) {
    e.v[k] = faces[6u * tri + k];
    e.q[k] = camPoint(view, vertexPosition(e.v[k]));
    if (e.q[k].z <= 1e-6) { e.ok = false; }
    e.s[k] = project(view, e.q[k]);
  }
  return e;
}

fn orientation(e: Edge) -> f32 {
  return select(-1.0, 1.0, cross2(e.s[1] - e.s[0], e.s[2] - e.s[0]) >= 0.0);
}

// Triangles a segment from the covered pixel to its uncovered neighbour may cross before the silhouette.
const MAX_WALK = 4u;

// Where the segment pin -> pout leaves the projected surface: starting in the triangle covering pin, the edge the
// segment leaves through (the first zero of an edge function falling from pin to pout); if the triangle across it faces the
// same way on screen the surface goes on, and the walk continues there. It stops at a silhouette edge (the face
// across turns away, or there is none), which is what the mask's outline is made of. Stopping at the first
// triangle's own edge instead would take edges inside the surface for the outline: near the outline triangles are
// thin slivers on screen, so the coverage would come out too small and pull the surface outward.
fn crossing(view: View, tri0: u32, pin: vec2f, pout: vec2f) -> Crossing {
  var none: Crossing;
  none.t = -1.0;
  var tri = tri0;
  var e = loadEdge(view, tri);
  var entered = 3u;
  for (var step = 0u; step < MAX_WALK; step++) {
    if (!e.ok) { return none; }
    let sgn = orientation(e);
    var best = none;
    var edge = 3u;
    for (var k = 0u; k < 3u; k++) {
      if (k == entered) { continue; }
      let a = k;
      let b = (k + 1u) % 3u;
      let ei = sgn * cross2(e.s[b] - e.s[a], pin - e.s[a]);
      let eo = sgn * cross2(e.s[b] - e.s[a], pout - e.s[a]);
      // (the segment leaves through an edge with pin inside and pout outside it, in every triangle of the walk)
      if (ei > 0.0 && eo < 0.0) {
        let t = ei / (ei - eo);
        if (edge == 3u || t < best.t) {
          best = Crossing(t, e, a, b, sgn, ei, eo);
          edge = k;
        }
      }
    }
    if (edge == 3u) { return none; }
    let across = faceAdj[3u * tri + edge];
    if (across == NO_FACE) { return best; }
    let next = loadEdge(view, across);
    if (!next.ok || orientation(next) != sgn) { return best; }
    // the edge the walk enters the next triangle through: the one with the same two vertices
    let va = e.v[edge];
    let vb = e.v[(edge + 1u) % 3u];
    entered = 3u;
    for (var k = 0u; k < 3u; k++) {
      let na = next.v[k];
      let nb = next.v[(k + 1u) % 3u];
      if ((na == va && nb == vb) || (na == vb && nb == va)) { entered = k; }
    }
    tri = across;
    e = next;
  }
  return none;
}

fn addVertex(v: u32, g: vec3f) {
  addFixed(3u * v, g.x);
  addFixed(3u * v + 1u, g.y);
  addFixed(3u * v + 2u, g.z);
}

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
    let offsets = array<vec2i, 4>(vec2i(1, 0), vec2i(-1, 0), vec2i(0, 1), vec2i(0, -1));
    var loss = 0.0;
    // only a pixel on the wrong side of the outline has a loss: the edge must move past its centre
    if (covered != (mask > 0.5)) {
      for (var k = 0u; k < 4u; k++) {
        let q = p + offsets[k];
        if (q.x < 0 || q.y < 0 || q.x >= i32(view.size.x) || q.y >= i32(view.size.y)) { continue; }
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
        let e = x.e;
        let den = (x.ei - x.eo) * (x.ei - x.eo);
        let gEi = gT * (-x.eo / den);
        let gEo = gT * (x.ei / den);
        // e(x) = sgn * cross2(b - a, x - a)
        let sa = e.s[x.a];
        let sb = e.s[x.b];
        var ga = vec2f(0.0);
        var gb = vec2f(0.0);
        for (var j = 0u; j < 2u; j++) {
          let pt = select(outer, inner, j == 0u);
          let ge = select(gEo, gEi, j == 0u) * x.sgn;
          ga += ge * vec2f(sb.y - pt.y, pt.x - sb.x);
          gb += ge * vec2f(pt.y - sa.y, sa.x - pt.x);
        }
        addVertex(e.v[x.a], worldGrad(view, projectGrad(view, e.q[x.a], ga)));
        addVertex(e.v[x.b], worldGrad(view, projectGrad(view, e.q[x.b], gb)));
      }
    }
    contribution = vec2f(loss, 1.0);
  }
  reduceLossStats(li, contribution, setup.statsOff + 2u);
}
