// rms_norm — out[i, j] = x[i, j] / sqrt(mean_j(x[i, :]²) + eps) · w[j], for rows i < n.
//
// Dispatch: one workgroup of WG threads per row (linearised over x, y); a tree reduction in workgroup
// memory (wg_sum from kernels/workgroup_reduce.wgsl) sums the squares. `out` may be `x` (in place):
// each thread rewrites only values it read.
//
// Bindings:
//   p     Params { n, len, eps }
//   x     [n, len] f32 (read, through ld_x)
//   out   [n, len] f32 (write, through st_out)
//   w     [len] f32 norm weight (read)
@compute @workgroup_size(WG)
fn rms_norm(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.n) {
    return;
  }
  let base = row * p.len;
  var s = 0.0;
  for (var j = lid; j < p.len; j += WG) {
    let v = ld_x(base + j);
    s += v * v;
  }
  let scale = inverseSqrt(wg_sum(s, lid) / f32(p.len) + p.eps);
  for (var j = lid; j < p.len; j += WG) {
    st_out(base + j, ld_x(base + j) * scale * w[j]);
  }
}
