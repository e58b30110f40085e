// Silhouette term (antialiasing in the manner of nvdiffrast's antialias op, applied to coverage): between a covered
// pixel i and an uncovered 4-neighbour o, the covered triangle's screen-space edge crosses the segment i -> o at
// t in (0, 1) (the first edge the segment leaves through). The soft coverage of o gains max(0, t - 0.5), that of
// i loses max(0, 0.5 - t); the loss silWeight * (alpha - mask)^2 then moves the edge's two vertices through their
// projections. Each pixel gathers its own alpha from its four neighbours (no write conflicts on alpha), then adds
// the gradients of its own loss. Runs only when the capture has masks.
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> faces: array<u32>;
@group(0) @binding(3) var<storage, read> views: array<View>;
@group(0) @binding(4) var<storage, read_write> grad: array<atomic<u32>>;
@group(0) @binding(5) var visTri: texture_2d_array<u32>;
@group(0) @binding(6) var photos: texture_2d_array<f32>;


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
  // t in (0, 1) along inside -> outside; t < 0 when no edge is crossed
  t: f32,
  // the edge's endpoints (corner numbers), its orientation sign and the edge function at both pixels
  a: u32,
  b: u32,
  sgn: f32,
  ei: f32,
  eo: f32,
};

fn crossing(s: array<vec2f, 3>, pin: vec2f, pout: vec2f) -> Crossing {
  var best = Crossing(-1.0, 0u, 0u, 0.0, 0.0, 0.0);
  for (var e = 0u; e < 3u; e++) {
    let a = e;
    let b = (e + 1u) % 3u;
    let c = (e + 2u) % 3u;
    let sgn = select(-1.0, 1.0, cross2(s[b] - s[a], s[c] - s[a]) >= 0.0);
    let ei = sgn * cross2(s[b] - s[a], pin - s[a]);
    let eo = sgn * cross2(s[b] - s[a], pout - s[a]);
    if (ei > 0.0 && eo < 0.0) {
      let t = ei / (ei - eo);
      if (best.t < 0.0 || t < best.t) { best = Crossing(t, a, b, sgn, ei, eo); }
    }
  }
  return best;
}

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
    // pass 1: alpha
    var alpha = select(0.0, 1.0, covered);
    for (var k = 0u; k < 4u; k++) {
      let q = p + offsets[k];
      if (q.x < 0 || q.y < 0 || q.x >= i32(view.size.x) || q.y >= i32(view.size.y)) { continue; }
      let triQ = textureLoad(visTri, q, slot, 0).r;
      if ((triQ > 0u) == covered) { continue; }
      let inner = select(q, p, covered);
      let outer = select(p, q, covered);
      let e = loadEdge(view, max(triP, triQ) - 1u);
      if (!e.ok) { continue; }
      let x = crossing(e.s, vec2f(inner), vec2f(outer));
      if (x.t < 0.0) { continue; }
      if (covered) { alpha -= max(0.0, 0.5 - x.t); } else { alpha += max(0.0, x.t - 0.5); }
    }
    let r = alpha - mask;
    contribution = vec2f(setup.silWeight * r * r, 1.0);
    let gAlpha = 2.0 * setup.silWeight * r;
    // pass 2: gradients of this pixel's loss
    if (gAlpha != 0.0) {
      for (var k = 0u; k < 4u; k++) {
        let q = p + offsets[k];
        if (q.x < 0 || q.y < 0 || q.x >= i32(view.size.x) || q.y >= i32(view.size.y)) { continue; }
        let triQ = textureLoad(visTri, q, slot, 0).r;
        if ((triQ > 0u) == covered) { continue; }
        let inner = vec2f(select(q, p, covered));
        let outer = vec2f(select(p, q, covered));
        let e = loadEdge(view, max(triP, triQ) - 1u);
        if (!e.ok) { continue; }
        let x = crossing(e.s, inner, outer);
        if (x.t < 0.0) { continue; }
        var gT = 0.0;
        if (covered && x.t < 0.5) { gT = gAlpha; }
        if (!covered && x.t > 0.5) { gT = gAlpha; }
        if (gT == 0.0) { continue; }
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
  }
  reduceLossStats(li, contribution, setup.statsOff + 2u);
}
