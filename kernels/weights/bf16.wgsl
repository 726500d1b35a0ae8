// BF16 weights: stored as GGUF has them; a bf16 is the high half of an f32.
//   w_bf16 [rows · groups · 4] vec4<u32>, eight bf16 per vec4, row-major
fn bf16_pairs(a: u32, b: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
}

fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8> {
  let base = (row * p.groups + g) * 4u;
  var v: array<vec4<f32>, 8>;
  for (var k = 0u; k < 4u; k++) {
    let h = w_bf16[base + k];
    v[2u * k] = bf16_pairs(h.x, h.y);
    v[2u * k + 1u] = bf16_pairs(h.z, h.w);
  }
  return v;
}
