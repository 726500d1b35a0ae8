// matvec_rows — snippet (no entry point) shared by `matvec` and `gate_up_silu`: the two halves of a
// ROWS-row dot product split over the threads of a workgroup:
//   load_x_group(xbase, g) = x[xbase + 8g .. xbase + 8g + 8) as 8 vec4<f32>, values past cols4 read as 0
//   wg_sum_rows(acc, lid)[r] = Σ over the WG threads of acc[r], for each r < ROWS
// A thread loads activation group g once (load_x_group) and dots it with every row's group g; the
// workgroup then adds the WG per-thread partial sums of each row (wg_sum_rows, a tree reduction).
//
// kernels/mod.ts appends this file to each including kernel (WGSL module-scope declarations may come in
// any order, so the kernel's header stays first). It declares the workgroup array partial (WG · ROWS
// f32) and the functions load_x_group and wg_sum_rows. It expects from the including kernel:
//   constants  WG (threads per workgroup, a power of two), ROWS (rows per workgroup, at most WG)
//   p          Params with cols4 (activation row length in vec4s)
//   x          [n, cols4] vec4<f32> activations (read by load_x_group)
// wg_sum_rows holds workgroup barriers: call it from uniform control flow, in every thread of the
// workgroup. It ends in a barrier, so it may be called again (e.g. once per weight) straight away.
var<workgroup> partial: array<f32, WG * ROWS>; // [ROWS][WG] per-thread partial sums

fn load_x_group(xbase: u32, g: u32) -> array<vec4<f32>, 8> {
  var xv: array<vec4<f32>, 8>;
  for (var k = 0u; k < 8u; k++) {
    if (g * 8u + k < p.cols4) {
      xv[k] = x[xbase + g * 8u + k];
    }
  }
  return xv;
}

fn wg_sum_rows(acc: array<f32, ROWS>, lid: u32) -> array<f32, ROWS> {
  for (var r = 0u; r < ROWS; r++) {
    partial[r * WG + lid] = acc[r];
  }
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      for (var r = 0u; r < ROWS; r++) {
        partial[r * WG + lid] += partial[r * WG + lid + stride];
      }
    }
    workgroupBarrier();
  }
  var sums: array<f32, ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    sums[r] = partial[r * WG];
  }
  workgroupBarrier(); // partial is rewritten by the next call
  return sums;
}
