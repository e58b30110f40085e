// Backward of refine_forward.wgsl per covered pixel, given dL/dcolour and the mip level (+ 1) in `dcolor`, plus the
// share of its colour in its neighbours' edge blends (`dlend`: uncovered ones inside the outline, covered ones behind an
// occlusion edge):
// - texels: the four bilinear corners get weight * gain * shade * dL/dcolour (fixed-point adds);
// - exposure gain of the view and the global light (a, l): workgroup sums, one fixed-point add each per workgroup;
// - vertex positions through the uv (bilinear slope -> uv -> barycentrics -> camera-space corners -> world, the
//   chain rule through the ray/triangle barycentrics of refine_common.wgsl) and through the face normal of the
//   lighting term. The visibility (which triangle a pixel sees) is piecewise constant; the outline gets its
//   gradient from refine_silhouette.wgsl and from the forward pass's edge blend.
@group(0) @binding(0) var<uniform> setup: Setup;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> faces: array<u32>;
@group(0) @binding(3) var<storage, read> uvs: array<f32>;
@group(0) @binding(4) var<storage, read> views: array<View>;
@group(0) @binding(5) var<storage, read> dcolor: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> grad: array<atomic<u32>>;
@group(0) @binding(7) var visTri: texture_2d_array<u32>;
@group(0) @binding(8) var<storage, read> mips: array<f32>;
@group(0) @binding(9) var<storage, read> dlend: array<vec4f>;

// gain, ambient, l.x, l.y, l.z
var<workgroup> partial: array<array<f32, 5>, 64>;

