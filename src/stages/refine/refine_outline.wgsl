// The outline of the rendered surface on screen, shared by the silhouette term (refine_silhouette.wgsl) and the
// colour's edge blend (refine_forward.wgsl): where the segment between a covered pixel and an uncovered neighbour
// crosses a silhouette edge, and the gradient of that crossing with respect to the edge's two vertices. Needs
// `faces`, `faceAdj`, `params` (vertexPosition), the View helpers and addVertex (refine_fixed.wgsl).

const NO_FACE = 0xffffffffu;

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
    if (!(e.q[k].z > 1e-6)) { e.ok = false; }
    e.s[k] = project(view, e.q[k]);
  }
  return e;
}

fn orientation(e: Edge) -> f32 {
  return select(-1.0, 1.0, cross2(e.s[1] - e.s[0], e.s[2] - e.s[0]) >= 0.0);
}

// Triangles a segment from the covered pixel to its uncovered neighbour may cross before the silhouette.
const MAX_WALK = 8u;

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
      // (the edge it leaves through has pin on its inner side and pout on its outer side, in every triangle of the
      // walk: pin need not be inside the later triangles)
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

// gT = dL/dt for the crossing x of the segment inner -> outer: the edge's two vertices get their gradients (fixed
// point) through the edge function's values at both pixels and the projection.
fn addCrossingGradient(view: View, x: Crossing, inner: vec2f, outer: vec2f, gT: f32) {
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
  let wa = worldGrad(view, projectGrad(view, e.q[x.a], ga));
  let wb = worldGrad(view, projectGrad(view, e.q[x.b], gb));
  addVertex(e.v[x.a], wa);
  addVertex(e.v[x.b], wb);
}
