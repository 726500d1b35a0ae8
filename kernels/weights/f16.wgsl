// F16 weights: stored as GGUF has them, read as pairs of halves.
//   w_f16 [rows · groups · 4] vec4<u32>, eight f16 per vec4, row-major
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let base = (row * p.groups + g) * 4u;
  var v: array<vec4<f32>, 8>;
  for (var k = 0u; k < 4u; k++) {
    let h = w_f16[base + k];
    v[2u * k] = vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y));
    v[2u * k + 1u] = vec4<f32>(unpack2x16float(h.z), unpack2x16float(h.w));
  }
  return v;
}
