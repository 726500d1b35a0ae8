// copy — dst[j] = src[j]: the bandwidth roofline probe of bench/gpu.ts (reads and writes every byte once).
//
// Dispatch: one thread per vec4, WG threads per workgroup, linearised over (x, y).
//
// Bindings:
//   p     Params { len }: vec4 count
//   src   [len] vec4<f32> (read)
//   dst   [len] vec4<f32> (write)
@compute @workgroup_size(WG)
fn copy(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid;
  if (j >= p.len) {
    return;
  }
  dst[j] = src[j];
}
