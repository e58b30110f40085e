// Per pixel the (depth, confidence) of two NCC passes with the better confidence, in place into `into`; a pass that
// found nothing (depth 0) never wins (mergeBetter in planeSweep.ts is the CPU reference).
@group(0) @binding(0) var<storage, read_write> into: array<vec2f>;
@group(0) @binding(1) var<storage, read> other: array<vec2f>;

// `other` must be better by this much (NCC confidence units) to win.
override MARGIN: f32 = 0.0;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 64u;
  if (i >= arrayLength(&into)) {
    return;
  }
  let a = into[i];
  let b = other[i];
  if (b.x > 0.0 && (!(a.x > 0.0) || b.y > a.y + MARGIN)) {
    into[i] = b;
  }
}
