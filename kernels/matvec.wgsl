// matvec — out[t, row_base + r] = Σ_k x[t, k] · W[r, k]: the weight-bound product of decode (few tokens).
//
// Dispatch: one workgroup of WG threads per ROWS weight rows (x, y: row blocks, linearised past the
// 65535 limit), z: token t. Thread `lid` walks the 32-value groups g = lid, lid + WG, … of the row,
// loads the activation group once and dots it with the ROWS rows decoded by load_group (the weight
// format's decoder, kernels/weights/), so ROWS rows share each activation load; a workgroup tree
// reduction adds the WG partial sums. load_x_group and wg_sum_rows come from kernels/matvec_rows.wgsl.
//
// Bindings:
//   p     Params { rows, groups, cols4, row_base, out_stride }: rows of this weight chunk, 32-value
//         groups per row (the last zero-padded when cols is not a multiple of 32), cols / 4, first output
//         column of the chunk, output row length (all rows of the weight)
//   x     [n, cols4] vec4<f32> activations (read); values past cols read as 0
//   out   [n, out_stride] f32 (write)
//   w_*   the chunk's weight sections (read), see kernels/weights/
@compute @workgroup_size(WG)
fn matvec(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let first = (wid.y * nwg.x + wid.x) * ROWS;
  if (first >= p.rows) {
    return;
  }
  let tok = wid.z;
  let xbase = tok * p.cols4;
  var acc: array<f32, ROWS>;
  for (var g = lid; g < p.groups; g += WG) {
    var xv = load_x_group(xbase, g);
    for (var r = 0u; r < ROWS; r++) {
      // rows past the chunk's end repeat its last row; their sums are never stored
      let wv = load_group(min(first + r, p.rows - 1u), g);
      var s = 0.0;
      for (var k = 0u; k < 8u; k++) {
        s += dot(wv[k], xv[k]);
      }
      acc[r] += s;
    }
  }
  var sums = wg_sum_rows(acc, lid);
  if (lid < ROWS && first + lid < p.rows) {
    out[tok * p.out_stride + p.row_base + first + lid] = sums[lid];
  }
}
