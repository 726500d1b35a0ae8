// kv_store — kc[slot_i, pos_i, :] = k[i, :] and vc[slot_i, pos_i, :] = v[i, :] for tokens i < n.
//
// Dispatch: one thread per (token, value), WG threads per workgroup, linearised over (x, y).
// The cache element type kv_t is f32, or f16 in the f16 variant (converted on store).
//
// Bindings:
//   p     Params { n, kv_dim, ctx, data_off }
//   data  u32 arena: slot of token i at data_off + i, its position at data_off + n + i
//   k, v  [n, kv_dim] f32 (read)
//   kc, vc [slots, ctx, kv_dim] kv_t: one layer's K and V cache (write)
@compute @workgroup_size(WG)
fn kv_store(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  if (idx >= p.n * p.kv_dim) {
    return;
  }
  let i = idx / p.kv_dim;
  let e = idx % p.kv_dim;
  let slot = data[p.data_off + i];
  let pos = data[p.data_off + p.n + i];
  let dst = (slot * p.ctx + pos) * p.kv_dim + e;
  kc[dst] = kv_t(k[idx]);
  vc[dst] = kv_t(v[idx]);
}
