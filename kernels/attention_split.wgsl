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
// same chunked online softmax as `attention` (thread lid scores position c0 + lid).
//
// Bindings:
//   p      Params { n, n_heads, group, head_dim, kv_dim, ctx, scale, data_off, splits, span }
//   data   u32 arena: slot of token i at data_off + i, position at data_off + n + i
//   q      [n, n_heads, head_dim] f32 (read)
//   part   [n, n_heads, splits, head_dim + 2] f32 (write): acc[0 .. head_dim), then m, then l
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
fn attention_split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let i = wid.y;
  let slice = wid.z;
  let slot = data[p.data_off + i];
  let end = data[p.data_off + p.n + i] + 1u; // positions of this token: 0 .. end − 1
  let start = slice * p.span;
  let stop = min(start + p.span, end);
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
  let base = ((i * p.n_heads + h) * p.splits + slice) * (p.head_dim + 2u);
  for (var j = 0u; j < DPT; j++) {
    let d = lid + j * WG;
    if (d < p.head_dim) {
      part[base + d] = acc[j];
    }
  }
  if (lid == 0u) {
    part[base + p.head_dim] = m;
    part[base + p.head_dim + 1u] = l;
  }
}
