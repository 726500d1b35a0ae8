/**
 * A one-producer, one-consumer async queue: the scheduler pushes generated pieces as each engine step
 * makes them, and the request handler reads them with `for await`. The producer never waits for the
 * consumer (a step serves many sequences and must not stall on one slow reader); a sequence emits at
 * most `max_tokens` items, so the buffer is bounded by the request itself.
 */

/** An AsyncIterable fed by {@link TokenChannel.push}, ended by `close` or `fail`. */
export class TokenChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private closed = false;
  private error: unknown;
  private failed = false;
  private iterating = false;

  /** Adds an item; ignored after close. */
  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  /** Ends the stream after the buffered items. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.settle();
  }

  /** Ends the stream with an error, raised after the buffered items. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.failed = true;
    this.error = error;
    this.settle();
  }

  /** Items pushed and not yet read. */
  get pending(): number {
    return this.items.length - this.head;
  }

  private settle(): void {
    if (!this.waiter || this.pending > 0) return;
    const { resolve, reject } = this.waiter;
    this.waiter = undefined;
    if (this.failed) reject(this.error);
    else resolve({ value: undefined, done: true });
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.pending > 0) {
      const value = this.items[this.head];
      this.items[this.head++] = undefined as T; // let it be collected
      if (this.head > 64 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) {
      return this.failed ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterating) throw new TypeError("a TokenChannel can be iterated only once");
    this.iterating = true;
    return {
      next: () => this.next(),
      return: () => {
        this.closed = true;
        this.items.length = 0;
        this.head = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
