/** Number of values in a tensor of GGUF dims (dims[0] is the row length). */
export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) count *= d;
  return count;
}
