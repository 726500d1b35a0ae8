// gate_up_silu — out[t, row_base + r] = silu(Σ_k x[t, k] · G[r, k]) · Σ_k x[t, k] · U[r, k], with
// silu(g) = g / (1 + e^−g): SwiGLU's gate and up products and its activation in one pass, for decode.
//
// Unfused, decode runs matvec(gate), matvec(up) and silu_mul: three dispatches, and the two [n, ffn]
// products are written, then read back. Here each activation group is loaded once for both weights
// and only the activated value is stored.
//
// Dispatch: as matvec — one workgroup of WG threads per ROWS rows of the piece (x, y: row blocks,
// linearised past the 65535 limit), z: token t. Thread `lid` walks the 32-value groups g = lid,
// lid + WG, … and dots the activation group with the ROWS gate rows (load_gate) and the ROWS up rows
// (load_up); a workgroup tree reduction adds the WG partial sums of each. load_x_group and
// wg_sum_rows come from kernels/matvec_rows.wgsl.
//
// A piece is a row range lying within one chunk of each weight (weights past a binding are split
// into row chunks, and gate's and up's chunk boundaries may differ): row r of the piece is row
// gate_row0 + r of the gate chunk and row up_row0 + r of the up chunk.
//
// Bindings:
//   p       Params { rows, groups, cols4, row_base, out_stride, n, gate_row0, up_row0 }: rows of this
//           piece, 32-value groups per row, cols / 4, first output column of the piece, output row
//           length (all rows of the weights), tokens, the piece's first row in each weight's chunk
//   x       [n, cols4] vec4<f32> activations (read); values past cols read as 0
//   out     [n, out_stride] f32 (write)
//   gate_*  the gate chunk's weight sections (read), decoded by load_gate (see kernels/weights/)
//   up_*    the up chunk's weight sections (read), decoded by load_up
@compute @workgroup_size(WG)
fn gate_up_silu(
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
  var acc_gate: array<f32, ROWS>;
  var acc_up: array<f32, ROWS>;
  for (var g = lid; g < p.groups; g += WG) {
    var xv = load_x_group(xbase, g);
    for (var r = 0u; r < ROWS; r++) {
      // rows past the piece's end repeat its last row; their sums are never stored
      let row = min(first + r, p.rows - 1u);
      let wg = load_gate(p.gate_row0 + row, g);
      let wu = load_up(p.up_row0 + row, g);
      var sg = 0.0;
      var su = 0.0;
      for (var k = 0u; k < 8u; k++) {
        sg += dot(wg[k], xv[k]);
        su += dot(wu[k], xv[k]);
      }
      acc_gate[r] += sg;
      acc_up[r] += su;
    }
  }
  var gate = wg_sum_rows(acc_gate, lid);
  var up = wg_sum_rows(acc_up, lid);
  if (lid < ROWS && first + lid < p.rows) {
    let gs = gate[lid];
    out[tok * p.out_stride + p.row_base + first + lid] = gs / (1.0 + exp(-gs)) * up[lid];
  }
}