// Level 0 texels are parameters; a mip texel's gradient goes to its own slot, which Adam spreads over the texels it
// averages (the adjoint of the box filter).
fn addTexel(level: u32, x: i32, y: i32, g: vec3f) {
  let n = i32(setup.texSize >> level);
  let t = 3u * u32(clamp(y, 0, n - 1) * n + clamp(x, 0, n - 1));
  let k = select(setup.mipGradOff + mipOffset(level) + t, setup.texOff + t, level == 0u);
  addFixed(k, g.x);
  addFixed(k + 1u, g.y);
  addFixed(k + 2u, g.z);
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = gid.z;
  let vid = batchView(slot);
  let view = views[vid];
  var mine = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
  if (gid.x < view.size.x && gid.y < view.size.y) {
    let base = slot * setup.width * setup.height;
    var g = dcolor[base + gid.y * setup.width + gid.x];
    let tri = textureLoad(visTri, vec2u(gid.xy), slot, 0).r;
    if (g.w > 0.0 && tri > 0u) {
      // the share of this pixel's colour in its neighbours' edge blends (refine_forward.wgsl: uncovered pixels inside
      // the outline, covered ones behind an occlusion edge): `dlend` holds the share and, in w, the bits of the
      // neighbours whose colour the pixel blends; this pixel is neighbour k ^ 1 of the one at OFFSETS[k] (the offsets
      // come in opposite pairs)
      let p = vec2i(gid.xy);
      for (var k = 0u; k < 4u; k++) {
        let q = p + OFFSETS[k];
        if (!inImage(view, q)) { continue; }
        let lq = dlend[base + u32(q.y) * setup.width + u32(q.x)];
        if ((u32(lq.w) & (1u << (k ^ 1u))) == 0u) { continue; }
        g = vec4f(g.xyz + lq.xyz, g.w);
      }
    }
    if (g.w > 0.0 && tri > 0u && any(g.xyz != vec3f(0.0))) {
      let c = loadCorners(view, tri - 1u);
      let d = pixelRay(view, vec2f(gid.xy));
      let s = surfaceAt(c, d);
      let bl = bilinear(s.uv, u32(g.w) - 1u);
      let k00 = texel(bl.level, bl.x0, bl.y0);
      let k10 = texel(bl.level, bl.x0 + 1, bl.y0);
      let k01 = texel(bl.level, bl.x0, bl.y0 + 1);
      let k11 = texel(bl.level, bl.x0 + 1, bl.y0 + 1);
      let kd = mix(mix(k00, k10, bl.fx), mix(k01, k11, bl.fx), bl.fy);
      let gain = params[setup.gainOff + vid];
      let shade = shading(s.n);
      let gKd = g.xyz * gain * shade;
      // texels
      addTexel(bl.level, bl.x0, bl.y0, gKd * (1.0 - bl.fx) * (1.0 - bl.fy));
      addTexel(bl.level, bl.x0 + 1, bl.y0, gKd * bl.fx * (1.0 - bl.fy));
      addTexel(bl.level, bl.x0, bl.y0 + 1, gKd * (1.0 - bl.fx) * bl.fy);
      addTexel(bl.level, bl.x0 + 1, bl.y0 + 1, gKd * bl.fx * bl.fy);
      // exposure and light
      let gShade = dot(g.xyz, kd) * gain;
      mine[0] = dot(g.xyz, kd) * shade;
      mine[1] = gShade;
      mine[2] = gShade * s.n.x;
      mine[3] = gShade * s.n.y;
      mine[4] = gShade * s.n.z;
      // uv: the sampler's slope; clamped coordinates have none
      let size = f32(setup.texSize >> bl.level);
      let xs = s.uv.x * size - 0.5;
      let ys = s.uv.y * size - 0.5;
      let inX = select(0.0, size, xs > -0.5 && xs < size - 0.5);
      let inY = select(0.0, size, ys > -0.5 && ys < size - 0.5);
      let dKdu = ((1.0 - bl.fy) * (k10 - k00) + bl.fy * (k11 - k01)) * inX;
      let dKdv = ((1.0 - bl.fx) * (k01 - k00) + bl.fx * (k11 - k10)) * inY;
      let gUv = vec2f(dot(gKd, dKdu), dot(gKd, dKdv));
      // barycentrics -> w -> camera-space corners
      let gB = vec3f(dot(gUv, c.t0), dot(gUv, c.t1), dot(gUv, c.t2));
      let gW = (gB - vec3f(dot(s.b, gB))) / s.w;
      // w0 = d.(q1 x q2), w1 = d.(q2 x q0), w2 = d.(q0 x q1)
      let gq0 = gW.y * cross(d, c.q2) + gW.z * cross(c.q1, d);
      let gq1 = gW.z * cross(d, c.q0) + gW.x * cross(c.q2, d);
      let gq2 = gW.x * cross(d, c.q1) + gW.y * cross(c.q0, d);
      // face normal n = cross(e1, e2) / |.|: dL/dn = gShade * l
      let o = setup.lightOff;
      let gN = gShade * vec3f(params[o + 1u], params[o + 2u], params[o + 3u]);
      let gC = (gN - s.n * dot(s.n, gN)) / s.area2;
      let e1 = c.p1 - c.p0;
      let e2 = c.p2 - c.p0;
      let gE1 = cross(e2, gC);
      let gE2 = cross(gC, e1);
      addVertex(c.i0, worldGrad(view, gq0) - gE1 - gE2);
      addVertex(c.i1, worldGrad(view, gq1) + gE1);
      addVertex(c.i2, worldGrad(view, gq2) + gE2);
    }
  }
  partial[li] = mine;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride = stride / 2u) {
    if (li < stride) {
      for (var j = 0u; j < 5u; j++) { partial[li][j] = partial[li][j] + partial[li + stride][j]; }
    }
    workgroupBarrier();
  }
  if (li == 0u && (partial[0][0] != 0.0 || partial[0][1] != 0.0)) {
    addFixed(setup.gainOff + vid, partial[0][0]);
    for (var j = 0u; j < 4u; j++) { addFixed(setup.lightOff + j, partial[0][1 + j]); }
  }
}
