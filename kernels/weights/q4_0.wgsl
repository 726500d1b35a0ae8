// Q4_0 weights, repacked: value = (q − 8) · d, q 4-bit, one f16 scale d per 32 values.
//   w_qs [rows · groups] vec4<u32>  32 nibbles per group, value order
//   w_d  [rows · groups / 2] u32    f16 scales, two per word
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let d = half_at(w_d[b >> 1u], b);
  let q = w_qs[b];
  var v: array<vec4<f32>, 8>;
  for (var w = 0u; w < 4u; w++) {
    v[2u * w] = (nib4(q[w], 0u) - 8.0) * d;
    v[2u * w + 1u] = (nib4(q[w], 16u) - 8.0) * d;
  }
  return v;
}
