// softmax — x[i, :] ← exp(x[i, :] − max) / Σ exp(x[i, :] − max), in place, for rows i < n.
//
// Dispatch: one workgroup of WG threads per row (linearised over x, y); tree reductions in workgroup
// memory give the row maximum and the sum.
//
// Bindings:
//   p     Params { n, len }
//   x     [n, len] f32 (read-write)
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn softmax(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.n) {
    return;
  }
  let base = row * p.len;
  var m = -3.0e38;
  for (var j = lid; j < p.len; j += WG) {
    m = max(m, x[base + j]);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var total = 0.0;
  for (var j = lid; j < p.len; j += WG) {
    total += exp(x[base + j] - mx);
  }
  red[lid] = total;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  for (var j = lid; j < p.len; j += WG) {
    x[base + j] = exp(x[base + j] - mx) * inv;
  }
}
