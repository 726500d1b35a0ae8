// Q8_0 weights, repacked: value = q · d, q int8, one f16 scale d per 32 values.
//   w_qs [rows · groups · 2] vec4<u32>  32 int8 per group, value order
//   w_d  [rows · groups / 2] u32         f16 scales, two per word
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let b = row * p.groups + g;
  let d = half_at(w_d[b >> 1u], b);
  var v: array<vec4<f32>, 8>;
  for (var h = 0u; h < 2u; h++) {
    let q = w_qs[2u * b + h];
    v[4u * h] = i8x4(q.x) * d;
    v[4u * h + 1u] = i8x4(q.y) * d;
    v[4u * h + 2u] = i8x4(q.z) * d;
    v[4u * h + 3u] = i8x4(q.w) * d;
  }
  return v;
}
