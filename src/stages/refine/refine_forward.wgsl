// Forward shading and photometric loss per pixel of each batch slot: colour = gain_view * kd(uv) * (a + l . n), with
// kd sampled bilinearly from the texture parameters, n the face normal. Inside the photo's mask, the residual's
// gradient to the pixel's own shaded colour goes to `dcolor` for the backward pass (for a covered pixel with its mip
// level + 1 in w), the share its neighbours take for the colour the edge blend borrows from them to `dlend` (w: their
// bits), and the squared error to the loss statistics (workgroup-reduced, then one fixed-point add per workgroup). The edge blend's own derivative moves
// the outline's vertices here, in training passes only.
//
// Edge blend (in the manner of nvdiffrast's antialias, against the photo's background): at the outline the photos'
// pixels mix the object and what lies behind it, so the render does too. The outline crosses the segments from a
// covered pixel to its uncovered 4-neighbours at t (refine_outline.wgsl); the nearest crossings along x and along y
// give the pixel's distance s to the outline (`outlineDistance`) and its coverage 0.5 + s. A covered pixel's colour
// becomes c (1 - b) + b bg with b = (0.5 - s)+; an uncovered one's bg (1 - a) + a c with a = (0.5 - s)+, s measured
// from its side and c its covered neighbours' mean colour. The background bg is the photo one pixel further out
// (`background`). Only pixels inside the mask are scored, as everywhere in the colour term: the synthetic captures'
// renderer (and the evaluator's, MeshRenderer.render) sets the pixels whose centre the object misses to the
// background colour, with no mixture. Without masks every pixel counts as inside. The blend's derivative in t moves
// the outline's vertices; the shaded colours' gradients go to the backward pass (an uncovered pixel's through its
// covered neighbours, refine_backward.wgsl).
//
// Occlusion edges (setup.occlusion, RefineOptions.occlusionBlend): inside the rendered surface, where a part ends in
// front of another, the photo's pixels mix the two parts as at the outline. For two covered neighbours p, q on
// triangles that are not neighbours across an edge (`occlusionPair`), the walk from p's triangle towards q
// (`crossing`) finds where p's surface ends, if it does before q, and the walk back from q's finds no end of q's
// (`occlusionCrossing`). Then p is in front: the crossing counts in p's
// outline distance as an uncovered neighbour's would, with the same photo background. And q is behind: q's colour
// becomes c_q (1 - a) + a c_p with a = (0.5 - (1 - t))+ (`behindAround`; with both, c (1 - b - a) + b bg + a c_front),
// and p takes its share of q's gradient through `dlend`. The background's colour at p is the photo, not the surface
// behind, as at the outline: the surface behind an edge that is in the wrong place carries that error in its texture.
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> faces: array<u32>;
@group(0) @binding(3) var<storage, read> uvs: array<f32>;
@group(0) @binding(4) var<storage, read> views: array<View>;
@group(0) @binding(5) var<storage, read_write> dcolor: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> grad: array<atomic<u32>>;
@group(0) @binding(7) var visTri: texture_2d_array<u32>;
@group(0) @binding(8) var photos: texture_2d_array<f32>;
@group(0) @binding(9) var<storage, read> mips: array<f32>;
@group(0) @binding(10) var<storage, read> faceAdj: array<u32>;
@group(0) @binding(11) var<storage, read_write> dlend: array<vec4f>;

// The shaded colour of the triangle `tri` (id + 1) at pixel `pixel` of view `vid`, and the mip level sampled.
struct Shaded {
  color: vec3f,
  level: u32,
};

fn shade(view: View, vid: u32, tri: u32, pixel: vec2f) -> Shaded {
  let c = loadCorners(view, tri - 1u);
  let s = surfaceAt(c, pixelRay(view, pixel));
  let level = mipLevel(c, view, pixel, s);
  let kd = sampleKd(bilinear(s.uv, level));
  return Shaded(params[setup.gainOff + vid] * kd * shading(s.n), level);
}

