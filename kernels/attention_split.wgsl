// attention_split — one slice of a long context's attention (flash-decoding), for token i, head h and
// slice s covering positions t in [s·span, min((s + 1)·span, pos_i + 1)):
//   m = max_t score_t,  l = Σ_t exp(score_t − m),  acc[:] = Σ_t exp(score_t − m) · V[slot_i, t, kvh, :]
// with score_t = q[i, h, :] · K[slot_i, t, kvh, :] · scale and kvh = h / group. `attention_combine`
// merges the slices. An empty slice (past pos_i) writes m = NEG_BIG, l = 0, acc = 0, which weighs 0.
//
// Why: the one-pass kernel runs one workgroup per (head, token): a decode step of a model with 32 heads
// keeps 32 workgroups busy however long the context, while a GPU has hundreds of cores to feed.
//
// Dispatch: one workgroup of WG threads per (head h = x, token i = y, slice s = z); inside a slice the
// same chunked online softmax as `attention` (thread lid scores position c0 + lid): `attend_range` of
// kernels/attention_chunk.wgsl (appended by kernels/mod.ts), which also declares DPT, NEG_BIG and the
// workgroup arrays, with its max and sum from kernels/workgroup_reduce.wgsl (appended too).
//
// Bindings:
//   p      Params { n, n_heads, group, head_dim, kv_dim, ctx, scale, data_off, splits, span }
//   data   u32 arena: slot of token i at data_off + i, position at data_off + n + i
//   q      [n, n_heads, head_dim] f32 (read)
//   part   [n, n_heads, splits, head_dim + 2] f32 (write): acc[0 .. head_dim), then m, then l
//   kc, vc [slots, ctx, kv_dim] kv_t: one layer's K and V cache (read)
@compute @workgroup_size(WG)
fn attention_split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let i = wid.y;
  let slice = wid.z;
  let slot = data[p.data_off + i];
  let end = data[p.data_off + p.n + i] + 1u; // positions of this token: 0 .. end − 1
  let start = slice * p.span;
  let stop = min(start + p.span, end);
  let qbase = (i * p.n_heads + h) * p.head_dim;
  load_scaled_q(qbase, lid);
  let row0 = slot * p.ctx; // cache row of position 0
  let koff = (h / p.group) * p.head_dim;
  let r = attend_range(row0, koff, start, stop, lid);
  let base = ((i * p.n_heads + h) * p.splits + slice) * (p.head_dim + 2u);
  for (var j = 0u; j < DPT; j++) {
    let d = lid + j * WG;
    if (d < p.head_dim) {
      part[base + d] = r.acc[j];
    }
  }
  if (lid == 0u) {
    part[base + p.head_dim] = r.m;
    part[base + p.head_dim + 1u] = r.l;
  }
}
