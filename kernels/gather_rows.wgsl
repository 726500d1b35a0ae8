// gather_rows — out[j, :] = x[rows[j], :] for j < count.
//
// Dispatch: one thread per output value, WG threads per workgroup, linearised over (x, y).
//
// Bindings:
//   p     Params { count, len, data_off }
//   data  u32 arena: rows[j] at data_off + j
//   x     [*, len] f32 (read)
//   out   [count, len] f32 (write)
@compute @workgroup_size(WG)
fn gather_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  if (idx >= p.count * p.len) {
    return;
  }
  let j = idx / p.len;
  out[idx] = x[data[p.data_off + j] * p.len + idx % p.len];
}