// What lies behind the outline between the covered pixel `inner` and its uncovered neighbour `outer`: the photo one
// pixel further out, which the edge's own mixture does not reach (unless that pixel is inside the mask where `outer`
// is not, or off the image: then `outer` itself).
fn background(vid: u32, view: View, inner: vec2i, outer: vec2i) -> vec3f {
  let far = 2 * outer - inner;
  let near = textureLoad(photos, outer, vid, 0);
  if (far.x < 0 || far.y < 0 || far.x >= i32(view.size.x) || far.y >= i32(view.size.y)) { return near.rgb; }
  let beyond = textureLoad(photos, far, vid, 0);
  return select(near.rgb, beyond.rgb, beyond.a <= 0.5 || near.a > 0.5);
}

// The pixel's distance to the outline, from the crossings nearest to it along x (tx) and along y (ty), < 0 where none:
// s = tx ty / (tx + ty) (t with one crossing), the distance of a straight edge over its unit normal's L1 norm. The
// coverage 0.5 + s is exact for axis-aligned edges and, for any straight edge, where the box pixel is fully or half
// covered; in between it is the secant (on a diagonal edge its slope at the centre is half the box's). Returns s
// and its derivatives in tx and ty.
fn outlineDistance(tx: f32, ty: f32) -> vec3f {
  if (tx < 0.0 && ty < 0.0) { return vec3f(1e9, 0.0, 0.0); }
  if (ty < 0.0) { return vec3f(tx, 1.0, 0.0); }
  if (tx < 0.0) { return vec3f(ty, 0.0, 1.0); }
  // (both 0: the outline through the centre; t rounds to 1 in f32 on the uncovered side)
  if (tx + ty <= 0.0) { return vec3f(0.0, 0.0, 0.0); }
  let d = (tx + ty) * (tx + ty);
  return vec3f(tx * ty / (tx + ty), ty * ty / d, tx * tx / d);
}

// The outline around pixel p (covered by triangle id `tri`, 0 = uncovered): for each 4-neighbour on the other side
// of it, the crossing on the segment from the covered pixel of the two to the uncovered one; of those, the nearest to
// p along x and along y (distance t from a covered p, 1 - t from an uncovered one; k = 4: none), and the bits of the
// neighbours with a crossing.
struct Around {
  cx: Crossing,
  cy: Crossing,
  kx: u32,
  ky: u32,
  dx: f32,
  dy: f32,
  bits: u32,
};

fn noCrossings() -> Around {
  var o: Around;
  o.kx = 4u;
  o.ky = 4u;
  o.dx = -1.0;
  o.dy = -1.0;
  o.bits = 0u;
  return o;
}

// Adds neighbour k's crossing x at distance d from p: its bit, and the crossing if it is the nearest on its axis.
fn addCrossing(o: ptr<function, Around>, k: u32, x: Crossing, d: f32) {
  (*o).bits |= 1u << k;
  if (k < 2u) {
    if ((*o).kx == 4u || d < (*o).dx) { (*o).dx = d; (*o).kx = k; (*o).cx = x; }
  } else if ((*o).ky == 4u || d < (*o).dy) { (*o).dy = d; (*o).ky = k; (*o).cy = x; }
}

fn outlineAround(view: View, slot: u32, p: vec2i, tri: u32) -> Around {
  var o = noCrossings();
  let covered = tri > 0u;
  for (var k = 0u; k < 4u; k++) {
    let q = p + OFFSETS[k];
    if (!inImage(view, q)) { continue; }
    let triQ = textureLoad(visTri, q, slot, 0).r;
    // a covered neighbour on another surface: p's surface may end between them (an occlusion edge, p in front)
    let pair = covered && occlusionPair(tri, triQ);
    if ((triQ > 0u) == covered && !pair) { continue; }
    var x: Crossing;
    if (pair) {
      x = occlusionCrossing(view, tri, triQ, vec2f(p), vec2f(q));
    } else {
      x = crossing(view, select(triQ, tri, covered) - 1u, vec2f(select(q, p, covered)), vec2f(select(p, q, covered)));
    }
    if (x.t < 0.0) { continue; }
    addCrossing(&o, k, x, select(1.0 - x.t, x.t, covered));
  }
  return o;
}

