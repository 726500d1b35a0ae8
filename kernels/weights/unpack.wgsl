// unpack — helpers shared by the weight-format decoders (kernels/weights/*.wgsl).
//
// Every decoder implements `fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8>`: the 32 values
// g·32 .. g·32 + 31 of weight row `row` (rows relative to the weight chunk bound to the dispatch),
// element k holding values 4k .. 4k + 3. Quantised types are repacked at upload so that a group's
// 4-bit values sit in value order (value 8w + k in nibble k of word w of the group's vec4<u32>) and
// scales live in their own arrays; p.groups (= cols / 32) is the number of groups per row.

// Four 4-bit values starting at bit `shift` of `w`: nibbles shift/4 .. shift/4 + 3.
fn nib4(w: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> (vec4<u32>(0u, 4u, 8u, 12u) + shift)) & vec4<u32>(15u));
}

// Four consecutive bits starting at bit `shift` of `w`, as 0.0 / 1.0.
fn bit4(w: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> (vec4<u32>(0u, 1u, 2u, 3u) + shift)) & vec4<u32>(1u));
}

// Four consecutive 2-bit values starting at bit `shift` of `w`.
fn crumb4(w: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> (vec4<u32>(0u, 2u, 4u, 6u) + shift)) & vec4<u32>(3u));
}

// The four signed bytes of `w`, lowest first.
fn i8x4(w: u32) -> vec4<f32> {
  let s = bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u));
  return vec4<f32>(s >> vec4<u32>(24u));
}

// The `i`-th f16 of an array of f16 pairs packed in u32 words.
fn half_at(word: u32, i: u32) -> f32 {
  return unpack2x16float(word)[i & 1u];
}

// Byte `i` (0..11) of three little-endian words.
fn byte3(w: vec3<u32>, i: u32) -> u32 {
  return (w[i / 4u] >> (8u * (i % 4u))) & 0xffu;
}

// 6-bit scale (x) and min (y) of sub-block `j` (0..7) from the 12 packed bytes of a K-quant super-block
// (ggml's get_scale_min_k4 layout), shared by the Q4_K and Q5_K decoders.
fn scale_min_k4(s: vec3<u32>, j: u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(byte3(s, j) & 63u), f32(byte3(s, j + 4u) & 63u));
  }
  let sc = (byte3(s, j + 4u) & 15u) | ((byte3(s, j - 4u) >> 6u) << 4u);
  let m = (byte3(s, j + 4u) >> 4u) | ((byte3(s, j) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}
