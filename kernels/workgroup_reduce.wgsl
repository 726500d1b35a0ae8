// workgroup_reduce — snippet (no entry point): the maximum and the sum of one f32 per thread over the
// workgroup, by a tree reduction in workgroup memory (log2 WG halving steps):
//   wg_max(v, lid) = max over the WG threads of v,  wg_sum(v, lid) = Σ over the WG threads of v
// Both return the result to every thread as a uniform value (workgroupUniformLoad), so callers may
// branch or loop on it.
//
// kernels/mod.ts appends this file to each including kernel (WGSL module-scope declarations may come in
// any order, so the kernel's header stays first). It declares the workgroup array red (WG f32), free
// for the including kernel's own reductions between calls, and the functions wg_max and wg_sum.
// It expects from the including kernel:
//   constants  WG (threads per workgroup, a power of two)
// Both functions hold workgroup barriers: call them from uniform control flow, in every thread of the
// workgroup. They end in workgroupUniformLoad's barrier, so red may be rewritten as soon as they return.
var<workgroup> red: array<f32, WG>;

fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&red[0]);
}

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&red[0]);
}
