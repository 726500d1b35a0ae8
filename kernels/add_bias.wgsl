// add_bias — x[i, j] += bias[j] for rows i < n, j < len.
//
// Dispatch: one thread per value of the n rows, WG threads per workgroup, linearised over (x, y).
//
// Bindings:
//   p     Params { total, len }: total = n · len
//   x     [n, len] f32 (read-write)
//   bias  [len] f32 (read)
@compute @workgroup_size(WG)
fn add_bias(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  if (idx >= p.total) {
    return;
  }
  x[idx] += bias[idx % p.len];
}
