/**
 * Keyword rows on the Gemma token axis (the context encoder of the real EditMGT): rows are
 * positions of the left-padded Gemma encoding, chosen by character offsets. Upstream instead
 * indexed Gemma rows with CLIP token positions, which mostly land on <pad> rows (DESIGN 6).
 */
import assert from "node:assert/strict";
import { keywordRows } from "../../src/localize/keywords.ts";
import { loadTokenizer, tokenizeText } from "../../src/pipeline/tokenize.ts";

const fixtures = new URL("../fixtures/tokenizers/", import.meta.url);
const load = async (kind: string) =>
  loadTokenizer(JSON.parse(await Deno.readTextFile(new URL(`${kind}/tokenizer.json`, fixtures))));
const gemma = await load("gemma");
const clip = await load("clip");

const gemmaTokens = (text: string) =>
  tokenizeText(gemma, text, { length: 256, padTokenId: 0, padSide: "left" });
const rows = (selected: ReturnType<typeof keywordRows>) => {
  assert.notEqual(selected, "all");
  return Array.from(selected as Int32Array);
};

Deno.test("Gemma keyword rows sit after the left padding, not at CLIP's positions", () => {
  const text = "make the red circle blue";
  const tokens = gemmaTokens(text);
  // 249 pads, <bos> 249, make 250, ▁the 251, ▁red 252, ▁cir 253, cle 254, ▁blue 255
  assert.deepEqual(rows(keywordRows(tokens)), [252, 253, 254, 255]);
  const clipRows = rows(keywordRows(tokenizeText(clip, text, { length: 77, padTokenId: 0 })));
  assert.deepEqual(clipRows, [3, 4, 5, 6]);
  assert.ok(clipRows.every((row) => tokens.ids[row] === 0), "CLIP positions are Gemma pad rows");
});

Deno.test("every BPE piece of a split word is a keyword row", () => {
  const tokens = gemmaTokens("replace the umbrella with a yellow triangle");
  // <bos> 243, re 244, place 245, ▁the 246, ▁um 247, bre 248, lla 249, ▁with 250, ▁a 251,
  // ▁yel 252, low 253, ▁tri 254, angle 255
  assert.deepEqual(rows(keywordRows(tokens)), [247, 248, 249, 252, 253, 254, 255]);
});

Deno.test("byte-fallback tokens belong to the word of their character", () => {
  const cafe = gemmaTokens("make the café orange");
  // ▁caf 251, <0xC3> 252, <0xA9> 253, ▁or 254, ange 255
  assert.deepEqual(rows(keywordRows(cafe)), [251, 252, 253, 254, 255]);
  const cat = gemmaTokens("add a 🐱 to the background");
  // ▁ 247 (the space before the emoji), <0xF0> <0x9F> <0x90> <0xB1> 248-251, ▁back 254, ground 255
  assert.deepEqual(rows(keywordRows(cat)), [248, 249, 250, 251, 254, 255]);
});

Deno.test("a focus phrase selects its Gemma rows by offsets, pieces and bytes included", () => {
  assert.deepEqual(
    rows(keywordRows(gemmaTokens("make the red circle blue"), { focus: "RED circle" })),
    [
      252,
      253,
      254,
    ],
  );
  assert.deepEqual(rows(keywordRows(gemmaTokens("make the café orange"), { focus: "café" })), [
    251,
    252,
    253,
  ]);
});

Deno.test("a truncated instruction keeps keyword rows only for the tokens that were kept", () => {
  const tokens = gemmaTokens("make" + " the red circle blue".repeat(60));
  const selected = rows(keywordRows(tokens));
  assert.equal(selected[0], 3);
  assert.equal(selected.at(-1), 255);
  assert.ok(selected.every((row) => row > 0 && tokens.offsets[row][1] > tokens.offsets[row][0]));
});
