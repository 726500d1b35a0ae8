// matmul — out[t, row_base + r] = Σ_k x[t, k] · W[r, k], tiled for prefill and batched decode.
//
// Dispatch: (ceil(rows / TR), ceil(n / TN)) workgroups of 64 threads; each computes a TR × TN tile
// (weight rows × tokens). Per 32-value group along k, threads 0..TR−1 decode one weight row's group
// each (load_group) into workgroup memory and threads TR..63 load the TN tokens' activations, so each
// weight value is decoded once per TN tokens and each activation read once per TR rows. Thread `lid`
// then accumulates row lid % TR against tokens (lid / TR) · 8 .. + 8.
//
// Bindings:
//   p     Params { rows, groups, cols4, row_base, out_stride, n } (see matvec.wgsl)
//   x     [n, cols4] vec4<f32> activations (read); values past cols read as 0
//   out   [n, out_stride] f32 (write)
//   w_*   the chunk's weight sections (read), see kernels/weights/
const TR: u32 = 32u; // weight rows per tile
const TN: u32 = 16u; // tokens per tile: (64 / TR) thread halves × 8 tokens

var<workgroup> wt: array<array<vec4<f32>, 8>, TR>; // [TR rows][32 values]
var<workgroup> xt: array<array<vec4<f32>, 8>, TN>; // [TN tokens][32 values]

@compute @workgroup_size(64)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.x * TR;
  let tok0 = wid.y * TN;
  let r = lid % TR;
  let half = lid / TR;
  var acc: array<f32, 8>;
  for (var g = 0u; g < p.groups; g++) {
    if (lid < TR) {
      let row = row0 + lid;
      if (row < p.rows) {
        wt[lid] = load_group(row, g);
      } else {
        wt[lid] = array<vec4<f32>, 8>();
      }
    } else {
      // 32 loader threads × 4 vec4 = TN tokens × 8 vec4
      for (var j = 0u; j < 4u; j++) {
        let e = (lid - TR) * 4u + j;
        let tok = tok0 + e / 8u;
        let q = g * 8u + e % 8u;
        var v = vec4<f32>(0.0);
        if (tok < p.n && q < p.cols4) {
          v = x[tok * p.cols4 + q];
        }
        xt[e / 8u][e % 8u] = v;
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < 8u; k++) {
      let w = wt[r][k];
      for (var j = 0u; j < 8u; j++) {
        acc[j] += dot(w, xt[half * 8u + j][k]);
      }
    }
    workgroupBarrier();
  }
  let row = row0 + r;
  if (row < p.rows) {
    for (var j = 0u; j < 8u; j++) {
      let tok = tok0 + half * 8u + j;
      if (tok < p.n) {
        out[tok * p.out_stride + p.row_base + row] = acc[j];
      }
    }
  }
}
