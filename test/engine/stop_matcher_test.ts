import assert from "node:assert/strict";
import fc from "fast-check";
import { shouldStop, StopMatcher } from "../../src/engine/stop_matcher.ts";

interface Case {
  readonly what: string;
  readonly stops: string[];
  readonly pieces: string[];
  /** what each push returns */
  readonly emitted: string[];
  readonly stop?: string;
  /** what flush returns at the end */
  readonly tail: string;
}

const CASES: Case[] = [
  { what: "no stop strings pass text through", stops: [], pieces: ["a", "b"], emitted: ["a", "b"], tail: "" },
  {
    what: "a stop string across piece boundaries",
    stops: ["###"],
    pieces: ["Hello #", "#", "# world"],
    emitted: ["Hello ", "", ""],
    stop: "###",
    tail: "",
  },
  {
    what: "overlapping prefixes are held, then released or matched",
    stops: ["abcd"],
    pieces: ["ab", "abc", "abcd"],
    emitted: ["", "ab", "abc"],
    stop: "abcd",
    tail: "",
  },
  {
    what: "a false alarm is released when the next piece breaks the prefix",
    stops: ["###"],
    pieces: ["#", "#", "x"],
    emitted: ["", "", "##x"],
    tail: "",
  },
  {
    what: "the first of several stop strings to appear wins",
    stops: ["</s>", "\n\n"],
    pieces: ["a\n", "\nb</s>"],
    emitted: ["a", ""],
    stop: "\n\n",
    tail: "",
  },
  {
    what: "when two complete in the same piece, the one starting first wins",
    stops: ["bc", "abcd"],
    pieces: ["x", "abcd"],
    emitted: ["x", ""],
    stop: "abcd",
    tail: "",
  },
  {
    what: "a stop at the very start emits nothing",
    stops: ["Hi"],
    pieces: ["Hi there"],
    emitted: [""],
    stop: "Hi",
    tail: "",
  },
  {
    what: "a possible prefix left at the end comes out of flush",
    stops: ["###"],
    pieces: ["a#", "#"],
    emitted: ["a", ""],
    tail: "##",
  },
  {
    what: "after a stop every push is empty",
    stops: ["x"],
    pieces: ["ax", "more"],
    emitted: ["a", ""],
    stop: "x",
    tail: "",
  },
  { what: "empty stop strings are ignored", stops: ["", "zz"], pieces: ["ab"], emitted: ["ab"], tail: "" },
  {
    what: "a surrogate pair is never split between emitted and held text",
    stops: ["\uDE00!"], // a malformed stop beginning with the low half of 😀
    pieces: ["a😀"],
    emitted: ["a"],
    tail: "😀",
  },
];

for (const c of CASES) {
  Deno.test(`stop matcher: ${c.what}`, () => {
    const m = new StopMatcher(c.stops);
    const results = c.pieces.map((p) => m.push(p));
    assert.deepEqual(results.map((r) => r.text), c.emitted);
    assert.equal(m.stopped, c.stop !== undefined);
    assert.equal(m.stopString, c.stop);
    if (c.stop !== undefined) assert.equal(results.find((r) => r.stopped)?.stop, c.stop);
    assert.equal(m.flush(), c.tail);
  });
}

/** The oracle: stop at the first piece whose end completes a stop; among those, the earliest start. */
function expectedOutput(pieces: string[], stops: string[]): string {
  const live = stops.filter((s) => s.length > 0);
  let text = "";
  for (const p of pieces) {
    text += p;
    const starts = live.map((s) => text.indexOf(s)).filter((i) => i >= 0);
    if (starts.length > 0) return text.slice(0, Math.min(...starts));
  }
  return text;
}

Deno.test("stop matcher: emitted text equals the text before the stop for any split (seeded)", () => {
  const alphabet = fc.constantFrom("a", "b", "#", "\n", "é");
  const piece = fc.string({ unit: alphabet, maxLength: 5 });
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 12 }),
      fc.array(fc.string({ unit: alphabet, maxLength: 4 }), { maxLength: 3 }),
      (pieces, stops) => {
        const m = new StopMatcher(stops);
        let out = "";
        for (const p of pieces) out += m.push(p).text;
        out += m.flush();
        assert.equal(out, expectedOutput(pieces, stops));
      },
    ),
    { seed: 4242, numRuns: 500 },
  );
});

Deno.test("shouldStop reports end-of-generation before the token budget", () => {
  const limits = { maxTokens: 3, isEndOfGeneration: (id: number) => id === 2 };
  assert.equal(shouldStop(5, 1, limits), undefined);
  assert.equal(shouldStop(5, 3, limits), "length");
  assert.equal(shouldStop(2, 1, limits), "end-of-generation");
  assert.equal(shouldStop(2, 3, limits), "end-of-generation");
});
