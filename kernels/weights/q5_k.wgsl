// Q5_K weights, repacked: as Q4_K with a fifth bit per value: value = d·sc·q − dmin·m, q 5-bit.
//   w_qs [rows · groups] vec4<u32>       32 low nibbles per group, value order
//   w_qh [rows · groups] u32             bit v: fifth bit of value v of the group
//   w_sc [rows · groups / 8] vec4<u32>   x: d | dmin << 16, y..w: the 12 packed scale/min bytes
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let s = w_sc[b >> 3u];
  let dd = unpack2x16float(s.x);
  let sm = scale_min_k4(s.yzw, b & 7u);
  let scale = dd.x * sm.x;
  let mn = dd.y * sm.y;
  let q = w_qs[b];
  let h = w_qh[b];
  var v: array<vec4<f32>, 8>;
  for (var w = 0u; w < 4u; w++) {
    v[2u * w] = (nib4(q[w], 0u) + 16.0 * bit4(h, 8u * w)) * scale - mn;
    v[2u * w + 1u] = (nib4(q[w], 16u) + 16.0 * bit4(h, 8u * w + 4u)) * scale - mn;
  }
  return v;
}
