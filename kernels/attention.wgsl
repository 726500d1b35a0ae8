// attention — causal attention of token i, head h over its slot's cached positions 0 ..= pos_i:
//   out[i, h, :] = Σ_t softmax_t(q[i, h, :] · K[slot_i, t, kvh, :] · scale) · V[slot_i, t, kvh, :]
// with kvh = h / group (grouped-query attention: `group` query heads share one KV head).
//
// Dispatch: one workgroup of WG threads per (head h = x, token i = y). Positions are visited in chunks
// of WG: thread lid scores position c0 + lid, the workgroup reduces the chunk's maximum and sum, and an
// online softmax (running max m, running sum l, accumulators rescaled by exp(m_old − m_new)) keeps
// memory constant for any context. Output dims are split over threads: d = lid + j·WG, j < DPT.
// Decode, causal prefill and batched decode over several slots are the same dispatch.
//
// Built with kernels/attention_chunk.wgsl and kernels/workgroup_reduce.wgsl (appended by kernels/mod.ts):
// the chunk loop is the former's `attend_range` over positions [0, pos_i + 1), DPT, NEG_BIG and the
// workgroup arrays come from the two, and the chunk's max and sum are the latter's wg_max and wg_sum.
//
// Bindings:
//   p      Params { n, n_heads, group, head_dim, kv_dim, ctx, scale, data_off }
//   data   u32 arena: slot of token i at data_off + i, position at data_off + n + i
//   q      [n, n_heads, head_dim] f32 (read)
//   out    [n, n_heads, head_dim] f32 (write)
//   kc, vc [slots, ctx, kv_dim] kv_t: one layer's K and V cache (read)
@compute @workgroup_size(WG)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let i = wid.y;
  let slot = data[p.data_off + i];
  let last = data[p.data_off + p.n + i];
  let qbase = (i * p.n_heads + h) * p.head_dim;
  load_scaled_q(qbase, lid);
  let row0 = slot * p.ctx; // cache row of position 0
  let koff = (h / p.group) * p.head_dim;
  let r = attend_range(row0, koff, 0u, last + 1u, lid);
  for (var j = 0u; j < DPT; j++) {
    let d = lid + j * WG;
    if (d < p.head_dim) {
      out[qbase + d] = r.acc[j] / r.l;
    }
  }
}
