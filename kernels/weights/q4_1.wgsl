// Q4_1 weights, repacked: value = q · d + m, q 4-bit, f16 scale d and min m per 32 values.
//   w_qs [rows · groups] vec4<u32>  32 nibbles per group, value order
//   w_dm [rows · groups] u32        d in the low half, m in the high half
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let dm = unpack2x16float(w_dm[b]);
  let q = w_qs[b];
  var v: array<vec4<f32>, 8>;
  for (var w = 0u; w < 4u; w++) {
    v[2u * w] = nib4(q[w], 0u) * dm.x + dm.y;
    v[2u * w + 1u] = nib4(q[w], 16u) * dm.x + dm.y;
  }
  return v;
}
