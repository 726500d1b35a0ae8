/**
 * Stop strings over streamed text, and the other reasons generation ends.
 *
 * Generated text arrives in pieces (one per token), and a stop string can span pieces: "###" may come
 * as "#", "##". `StopMatcher.push` therefore returns only the text that is certainly not part of a stop
 * string — it holds back the longest tail that could still grow into one — and, once a stop string is
 * complete, the text before it and `stopped: true`. The stop string itself is never emitted; when
 * several are complete at once, the one that starts first wins.
 *
 * @example
 * ```ts
 * const stop = new StopMatcher(["\n\nUser:"]);
 * stop.push("Hi!\n");    // { text: "Hi!", stopped: false }   ("\n" is held back)
 * stop.push("\nUser:");  // { text: "", stopped: true, stop: "\n\nUser:" }
 * ```
 */

/** Result of feeding one piece of text. */
export interface StopMatch {
  /** text that is safe to emit now (possibly "") */
  readonly text: string;
  /** true once a stop string has been seen; later pushes return "" */
  readonly stopped: boolean;
  /** the stop string that matched */
  readonly stop?: string;
}

/** Finds stop strings in a stream of text pieces. */
export class StopMatcher {
  private readonly stops: readonly string[];
  private held = "";
  private matched?: string;

  /** Empty stop strings are ignored (they would stop before any text). */
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** True when there is any stop string to look for. */
  get active(): boolean {
    return this.stops.length > 0;
  }

  /** True once a stop string has matched. */
  get stopped(): boolean {
    return this.matched !== undefined;
  }

  /** The stop string that matched, if any. */
  get stopString(): string | undefined {
    return this.matched;
  }

  /** Feeds the next piece; see the file comment. */
  push(piece: string): StopMatch {
    if (this.matched !== undefined) return { text: "", stopped: true, stop: this.matched };
    const buf = this.held + piece;
    // Earlier text was emitted only when it could not start a stop string, so searching held + piece
    // finds every match.
    let at = -1;
    let which: string | undefined;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (which !== undefined) {
      this.matched = which;
      this.held = "";
      return { text: buf.slice(0, at), stopped: true, stop: which };
    }
    let keep = this.pendingPrefixLength(buf);
    // Never split a surrogate pair between what is emitted and what is held.
    const cut = buf.length - keep;
    if (keep > 0 && cut > 0 && isHighSurrogate(buf.charCodeAt(cut - 1))) keep++;
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Ends the stream: returns the held-back text (nothing after a stop). */
  flush(): string {
    const rest = this.matched !== undefined ? "" : this.held;
    this.held = "";
    return rest;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop string. */
  private pendingPrefixLength(buf: string): number {
    let longest = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > longest; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Why generation ends, apart from stop strings (which StopMatcher reports). */
export type StopReason = "end-of-generation" | "length";

/**
 * Decides whether generation ends after `token`, the `generated`-th token (counting it).
 *
 * @example
 * ```ts
 * shouldStop(token, n, { maxTokens: 128, isEndOfGeneration: (id) => tokenizer.isEndOfGeneration(id) });
 * ```
 */
export function shouldStop(
  token: number,
  generated: number,
  limits: { readonly maxTokens: number; readonly isEndOfGeneration: (id: number) => boolean },
): StopReason | undefined {
  if (limits.isEndOfGeneration(token)) return "end-of-generation";
  if (generated >= limits.maxTokens) return "length";
  return undefined;
}
