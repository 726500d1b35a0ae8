// embed — out[j, :] = row tokens[j] of the (quantised) table, dequantised.
//
// Dispatch: one thread per (token j, 32-value group g), WG threads per workgroup, linearised over
// (x, y). A table split into row chunks is embedded by one dispatch per chunk; a thread whose token
// lies in another chunk does nothing.
//
// Bindings:
//   p     Params { n, groups, cols4, row_base, rows, data_off }: tokens, groups per row, cols / 4,
//         first table row and row count of this chunk, offset of the token ids in `data`
//   data  u32 arena: data[data_off + j] = token id j
//   out   [n, cols4] vec4<f32> (write)
//   w_*   the chunk's weight sections (read), see kernels/weights/
@compute @workgroup_size(WG)
fn embed(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;
  if (idx >= p.n * p.groups) {
    return;
  }
  let j = idx / p.groups;
  let g = idx % p.groups;
  let token = data[p.data_off + j];
  if (token < p.row_base || token >= p.row_base + p.rows) {
    return;
  }
  let v = load_group(token - p.row_base, g);
  for (var k = 0u; k < 8u; k++) {
    let q = g * 8u + k;
    if (q < p.cols4) {
      out[j * p.cols4 + q] = v[k];
    }
  }
}
