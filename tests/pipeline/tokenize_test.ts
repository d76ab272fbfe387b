import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { keywordRows } from "../../src/localize/keywords.ts";
import { alignOffsets, loadTokenizer, tokenizeText } from "../../src/pipeline/tokenize.ts";

const tinyRandom = loadTokenizer(
  JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/tiny-random/tokenizer.json", import.meta.url)),
  ),
);

/** A WordLevel tokenizer with a template post-processor adding <s> ... </s>. */
function wordLevel(withTemplate: boolean, unknown = true) {
  return loadTokenizer({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 0,
        content: "<pad>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
      {
        id: 1,
        content: "<s>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
      {
        id: 2,
        content: "</s>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
    ],
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Whitespace" },
    post_processor: withTemplate
      ? {
        type: "TemplateProcessing",
        single: [
          { SpecialToken: { id: "<s>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
        ],
        pair: [],
        special_tokens: {
          "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] },
          "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] },
        },
      }
      : null,
    decoder: null,
    model: {
      type: "WordLevel",
      vocab: { "<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, red: 4, circle: 5, blue: 6, make: 7 },
      ...(unknown ? { unk_token: "<unk>" } : {}),
    },
  });
}

Deno.test("tokens are padded on the right with the pad id and keep their character spans", () => {
  const tokens = tokenizeText(tinyRandom, "Make the RED circle", { length: 8, padTokenId: 0 });
  assert.deepEqual(Array.from(tokens.ids), [2, 3, 4, 7, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(tokens.unpadded), [2, 3, 4, 7]);
  assert.deepEqual(tokens.offsets.slice(0, 5), [[0, 4], [5, 8], [9, 12], [13, 19], [0, 0]]);
  assert.deepEqual(Array.from(tokens.special), [
    false,
    false,
    false,
    false,
    true,
    true,
    true,
    true,
  ]);
  assert.equal(tokens.truncated, false);
});

Deno.test("left padding puts the pads first, so rows still line up with positions", () => {
  const tokens = tokenizeText(tinyRandom, "red circle", {
    length: 5,
    padTokenId: 9,
    padSide: "left",
  });
  assert.deepEqual(Array.from(tokens.ids), [9, 9, 9, 4, 7]);
  assert.deepEqual(tokens.offsets[3], [0, 3]);
  assert.deepEqual(Array.from(keywordRows(tokens) as Int32Array), [3, 4]);
});

Deno.test("unknown words become the unknown token with the word's span; punctuation is its own token", () => {
  const tokens = tokenizeText(tinyRandom, "make the zebra, blue", { length: 8, padTokenId: 0 });
  assert.deepEqual(Array.from(tokens.unpadded), [2, 3, 1, 1, 6]);
  assert.deepEqual(tokens.offsets.slice(0, 5), [[0, 4], [5, 8], [9, 14], [14, 15], [16, 20]]);
});

Deno.test("truncation drops content tokens from the end and keeps the special tokens", () => {
  const tokenizer = wordLevel(true);
  const full = tokenizeText(tokenizer, "make red circle blue", { length: 8, padTokenId: 0 });
  assert.deepEqual(Array.from(full.ids), [1, 7, 4, 5, 6, 2, 0, 0]);
  assert.deepEqual(full.special.slice(0, 6), [true, false, false, false, false, true]);
  const cut = tokenizeText(tokenizer, "make red circle blue", { length: 4, padTokenId: 0 });
  assert.deepEqual(Array.from(cut.ids), [1, 7, 4, 2]);
  assert.deepEqual(cut.offsets, [[0, 0], [0, 4], [5, 8], [0, 0]]);
  assert.equal(cut.truncated, true);
});

Deno.test("a length too short for the special tokens alone is an invalid_input error", () => {
  assert.throws(
    () => tokenizeText(wordLevel(true), "red", { length: 1, padTokenId: 0 }),
    (error) => isEditMGTError(error, "invalid_input"),
  );
});

Deno.test("a vocabulary without an unknown token refuses words it lacks with invalid_input", () => {
  const tokenizer = wordLevel(false, false);
  assert.deepEqual(
    Array.from(tokenizeText(tokenizer, "red circle", { length: 3, padTokenId: 0 }).ids),
    [4, 5, 0],
  );
  assert.throws(
    () => tokenizeText(tokenizer, "red zebra", { length: 3, padTokenId: 0 }),
    (error) => isEditMGTError(error, "invalid_input") && error.message.includes("zebra"),
  );
});

Deno.test("offsets are recovered for byte-level BPE, SentencePiece and WordPiece token strings", () => {
  const text = "Make the red circle";
  assert.deepEqual(alignOffsets(text, ["Make", "\u0120the", "\u0120red", "\u0120cir", "cle"]), [
    [0, 4],
    [5, 8],
    [9, 12],
    [13, 16],
    [16, 19],
  ]);
  assert.deepEqual(alignOffsets(text, ["\u2581Make", "\u2581the", "\u2581red", "\u2581circle"]), [
    [0, 4],
    [5, 8],
    [9, 12],
    [13, 19],
  ]);
  assert.deepEqual(alignOffsets(text, ["make", "the", "red", "ci", "##rc", "##le"]), [
    [0, 4],
    [5, 8],
    [9, 12],
    [13, 15],
    [15, 17],
    [17, 19],
  ]);
  assert.deepEqual(alignOffsets("a \u00e9t\u00e9 b", ["a", "<0xC3>", "b"]), [[0, 1], [2, 5], [
    6,
    7,
  ]]);
});
