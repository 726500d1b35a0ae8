// softmax — x[i, :] ← exp(x[i, :] − max) / Σ exp(x[i, :] − max), in place, for rows i < n.
//
// Dispatch: one workgroup of WG threads per row (linearised over x, y); tree reductions in workgroup
// memory (wg_max, wg_sum from kernels/workgroup_reduce.wgsl) give the row maximum and the sum.
//
// Bindings:
//   p     Params { n, len }
//   x     [n, len] f32 (read-write)
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
  let mx = wg_max(m, lid);
  var total = 0.0;
  for (var j = lid; j < p.len; j += WG) {
    total += exp(x[base + j] - mx);
  }
  let inv = 1.0 / wg_sum(total, lid);
  for (var j = lid; j < p.len; j += WG) {
    x[base + j] = exp(x[base + j] - mx) * inv;
  }
}
