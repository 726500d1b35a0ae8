// rope — rotates each (token, head) pair of x in place: (x_a, x_b) ← (x_a·cos − x_b·sin, x_a·sin + x_b·cos).
//
// Normal style pairs (2i, 2i+1), NeoX style (i, i + rope_dim/2), for the first rope_dim values of each
// head. cos/sin of θ = pos · base^(−2i/rope_dim) / factor_i come from a host-computed table in `data`:
// positions reach thousands of radians, where f32 argument rounding and GPU cos/sin (accurate only
// near [−π, π]) would be off by more than the f32 tolerance; the host evaluates them in f64.
//
// Dispatch: one thread per (token, head, pair), WG threads per workgroup, linearised over (x, y).
//
// Bindings:
//   p     Params { n, n_heads, head_dim, half, neox, data_off }: half = rope_dim / 2, neox 0 or 1
//   data  u32 arena: f32 bits of (cos, sin) at data_off + (token · half + pair) · 2
//   x     [n, n_heads, head_dim] f32 (read-write)
@compute @workgroup_size(WG)
fn rope(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  if (idx >= p.n * p.n_heads * p.half) {
    return;
  }
  let pair = idx % p.half;
  let head = idx / p.half; // token · n_heads + h
  let token = head / p.n_heads;
  let a = head * p.head_dim + select(2u * pair, pair, p.neox != 0u);
  let b = a + select(1u, p.half, p.neox != 0u);
  let t = p.data_off + (token * p.half + pair) * 2u;
  let c = bitcast<f32>(data[t]);
  let s = bitcast<f32>(data[t + 1u]);
  let x0 = x[a];
  let x1 = x[b];
  x[a] = x0 * c - x1 * s;
  x[b] = x0 * s + x1 * c;
}
