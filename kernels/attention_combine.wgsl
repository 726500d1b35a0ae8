// attention_combine — merges the slices of `attention_split` for token i, head h:
//   M = max_s m_s,  out[i, h, :] = Σ_s exp(m_s − M) · acc_s[:] / Σ_s exp(m_s − M) · l_s
// (the log-sum-exp merge of partial softmaxes: each slice's sums are rescaled to the common max).
//
// Dispatch: one workgroup of WG threads per (head h = x, token i = y); thread lid writes dims
// d = lid, lid + WG, … and reads the few slices' (m, l) itself.
//
// Bindings:
//   p      Params { n, n_heads, head_dim, splits }
//   part   [n, n_heads, splits, head_dim + 2] f32 (read): acc[0 .. head_dim), then m, then l
//   out    [n, n_heads, head_dim] f32 (write)
@compute @workgroup_size(WG)
fn attention_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let i = wid.y;
  let stride = p.head_dim + 2u;
  let base = (i * p.n_heads + h) * p.splits * stride;
  var mx = -3.0e38;
  for (var s = 0u; s < p.splits; s++) {
    mx = max(mx, part[base + s * stride + p.head_dim]);
  }
  var l = 0.0;
  for (var s = 0u; s < p.splits; s++) {
    l += exp(part[base + s * stride + p.head_dim] - mx) * part[base + s * stride + p.head_dim + 1u];
  }
  for (var d = lid; d < p.head_dim; d += WG) {
    var a = 0.0;
    for (var s = 0u; s < p.splits; s++) {
      a += exp(part[base + s * stride + p.head_dim] - mx) * part[base + s * stride + d];
    }
    out[(i * p.n_heads + h) * p.head_dim + d] = a / l;
  }
}
