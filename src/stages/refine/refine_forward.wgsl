// Forward shading and photometric loss per pixel of each batch slot: colour = gain_view * kd(uv) * (a + l . n), with
// kd sampled bilinearly from the texture parameters, n the face normal. Where the pixel is covered and inside the
// photo's mask, the residual's gradient 2 (colour - photo) goes to `dcolor` for the backward pass and the squared
// error to the loss statistics (workgroup-reduced, then one fixed-point add per workgroup).
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


@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = gid.z;
  let vid = batchView(slot);
  let view = views[vid];
  var contribution = vec2f(0.0);
  let inside = gid.x < view.size.x && gid.y < view.size.y;
  let pix = slot * setup.width * setup.height + gid.y * setup.width + gid.x;
  if (gid.x < setup.width && gid.y < setup.height) {
    var out = vec4f(0.0);
    if (inside) {
      let tri = textureLoad(visTri, vec2u(gid.xy), slot, 0).r;
      let photo = textureLoad(photos, vec2u(gid.xy), vid, 0);
      if (tri > 0u && photo.a > 0.5) {
        let c = loadCorners(view, tri - 1u);
        let s = surfaceAt(c, pixelRay(view, vec2f(gid.xy)));
        let level = mipLevel(c, view, vec2f(gid.xy), s);
        let kd = sampleKd(bilinear(s.uv, level));
        let color = params[setup.gainOff + vid] * kd * shading(s.n);
        let r = color - photo.rgb;
        // w: the mip level + 1 (the backward pass reuses it; 0 = no colour term here)
        out = vec4f(2.0 * r, f32(level + 1u));
        contribution = vec2f(dot(r, r), 1.0);
      }
    }
    dcolor[pix] = out;
  }
  reduceLossStats(li, contribution, setup.statsOff + setup.statsBase);
}
