// add — out[j] = a[j] + b[j] for j < len.
//
// Dispatch: one thread per value, WG threads per workgroup, linearised over (x, y). `out` may be `a`
// or `b` (accessors ld_/st_ bind one buffer once).
//
// Bindings:
//   p     Params { len }
//   a, b  [len] f32 (read)
//   out   [len] f32 (write)
@compute @workgroup_size(WG)
fn add(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid;
  if (j >= p.len) {
    return;
  }
  st_out(j, ld_a(j) + ld_b(j));
}
