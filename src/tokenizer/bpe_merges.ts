/**
 * The ranked merge table of a byte-level BPE vocabulary, indexed for the merge loop.
 *
 * Merges are looked up by the token ids of the two sides (a numeric key, no string building), which
 * covers every merge of a well-formed vocabulary. A side that is not a token — possible only when a
 * vocabulary lists merges whose parts it lacks — falls back to the textual "left right" table, built on
 * first need, so such vocabularies still behave exactly like llama.cpp's string-keyed table.
 */

/** Rank of the first merge of each pair; later duplicates never apply (llama.cpp keeps the first). */
export class BpeMerges {
  private readonly byIds = new Map<number, number>();
  /** [ranks] id of the merged token, -1 when the merged text is not a token */
  private readonly resultIds: Int32Array;
  private byText?: Map<string, number>;

  constructor(
    private readonly merges: readonly string[],
    tokenToId: ReadonlyMap<string, number>,
    private readonly vocabSize: number,
  ) {
    this.resultIds = new Int32Array(merges.length).fill(-1);
    for (let rank = 0; rank < merges.length; rank++) {
      const m = merges[rank];
      // The pair splits at the first space after the first character.
      const at = m.indexOf(" ", 1);
      if (at < 0) continue;
      const left = tokenToId.get(m.slice(0, at));
      const right = tokenToId.get(m.slice(at + 1));
      if (left === undefined || right === undefined) continue;
      const key = left * vocabSize + right;
      if (!this.byIds.has(key)) this.byIds.set(key, rank);
      this.resultIds[rank] = tokenToId.get(m.slice(0, at) + m.slice(at + 1)) ?? -1;
    }
  }

  /** Number of merges listed. */
  get size(): number {
    return this.merges.length;
  }

  /** Rank of merging tokens `left` and `right`, or undefined when they never merge. */
  rankOfIds(left: number, right: number): number | undefined {
    return this.byIds.get(left * this.vocabSize + right);
  }

  /** Rank of merging two texts (either of which need not be a token), or undefined. */
  rankOfTexts(left: string, right: string): number | undefined {
    if (!this.byText) {
      this.byText = new Map();
      for (let rank = 0; rank < this.merges.length; rank++) {
        const m = this.merges[rank];
        if (m.indexOf(" ", 1) >= 0 && !this.byText.has(m)) this.byText.set(m, rank);
      }
    }
    return this.byText.get(left + " " + right);
  }

  /** Token id the merge of rank `rank` produces, -1 when its text is not a token. */
  resultId(rank: number): number {
    return this.resultIds[rank];
  }
}
