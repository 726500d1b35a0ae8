// sample — ids[ids_off + i] = argmax_j (x[i, j] / T + G(seed, i, j)): one token per row of logits.
//
// T = 0 is greedy: the highest logit, lowest id on ties. T > 0 adds Gumbel noise G = −ln(−ln u),
// u uniform from a hash of (seed, row, j), which draws exactly from softmax(x / T) without a sort or a
// normalisation (the Gumbel-max trick).
//
// Dispatch: one workgroup of WG threads per row (x); each thread scans j = lid, lid + WG, … and a tree
// reduction keeps the best (value, lowest id).
//
// Bindings:
//   p     Params { len, temperature, seed, ids_off }
//   x     [n, len] f32 logits (read)
//   ids   u32 token ids (write): row i's choice at ids_off + i
var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_j: array<u32, WG>;

// A 32-bit integer hash (lowbias32 by Chris Wellons): good avalanche from a few multiplies.
fn hash32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn score(row: u32, j: u32) -> f32 {
  let logit = x[row * p.len + j];
  if (p.temperature <= 0.0) {
    return logit;
  }
  // u in (0, 1): never 0 or 1, so both logarithms stay finite
  let u = (f32(hash32(hash32(p.seed ^ hash32(row)) ^ j) >> 8u) + 0.5) / 16777216.0;
  return logit / p.temperature - log(-log(u));
}

@compute @workgroup_size(WG)
fn sample(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  var bv = -3.0e38;
  var bj = 0xffffffffu;
  for (var j = lid; j < p.len; j += WG) {
    let v = score(row, j);
    if (v > bv) { // strictly greater: within a thread j grows, so the first maximum wins
      bv = v;
      bj = j;
    }
  }
  best_v[lid] = bv;
  best_j[lid] = bj;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oj = best_j[lid + s];
      if (ov > best_v[lid] || (ov == best_v[lid] && oj < best_j[lid])) {
        best_v[lid] = ov;
        best_j[lid] = oj;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    ids[p.ids_off + row] = min(best_j[0], p.len - 1u);
  }
}
