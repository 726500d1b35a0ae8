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
// Bindings:
//   p      Params { n, n_heads, group, head_dim, kv_dim, ctx, scale, data_off }
//   data   u32 arena: slot of token i at data_off + i, position at data_off + n + i
//   q      [n, n_heads, head_dim] f32 (read)
//   out    [n, n_heads, head_dim] f32 (write)
//   kc, vc [slots, ctx, kv_dim] kv_t: one layer's K and V cache (read)
const DPT: u32 = MAX_HEAD_DIM / WG; // output dims per thread
const NEG_BIG: f32 = -3.0e38; // stands in for −∞: exp(NEG_BIG − finite) underflows to 0

var<workgroup> qs: array<f32, MAX_HEAD_DIM>; // q · scale
var<workgroup> probs: array<f32, WG>; // exp(score − m) of the current chunk
var<workgroup> red: array<f32, WG>;

fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let i = wid.y;
  let slot = data[p.data_off + i];
  let last = data[p.data_off + p.n + i];
  let qbase = (i * p.n_heads + h) * p.head_dim;
  for (var d = lid; d < p.head_dim; d += WG) {
    qs[d] = q[qbase + d] * p.scale;
  }
  workgroupBarrier();
  let row0 = slot * p.ctx; // cache row of position 0
  let koff = (h / p.group) * p.head_dim;
  var m = NEG_BIG;
  var l = 0.0;
  var acc: array<f32, DPT>;
  for (var c0 = 0u; c0 <= last; c0 += WG) {
    let t = c0 + lid;
    var s = NEG_BIG;
    if (t <= last) {
      let kb = (row0 + t) * p.kv_dim + koff;
      var dotv = 0.0;
      for (var d = 0u; d < p.head_dim; d++) {
        dotv += qs[d] * f32(kc[kb + d]);
      }
      s = dotv;
    }
    let mn = max(m, wg_max(s, lid));
    let alpha = exp(m - mn);
    var e = 0.0;
    if (t <= last) {
      e = exp(s - mn);
    }
    probs[lid] = e;
    l = l * alpha + wg_sum(e, lid); // wg_sum's barriers also publish probs
    let count = min(WG, last + 1u - c0);
    for (var j = 0u; j < DPT; j++) {
      let d = lid + j * WG;
      if (d < p.head_dim) {
        var a = acc[j] * alpha;
        for (var tt = 0u; tt < count; tt++) {
          a += probs[tt] * f32(vc[(row0 + c0 + tt) * p.kv_dim + koff + d]);
        }
        acc[j] = a;
      }
    }
    m = mn;
    workgroupBarrier(); // probs is rewritten by the next chunk
  }
  for (var j = 0u; j < DPT; j++) {
    let d = lid + j * WG;
    if (d < p.head_dim) {
      out[qbase + d] = acc[j] / l;
    }
  }
}
