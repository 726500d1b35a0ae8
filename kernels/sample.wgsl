// sample — one token per row of logits, in the CPU sampler's order (penalties already applied by
// `penalize`): top-k → top-p → min-p → temperature → draw.
//   T = 0:  ids[ids_off + i] = argmax_j x[i, j] (lowest id on ties; no filter, as on the CPU)
//   T > 0:  ids[ids_off + i] = argmax_{j kept} ((x[i, j] − m) / T + G(seed, i, j))
// G = −ln(−ln u), u uniform from a hash of (seed, row, j): Gumbel-max draws exactly from the softmax
// of the kept logits without a sort or a normalisation.
//
// Filters without a sort: candidates are ranked by (logit desc, id asc), a total order, and every
// filter keeps a best-first prefix, so each is a cut (t, i) = (key, id) of its last kept candidate,
// where key is the logit's bits mapped to an order-preserving u32. A cut is found by a bitwise search
// over the key (32 passes over the row, each counting — or, for top-p, summing exp(x − m) of — the
// candidates at or above a trial key), then over the ids among equal keys. top-p works within the
// top-k cut, as on the CPU; min-p is a plain threshold m + ln(min_p). Each filter costs ~50 passes
// over the row and only runs when it is on.
//
// With write_probs = 1 the row of logits is replaced by the kept distribution softmax(x / T) over the
// kept ids, 0 elsewhere (one-hot when greedy): how tests compare the filtered set with the CPU's.
//
// Dispatch: one workgroup of WG threads per row (x); thread lid always takes j = lid, lid + WG, …
// Sums over the row are workgroup tree reductions (wg_sum, kernels/workgroup_reduce.wgsl); the
// (value, id) argmax reduce_best reuses that snippet's red array for its values.
//
// Bindings:
//   p     Params { len, temperature, seed, ids_off, top_k, top_p, min_p, write_probs }
//   x     [n, len] f32 logits (read; written only with write_probs)
//   ids   u32 token ids (write): row i's choice at ids_off + i
const NONE: u32 = 0xffffffffu;
const LOWEST: f32 = -3.4028235e38; // NaN logits rank here, like the CPU's −∞
const KEY_POS_INF: u32 = 0xff800000u; // key_of(+∞)
const MIN_TARGET: f32 = 1e-30; // top-p 0 still keeps the best token

var<workgroup> red_j: array<u32, WG>; // ids beside the values in workgroup_reduce's red
var<workgroup> shared_v: f32;
var<workgroup> shared_j: u32;

