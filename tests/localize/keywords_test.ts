import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { keywordRows, type TokenizedText } from "../../src/localize/mod.ts";

/**
 * A word-piece-like encoding of `text`: <bos>, then each word split into pieces of at most 4
 * characters (so "umbrella" becomes "umbr" "ella"), then pad tokens up to `length`.
 */
function encode(text: string, length = 16): TokenizedText {
  const offsets: [number, number][] = [[0, 0]];
  for (const match of text.matchAll(/\S+/g)) {
    for (let start = match.index; start < match.index + match[0].length; start += 4) {
      offsets.push([start, Math.min(start + 4, match.index + match[0].length)]);
    }
  }
  const special = offsets.map((_, i) => i === 0);
  while (offsets.length < length) {
    offsets.push([0, 0]);
    special.push(true);
  }
  return { text, ids: offsets.map((_, i) => 100 + i), offsets, special };
}

function pieces(tokens: TokenizedText, rows: ArrayLike<number> | "all"): string[] {
  assert.notEqual(rows, "all");
  return Array.from(rows as ArrayLike<number>, (row) => tokens.text.slice(...tokens.offsets[row]));
}

Deno.test("keywords drop special and pad tokens, stop words and edit verbs", () => {
  const tokens = encode("Please change the red umbrella into a blue one.");
  assert.deepEqual(pieces(tokens, keywordRows(tokens)), ["red", "umbr", "ella", "blue", "one."]);
});

Deno.test("inflected edit verbs are dropped too", () => {
  const tokens = encode("Replacing the cat; removed dog, turns sky");
  assert.deepEqual(pieces(tokens, keywordRows(tokens)), ["cat;", "dog,", "sky"]);
});

Deno.test("a focus phrase selects its tokens by character offsets, case-insensitively", () => {
  const tokens = encode("make the RED umbrella blue");
  assert.deepEqual(pieces(tokens, keywordRows(tokens, { focus: "red umbrella" })), [
    "RED",
    "umbr",
    "ella",
  ]);
  assert.deepEqual(pieces(tokens, keywordRows(tokens, { focus: "brel" })), ["umbr", "ella"]);
});

Deno.test("a focus phrase that is not in the instruction is an invalid_option error", () => {
  const tokens = encode("make the umbrella blue");
  assert.throws(() => keywordRows(tokens, { focus: "car" }), (error) => {
    assert.ok(isEditMGTError(error, "invalid_option"));
    assert.equal(error.details?.option, "focus");
    return true;
  });
  assert.throws(() => keywordRows(tokens, { focus: "  " }), { code: "invalid_option" });
});

Deno.test('rows "all" keeps upstream behaviour', () => {
  assert.equal(keywordRows(encode("make it blue"), { rows: "all" }), "all");
});

Deno.test("with only stop words and verbs left, every real token is used", () => {
  const tokens = encode("make it so");
  assert.deepEqual(pieces(tokens, keywordRows(tokens)), ["make", "it", "so"]);
  assert.equal(keywordRows(encode("")), "all");
});

Deno.test("arrays of different lengths are an invalid_input error", () => {
  const tokens = encode("make it blue");
  assert.throws(() => keywordRows({ ...tokens, special: [true] }), { code: "invalid_input" });
});
