// Q5_0 weights, repacked: value = (q − 16) · d, q 5-bit (nibble + high bit), one f16 scale per 32 values.
//   w_qs [rows · groups] vec4<u32>  32 low nibbles per group, value order
//   w_qh [rows · groups] u32        bit v: fifth bit of value v
//   w_d  [rows · groups / 2] u32    f16 scales, two per word
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let d = half_at(w_d[b >> 1u], b);
  let q = w_qs[b];
  let h = w_qh[b];
  var v: array<vec4<f32>, 8>;
  for (var w = 0u; w < 4u; w++) {
    v[2u * w] = (nib4(q[w], 0u) + 16.0 * bit4(h, 8u * w) - 16.0) * d;
    v[2u * w + 1u] = (nib4(q[w], 16u) + 16.0 * bit4(h, 8u * w + 4u) - 16.0) * d;
  }
  return v;
}