// Two covered neighbours whose segment may cross an occlusion edge: occlusion blending on, and different triangles that
// are not neighbours across an edge (the walk from one into the other finds no outline there).
fn occlusionPair(tri: u32, triQ: u32) -> bool {
  if (setup.occlusion == 0u || triQ == 0u || triQ == tri) { return false; }
  let f = 3u * (tri - 1u);
  return faceAdj[f] != triQ - 1u && faceAdj[f + 1u] != triQ - 1u && faceAdj[f + 2u] != triQ - 1u;
}

// The occlusion edge between covered neighbours p (triangle id `tri`) and q (`triQ`) with p in front: p's surface
// ends on the way to q (`crossing` from p's triangle) and q's does not on the way back. Where both end, the two are
// one sheet folded on screen (a grazing, noisy part of the surface, often near the outline), not one part in front
// of another. t < 0: none.
fn occlusionCrossing(view: View, tri: u32, triQ: u32, p: vec2f, q: vec2f) -> Crossing {
  let x = crossing(view, tri - 1u, p, q);
  if (x.t < 0.0) { return x; }
  if (crossing(view, triQ - 1u, q, p).t >= 0.0) {
    var none: Crossing;
    none.t = -1.0;
    return none;
  }
  return x;
}

// The other side of occlusion edges around a covered pixel p: each covered neighbour q on another surface whose own
// surface ends between q and p (the crossing on the segment q -> p, walking from q's triangle), so that q's surface
// lies in front of what p sees and covers p up to 0.5 - (1 - t). Same fields as outlineAround (distance 1 - t).
fn behindAround(view: View, slot: u32, p: vec2i, tri: u32) -> Around {
  var o = noCrossings();
  for (var k = 0u; k < 4u; k++) {
    let q = p + OFFSETS[k];
    if (!inImage(view, q)) { continue; }
    let triQ = textureLoad(visTri, q, slot, 0).r;
    if (!occlusionPair(tri, triQ)) { continue; }
    let x = occlusionCrossing(view, triQ, tri, vec2f(q), vec2f(p));
    if (x.t < 0.0) { continue; }
    addCrossing(&o, k, x, 1.0 - x.t);
  }
  return o;
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = gid.z;
  let vid = batchView(slot);
  let view = views[vid];
  var contribution = vec2f(0.0);
  // validation passes (statsBase 4) score only: no gradients
  let training = setup.statsBase == 0u;
  let inside = gid.x < view.size.x && gid.y < view.size.y;
  let pix = slot * setup.width * setup.height + gid.y * setup.width + gid.x;
  if (gid.x < setup.width && gid.y < setup.height) {
    var out = vec4f(0.0);
    var lend = vec4f(0.0);
    if (inside) {
      let p = vec2i(gid.xy);
      let tri = textureLoad(visTri, p, slot, 0).r;
      let photo = textureLoad(photos, p, vid, 0);
      if (tri > 0u) {
        let own = shade(view, vid, tri, vec2f(p));
        // w: the mip level + 1 for every covered pixel (the backward pass reuses it, also for the colour this pixel
        // lends its uncovered neighbours); xyz: the gradient of its own colour term, inside the mask only
        out = vec4f(0.0, 0.0, 0.0, f32(own.level + 1u));
        if (photo.a > 0.5) {
          let o = outlineAround(view, slot, p, tri);
          var behind = vec3f(0.0);
          var n = 0.0;
          for (var k = 0u; k < 4u; k++) {
            if ((o.bits & (1u << k)) == 0u) { continue; }
            behind += background(vid, view, p, p + OFFSETS[k]);
            n += 1.0;
          }
          let s = outlineDistance(o.dx, o.dy);
          let blend = max(0.0, 0.5 - s.x);
          let bg = behind / max(n, 1.0);
          // in front of p: its covered neighbours' surfaces that end over it (occlusion edges, p behind), their mean
          // colour cf covering p by 0.5 - s
          var cover = 0.0;
          var cf = vec3f(0.0);
          var m = 0.0;
          var sb = vec3f(1e9, 0.0, 0.0);
          var b: Around;
          if (setup.occlusion != 0u) {
            b = behindAround(view, slot, p, tri);
            if (b.bits != 0u) {
              sb = outlineDistance(b.dx, b.dy);
              cover = max(0.0, 0.5 - sb.x);
              for (var k = 0u; k < 4u; k++) {
                if ((b.bits & (1u << k)) == 0u) { continue; }
                let q = p + OFFSETS[k];
                cf += shade(view, vid, textureLoad(visTri, q, slot, 0).r, vec2f(q)).color;
                m += 1.0;
              }
              cf /= m;
            }
          }
          let r = own.color * (1.0 - blend - cover) + blend * bg + cover * cf - photo.rgb;
          out = vec4f(2.0 * r * (1.0 - blend - cover), out.w);
          if (cover > 0.0) { lend = vec4f(2.0 * r * cover / m, f32(b.bits)); }
          contribution = vec2f(dot(r, r), 1.0);
          if (blend > 0.0 && training) {
            // dL/ds = -dL/dblend = 2r . (c - bg)
            let gS = dot(2.0 * r, own.color - bg);
            if (o.kx < 4u) { addCrossingGradient(view, o.cx, vec2f(p), vec2f(p + OFFSETS[o.kx]), gS * s.y); }
            if (o.ky < 4u) { addCrossingGradient(view, o.cy, vec2f(p), vec2f(p + OFFSETS[o.ky]), gS * s.z); }
          }
          if (cover > 0.0 && training) {
            // as an uncovered pixel's cover below, with p's own colour behind: dL/dt = 2r . (cf - c) ds/du
            let gS = dot(2.0 * r, cf - own.color);
            if (b.kx < 4u) { addCrossingGradient(view, b.cx, vec2f(p + OFFSETS[b.kx]), vec2f(p), gS * sb.y); }
            if (b.ky < 4u) { addCrossingGradient(view, b.cy, vec2f(p + OFFSETS[b.ky]), vec2f(p), gS * sb.z); }
          }
        }
      } else if (photo.a > 0.5) {
        // the covered neighbours' outline reaching p (distance 1 - t to p)
        let o = outlineAround(view, slot, p, 0u);
        var colors = vec3f(0.0);
        var behind = vec3f(0.0);
        var n = 0.0;
        for (var k = 0u; k < 4u; k++) {
          if ((o.bits & (1u << k)) == 0u) { continue; }
          let q = p + OFFSETS[k];
          colors += shade(view, vid, textureLoad(visTri, q, slot, 0).r, vec2f(q)).color;
          behind += background(vid, view, q, p);
          n += 1.0;
        }
        let s = outlineDistance(o.dx, o.dy);
        let cover = max(0.0, 0.5 - s.x);
        if (cover > 0.0) {
          let c = colors / n;
          let bg = behind / n;
          let r = bg * (1.0 - cover) + cover * c - photo.rgb;
          contribution = vec2f(dot(r, r), 1.0);
          // lent to the covered neighbours in bits: each takes cover / n of 2r in the backward pass
          lend = vec4f(2.0 * r * cover / n, f32(o.bits));
          if (training) {
            // dL/ds = -dL/dcover = -2r . (c - bg), and ds/du_axis du_axis/dt with du/dt = -1
            let gS = dot(2.0 * r, c - bg);
            if (o.kx < 4u) { addCrossingGradient(view, o.cx, vec2f(p + OFFSETS[o.kx]), vec2f(p), gS * s.y); }
            if (o.ky < 4u) { addCrossingGradient(view, o.cy, vec2f(p + OFFSETS[o.ky]), vec2f(p), gS * s.z); }
          }
        }
      }
    }
    dcolor[pix] = out;
    dlend[pix] = lend;
  }
  reduceLossStats(li, contribution, setup.statsOff + setup.statsBase);
}
