// Q5_1 weights, repacked: value = q · d + m, q 5-bit (nibble + high bit), f16 d and m per 32 values.
//   w_qs [rows · groups] vec4<u32>  32 low nibbles per group, value order
//   w_qh [rows · groups] u32        bit v: fifth bit of value v
//   w_dm [rows · groups] u32        d in the low half, m in the high half
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let dm = unpack2x16float(w_dm[b]);
  let q = w_qs[b];
  let h = w_qh[b];
  var v: array<vec4<f32>, 8>;
  for (var w = 0u; w < 4u; w++) {
    v[2u * w] = (nib4(q[w], 0u) + 16.0 * bit4(h, 8u * w)) * dm.x + dm.y;
    v[2u * w + 1u] = (nib4(q[w], 16u) + 16.0 * bit4(h, 8u * w + 4u)) * dm.x + dm.y;
  }
  return v;
}
