// silu_mul — out[j] = silu(gate[j]) · up[j], silu(g) = g / (1 + e^−g), for j < len.
//
// Dispatch: one thread per value, WG threads per workgroup, linearised over (x, y). `out` may be
// `gate` or `up` (accessors ld_/st_ bind one buffer once).
//
// Bindings:
//   p     Params { len }
//   gate, up  [len] f32 (read)
//   out   [len] f32 (write)
@compute @workgroup_size(WG)
fn silu_mul(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid;
  if (j >= p.len) {
    return;
  }
  let g = ld_gate(j);
  st_out(j, g / (1.0 + exp(-g)) * ld_up(j));
}
