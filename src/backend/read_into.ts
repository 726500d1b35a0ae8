/**
 * The copy at the end of every backend's `read`: into the caller's buffer when it gives one (reused
 * every step), else into a new array the caller owns.
 *
 * @example
 * ```ts
 * const buffer = new Float32Array(8 * vocab);
 * const logits = copyOut(view.subarray(0, 2 * vocab), buffer); // buffer.subarray(0, 2 * vocab)
 * ```
 */

/** `read` was given an `into` buffer shorter than the values asked for. */
export class ReadBufferTooSmallError extends RangeError {
  override readonly name = "ReadBufferTooSmallError";
}

/** `make()`'s value as a resolved promise, or its exception as a rejected one (never a throw). */
export function settle<T>(make: () => T): Promise<T> {
  try {
    return Promise.resolve(make());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `values` copied into `into` (a view of its first values.length), or into a fresh array. */
export function copyOut(values: Float32Array, into?: Float32Array): Float32Array {
  if (!into) return values.slice();
  if (into.length < values.length) {
    throw new ReadBufferTooSmallError(`read of ${values.length} values into a buffer of ${into.length}`);
  }
  into.set(values);
  return into.subarray(0, values.length);
}
