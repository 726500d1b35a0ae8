// F32 weights: stored as GGUF has them.
//   w_f32 [rows · groups · 8] vec4<f32>, row-major
fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let base = (row * p.groups + g) * 8u;
  var v: array<vec4<f32>, 8>;
  for (var k = 0u; k < 8u; k++) {
    v[k] = w_f32[base + k];
  }
  return v;
}
