// Q6_K weights, repacked: super-blocks of 256 values; value = d · sc · (q − 32), q 6-bit (nibble + 2 high
// bits), one int8 sc per 16 values, f16 d per super-block.
//   w_ql [rows · groups] vec4<u32>       32 low nibbles per group, value order
//   w_qh [rows · groups] vec2<u32>       2 high bits per value, value order (16 per word)
//   w_sc [rows · groups / 8] vec4<u32>   the 16 int8 scales of the super-block
//   w_d  [rows · groups / 16] u32        f16 d per super-block, two per word
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let sb = b >> 3u;
  let d = half_at(w_d[sb >> 1u], sb);
  // scales 2j and 2j + 1 of the super-block cover this group (j = b % 8): bytes 2(j%2), 2(j%2)+1 of word j/2
  let j = b & 7u;
  let sc = i8x4(w_sc[sb][j >> 1u]);
  let lo = select(sc.x, sc.z, (j & 1u) == 1u) * d;
  let hi = select(sc.y, sc.w, (j & 1u) == 1u) * d;
  let q = w_ql[b];
  let h = w_qh[b];
  var v: array<vec4<f32>, 8>;
  for (var w = 0u; w < 4u; w++) {
    let scale = select(hi, lo, w < 2u);
    let hw = h[w >> 1u];
    let shift = 16u * (w & 1u);
    v[2u * w] = (nib4(q[w], 0u) + 16.0 * crumb4(hw, shift) - 32.0) * scale;
    v[2u * w + 1u] = (nib4(q[w], 16u) + 16.0 * crumb4(hw, shift + 8u) - 32.0) * scale;
  }
  return v;
}
