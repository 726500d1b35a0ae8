// penalize — llama.cpp's repetition, frequency and presence penalties on one row of logits, in place:
//   for each distinct id t among hist[hist_off .. hist_off + count), c = its occurrences there:
//     x[t] = (x[t] ≤ 0 ? x[t] · rep : x[t] / rep) − c · freq − pres
//
// Dispatch: one workgroup of WG threads. Thread lid takes history entries e = lid, lid + WG, …; only the
// entry that is its id's first occurrence in the window counts the id's occurrences and rewrites x[t],
// so each distinct id is rewritten by exactly one thread (no atomics, no race on x). O(count² / WG)
// comparisons: a few thousand for llama.cpp's default window of 64 tokens.
//
// Bindings:
//   p     Params { len, hist_off, count, rep, freq, pres }
//   x     [len] f32 logits (read_write)
//   hist  u32 token ids (read): the sequence so far; the penalty window starts at hist_off
@compute @workgroup_size(WG)
fn penalize(@builtin(local_invocation_index) lid: u32) {
  for (var e = lid; e < p.count; e += WG) {
    let t = hist[p.hist_off + e];
    if (t >= p.len) {
      continue; // ids outside the vocabulary are ignored, as on the CPU
    }
    var first = true;
    var c = 0u;
    for (var f = 0u; f < p.count; f++) {
      if (hist[p.hist_off + f] == t) {
        if (f < e) {
          first = false;
          break;
        }
        c++;
      }
    }
    if (first) {
      var l = x[t];
      if (p.rep != 1.0) {
        l = select(l / p.rep, l * p.rep, l <= 0.0);
      }
      x[t] = l - f32(c) * p.freq - p.pres;
    }
  }
}
