// attention_chunk — snippet (no entry point) shared by `attention` and `attention_split`: the chunked
// online softmax of one (head, token) over a range of cached positions t in [start, stop):
//   m = max_t score_t,  l = Σ_t exp(score_t − m),  acc[j] = Σ_t exp(score_t − m) · V[row0 + t, koff + d]
// with score_t = qs · K[row0 + t, koff .. koff + head_dim) and d = lid + j·WG, j < DPT.
//
// Positions are visited in chunks of WG: thread lid scores position c0 + lid, the workgroup reduces the
// chunk's maximum and sum, and the running max m and sum l are rescaled by exp(m_old − m_new), so memory
// stays constant for any context. An empty range gives m = NEG_BIG, l = 0, acc = 0.
//
// kernels/mod.ts appends this file to each including kernel (WGSL module-scope declarations may come in
// any order, so the kernel's header stays first). It declares DPT, NEG_BIG, the workgroup arrays qs
// and probs, and the functions load_scaled_q and attend_range. It expects from the including kernel:
//   constants  WG (threads per workgroup, a power of two), MAX_HEAD_DIM (a multiple of WG)
//   wg_max, wg_sum  from kernels/workgroup_reduce.wgsl, built in beside this snippet
//   p          Params with head_dim and kv_dim, and scale (read by load_scaled_q)
//   q          [.., head_dim] f32 (read by load_scaled_q)
//   kc, vc     [slots, ctx, kv_dim] kv_t: one layer's K and V cache (read)
// Every function here holds workgroup barriers: call them from uniform control flow, with the same
// arguments (lid aside) in every thread of the workgroup.
const DPT: u32 = MAX_HEAD_DIM / WG; // output dims per thread
const NEG_BIG: f32 = -3.0e38; // stands in for −∞: exp(NEG_BIG − finite) underflows to 0

var<workgroup> qs: array<f32, MAX_HEAD_DIM>; // q · scale
var<workgroup> probs: array<f32, WG>; // exp(score − m) of the current chunk

// A softmax over a range of positions, not yet normalised: thread lid holds dims lid + j·WG of acc.
struct Attended {
  m: f32,
  l: f32,
  acc: array<f32, DPT>,
}

// qs = q[qbase .. qbase + head_dim) · scale, published to the whole workgroup.
fn load_scaled_q(qbase: u32, lid: u32) {
  for (var d = lid; d < p.head_dim; d += WG) {
    qs[d] = q[qbase + d] * p.scale;
  }
  workgroupBarrier();
}

// The online softmax of qs against cache rows row0 + t, t in [start, stop), of KV head offset koff.
fn attend_range(row0: u32, koff: u32, start: u32, stop: u32, lid: u32) -> Attended {
  var m = NEG_BIG;
  var l = 0.0;
  var acc: array<f32, DPT>;
  for (var c0 = start; c0 < stop; c0 += WG) {
    let t = c0 + lid;
    var s = NEG_BIG;
    if (t < stop) {
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
    if (t < stop) {
      e = exp(s - mn);
    }
    probs[lid] = e;
    l = l * alpha + wg_sum(e, lid); // wg_sum's barriers also publish probs
    let count = min(WG, stop - c0);
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
  return Attended(m, l, acc);
}