// A 32-bit integer hash (lowbias32 by Chris Wellons): good avalanche from a few multiplies.
fn hash32(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn logit(row: u32, j: u32) -> f32 {
  let v = x[row * p.len + j];
  return select(v, LOWEST, v != v);
}

// Order-preserving key: a > b as floats ⇔ key_of(a) > key_of(b) as u32.
fn key_of(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn value_of(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// Ranks at or before the cut (t, i): a higher key, or the same key and an id no higher.
fn within(k: u32, j: u32, t: u32, i: u32) -> bool {
  return k > t || (k == t && j <= i);
}

// The best (value, lowest id) of the workgroup; NONE ids lose. Returns the id; the value is in shared_v.
fn reduce_best(v: f32, j: u32, lid: u32) -> u32 {
  red[lid] = v;
  red_j[lid] = j;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      let ov = red[lid + s];
      let oj = red_j[lid + s];
      let mine = red_j[lid];
      if (oj != NONE && (mine == NONE || ov > red[lid] || (ov == red[lid] && oj < mine))) {
        red[lid] = ov;
        red_j[lid] = oj;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    shared_v = red[0];
    shared_j = red_j[0];
  }
  return workgroupUniformLoad(&shared_j);
}

// Sum over the row's candidates within the pool cut (pt, pi) of:
//   mode 0: 1 where key ≥ lo;  mode 1: exp(x − m) where key ≥ lo;  mode 2: 1 where key = lo and id < below.
fn tally(row: u32, mode: u32, pt: u32, pi: u32, lo: u32, below: u32, m: f32, lid: u32) -> f32 {
  var acc = 0.0;
  for (var j = lid; j < p.len; j += WG) {
    let v = logit(row, j);
    let k = key_of(v);
    if (within(k, j, pt, pi)) {
      if (mode == 2u) {
        if (k == lo && j < below) {
          acc += 1.0;
        }
      } else if (k >= lo) {
        acc += select(1.0, exp(v - m), mode == 1u);
      }
    }
  }
  return wg_sum(acc, lid);
}

// The largest key t whose tally (mode 0 or 1) reaches `need`: the key of the candidate where the
// best-first running count or mass first reaches it.
fn find_key(row: u32, mode: u32, pt: u32, pi: u32, need: f32, m: f32, lid: u32) -> u32 {
  var t = 0u;
  for (var b = 32u; b > 0u; b--) {
    let trial = t | (1u << (b - 1u));
    if (tally(row, mode, pt, pi, trial, 0u, m, lid) >= need) {
      t = trial;
    }
  }
  return t;
}

// The id of the r-th lowest id (r ≥ 1) among the pool's candidates with key t.
fn find_tie(row: u32, pt: u32, pi: u32, t: u32, r: f32, lid: u32) -> u32 {
  var i = 0u;
  for (var b = 32u - countLeadingZeros(p.len); b > 0u; b--) {
    let trial = i | (1u << (b - 1u));
    if (tally(row, 2u, pt, pi, t, trial, 0.0, lid) < r) {
      i = trial;
    }
  }
  return i;
}

@compute @workgroup_size(WG)
fn sample(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  // the best logit: greedy's answer, and the m every weight is relative to
  var bv = 0.0;
  var bj = NONE;
  for (var j = lid; j < p.len; j += WG) {
    let v = logit(row, j);
    if (bj == NONE || v > bv) { // strictly greater: within a thread j grows, so the first maximum wins
      bv = v;
      bj = j;
    }
  }
  let best = reduce_best(bv, bj, lid);
  let m = workgroupUniformLoad(&shared_v);
  if (p.temperature <= 0.0 || key_of(m) == KEY_POS_INF) {
    if (lid == 0u) {
      ids[p.ids_off + row] = min(best, p.len - 1u);
    }
    if (p.write_probs != 0u) {
      for (var j = lid; j < p.len; j += WG) {
        x[row * p.len + j] = select(0.0, 1.0, j == best);
      }
    }
    return;
  }
  // top-k: the cut at the k-th best candidate (everything when off)
  var kt = 0u;
  var ki = NONE;
  if (p.top_k > 0u && p.top_k < p.len) {
    let need = f32(p.top_k);
    kt = find_key(row, 0u, 0u, NONE, need, m, lid);
    let above = select(tally(row, 0u, 0u, NONE, kt + 1u, 0u, m, lid), 0.0, kt == NONE);
    ki = find_tie(row, 0u, NONE, kt, need - above, lid);
  }
  // top-p within the top-k pool: the shortest best-first prefix holding top_p of the pool's mass
  var qt = 0u;
  var qi = NONE;
  if (p.top_p < 1.0) {
    let z = tally(row, 1u, kt, ki, 0u, 0u, m, lid);
    let goal = max(p.top_p * z, MIN_TARGET);
    qt = find_key(row, 1u, kt, ki, goal, m, lid);
    let above = select(tally(row, 1u, kt, ki, qt + 1u, 0u, m, lid), 0.0, qt == NONE);
    let ties = tally(row, 2u, kt, ki, qt, NONE, m, lid);
    let w = exp(value_of(qt) - m);
    qi = find_tie(row, kt, ki, qt, clamp(ceil((goal - above) / w), 1.0, max(ties, 1.0)), lid);
  }
  // min-p and the draw over the kept ids
  let min_logit = select(LOWEST, m + log(p.min_p), p.min_p > 0.0);
  var dv = 0.0;
  var dj = NONE;
  for (var j = lid; j < p.len; j += WG) {
    let v = logit(row, j);
    let k = key_of(v);
    if (within(k, j, kt, ki) && within(k, j, qt, qi) && v >= min_logit) {
      // u in (0, 1): never 0 or 1, so both logarithms stay finite
      let u = (f32(hash32(hash32(p.seed ^ hash32(row)) ^ j) >> 8u) + 0.5) / 16777216.0;
      let s = (v - m) / p.temperature - log(-log(u));
      if (dj == NONE || s > dv) {
        dv = s;
        dj = j;
      }
    }
  }
  let drawn = reduce_best(dv, dj, lid);
  if (lid == 0u) {
    ids[p.ids_off + row] = min(drawn, p.len - 1u);
  }
  if (p.write_probs != 0u) {
    var s = 0.0;
    for (var j = lid; j < p.len; j += WG) {
      let v = logit(row, j);
      let k = key_of(v);
      if (within(k, j, kt, ki) && within(k, j, qt, qi) && v >= min_logit) {
        s += exp((v - m) / p.temperature);
      }
    }
    let total = wg_sum(s, lid);
    for (var j = lid; j < p.len; j += WG) {
      let v = logit(row, j);
      let k = key_of(v);
      let kept = within(k, j, kt, ki) && within(k, j, qt, qi) && v >= min_logit;
      x[row * p.len + j] = select(0.0, exp((v - m) / p.temperature) / total, kept);
    }
  }
}
