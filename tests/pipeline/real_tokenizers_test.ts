/**
 * The real EditMGT's two tokenizer kinds, on small synthetic vocabularies written by
 * tools/convert/tokenizers.py (tests/fixtures/tokenizers/README.md). Expected ids are worked out
 * from those vocabularies: CLIP ids 0-255 are the byte characters ("!" = 0, "a" = 64, "Ã" = 127),
 * 256-511 the same with "</w>", then merged tokens, <|startoftext|> = 612, <|endoftext|> = 613;
 * Gemma ids 0-6 are <pad> <eos> <bos> <unk> <mask> <start_of_turn> <end_of_turn>, 7-262 the byte
 * tokens <0x00>-<0xFF> (<0xC3> = 7 + 0xC3 = 202), then characters and merged tokens.
 */
import assert from "node:assert/strict";
import {
  alignOffsets,
  loadTokenizer,
  type TextLayout,
  tokenizeText,
} from "../../src/pipeline/tokenize.ts";

const fixtures = new URL("../fixtures/tokenizers/", import.meta.url);
const readJson = async (path: string) =>
  JSON.parse(await Deno.readTextFile(new URL(path, fixtures)));

const clip = loadTokenizer(await readJson("clip/tokenizer.json"));
const gemma = loadTokenizer(await readJson("gemma/tokenizer.json"));
const CLIP_LAYOUT: TextLayout = { length: 77, padTokenId: 0, padSide: "right" };
const GEMMA_LAYOUT: TextLayout = { length: 256, padTokenId: 0, padSide: "left" };
const SOT = 612, EOT = 613, BOS = 2;

const pads = (count: number) => new Array<number>(count).fill(0);
const spans = (text: string, offsets: readonly [number, number][]) =>
  offsets.map(([start, end]) => text.slice(start, end));

Deno.test("CLIP lowercases, collapses whitespace and ends each word with a </w> token", () => {
  const text = "  Make   the RED\tcircle\n BLUE  ";
  const tokens = tokenizeText(clip, text, CLIP_LAYOUT);
  const content = clip.encode(text, { add_special_tokens: false }).tokens;
  assert.deepEqual(content, ["make</w>", "the</w>", "red</w>", "cir", "cle</w>", "blue</w>"]);
  // make</w> 514, the</w> 536, red</w> 550, cir 574, cle</w> 576, blue</w> 556
  assert.deepEqual(Array.from(tokens.unpadded), [SOT, 514, 536, 550, 574, 576, 556, EOT]);
  assert.deepEqual(spans(text, tokens.offsets.slice(1, 7)), [
    "Make",
    "the",
    "RED",
    "cir",
    "cle",
    "BLUE",
  ]);
});

Deno.test("CLIP adds <|startoftext|> and <|endoftext|> and right-pads to 77 with the pad id", () => {
  const tokens = tokenizeText(clip, "make the red circle blue", CLIP_LAYOUT);
  assert.equal(tokens.ids.length, 77);
  assert.deepEqual(Array.from(tokens.ids), [SOT, 514, 536, 550, 574, 576, 556, EOT, ...pads(69)]);
  assert.deepEqual(tokens.special.slice(0, 9), [
    true,
    false,
    false,
    false,
    false,
    false,
    false,
    true,
    true,
  ]);
  assert.equal(tokens.truncated, false);
});

Deno.test("CLIP's pad token '!' (OpenCLIP's id 0) is also how '!' in the text is encoded", () => {
  const tokens = tokenizeText(clip, "put a purple hat on the cat!", CLIP_LAYOUT);
  // put</w> 534, a</w> 320, pur 568, ple</w> 569, hat</w> 593, on</w> 548, the</w> 536, cat</w> 589, ! 0
  assert.deepEqual(Array.from(tokens.unpadded), [
    SOT,
    534,
    320,
    568,
    569,
    593,
    548,
    536,
    589,
    0,
    EOT,
  ]);
  assert.equal(tokens.special[9], false);
});

Deno.test("CLIP truncation cuts content from the end and keeps <|endoftext|> last", () => {
  const text = "make the red circle blue ".repeat(20);
  const tokens = tokenizeText(clip, text, CLIP_LAYOUT);
  const sentence = [514, 536, 550, 574, 576, 556];
  const content = Array.from({ length: 75 }, (_, i) => sentence[i % sentence.length]);
  assert.deepEqual(Array.from(tokens.ids), [SOT, ...content, EOT]);
  assert.equal(tokens.truncated, true);
  assert.deepEqual(tokens.offsets[76], [0, 0]);
});

Deno.test("CLIP byte-level tokens of é and of an emoji span their character", () => {
  const cafe = tokenizeText(clip, "make the café orange", CLIP_LAYOUT);
  // caf 611, Ã 127 and ©</w> 358 (the two UTF-8 bytes of é), or 570, ange</w> 572
  assert.deepEqual(Array.from(cafe.unpadded), [SOT, 514, 536, 611, 127, 358, 570, 572, EOT]);
  assert.deepEqual(spans(cafe.text, cafe.offsets.slice(3, 8)), ["caf", "é", "é", "or", "ange"]);
  const cat = tokenizeText(clip, "add a 🐱 to the background", CLIP_LAYOUT);
  // ð 172, Ł 253, Ĳ 238, ±</w> 365: the bytes F0 9F 90 B1
  assert.deepEqual(Array.from(cat.unpadded.slice(3, 7)), [172, 253, 238, 365]);
  assert.deepEqual(cat.offsets.slice(3, 7), [[6, 8], [6, 8], [6, 8], [6, 8]]);
});

Deno.test("Gemma marks spaces with ▁, puts <bos> first and left-pads to 256 with 0", () => {
  const text = "make the red circle blue";
  assert.deepEqual(gemma.encode(text, { add_special_tokens: false }).tokens, [
    "make",
    "\u2581the",
    "\u2581red",
    "\u2581cir",
    "cle",
    "\u2581blue",
  ]);
  const tokens = tokenizeText(gemma, text, GEMMA_LAYOUT);
  assert.equal(tokens.ids.length, 256);
  // make 338, ▁the 378, ▁red 394, ▁cir 422, cle 424, ▁blue 402
  assert.deepEqual(Array.from(tokens.ids), [...pads(249), BOS, 338, 378, 394, 422, 424, 402]);
  assert.deepEqual(tokens.special.slice(248, 251), [true, true, false]);
  assert.deepEqual(spans(text, tokens.offsets.slice(250)), [
    "make",
    "the",
    "red",
    "cir",
    "cle",
    "blue",
  ]);
});

Deno.test("Gemma is case-sensitive: an unknown capitalised word falls back to its letters", () => {
  const tokens = tokenizeText(gemma, "Make the red circle blue", GEMMA_LAYOUT);
  // M 302, a 264, k 274, e 268
  assert.deepEqual(Array.from(tokens.unpadded), [BOS, 302, 264, 274, 268, 378, 394, 422, 424, 402]);
});

Deno.test("Gemma byte fallback: é and an emoji become <0x..> tokens that span their character", () => {
  const cafe = tokenizeText(gemma, "make the café orange", GEMMA_LAYOUT);
  // ▁caf 462, <0xC3> 202, <0xA9> 176, ▁or 417, ange 420
  assert.deepEqual(Array.from(cafe.unpadded), [BOS, 338, 378, 462, 202, 176, 417, 420]);
  assert.deepEqual(spans(cafe.text, cafe.offsets.slice(251)), ["caf", "é", "é", "or", "ange"]);
  const cat = tokenizeText(gemma, "add a 🐱 to the background", GEMMA_LAYOUT);
  // add 361, ▁a 357, ▁ 263, <0xF0> 247, <0x9F> 166, <0x90> 151, <0xB1> 184, ▁to 390
  assert.deepEqual(Array.from(cat.unpadded.slice(0, 9)), [
    BOS,
    361,
    357,
    263,
    247,
    166,
    151,
    184,
    390,
  ]);
  assert.deepEqual(cat.offsets.slice(247, 252), [[5, 6], [6, 8], [6, 8], [6, 8], [6, 8]]);
});

Deno.test("Gemma whitespace tokens (▁, ▁▁, a literal tab) span the whitespace they stand for", () => {
  const text = "make  the\tred";
  assert.deepEqual(alignOffsets(text, ["make", "\u2581\u2581", "the", "\t", "red"]), [
    [0, 4],
    [4, 6],
    [6, 9],
    [9, 10],
    [10, 13],
  ]);
  const spaced = tokenizeText(gemma, "  Make   the RED\tcircle\n BLUE  ", GEMMA_LAYOUT);
  const content = spaced.offsets.filter((_, i) => !spaced.special[i]);
  assert.deepEqual(spans(spaced.text, content.slice(0, 9)), [
    " ",
    " ",
    "M",
    "a",
    "k",
    "e",
    " ",
    " ",
    "the",
  ]);
});

Deno.test("Gemma truncation keeps <bos> and cuts content from the end, leaving no padding", () => {
  const text = "make" + " the red circle blue".repeat(60);
  const tokens = tokenizeText(gemma, text, GEMMA_LAYOUT);
  const sentence = [378, 394, 422, 424, 402];
  const content = [338, ...Array.from({ length: 254 }, (_, i) => sentence[i % sentence.length])];
  assert.deepEqual(Array.from(tokens.ids), [BOS, ...content]);
  assert.equal(tokens.truncated, true);
});

Deno.test("both fixtures encode every case exactly as the Python writer's reference encoder", async () => {
  const cases = await readJson("cases.json");
  for (const [kind, tokenizer] of [["clip", clip], ["gemma", gemma]] as const) {
    const { layout } = cases[kind];
    for (const { text, ids, tokens } of cases[kind].cases) {
      assert.deepEqual(tokenizer.encode(text, { add_special_tokens: true }).tokens, tokens, text);
      const padded = tokenizeText(tokenizer, text, {
        length: layout.max_length,
        padTokenId: layout.pad_token_id,
        padSide: layout.pad_side,
      });
      assert.deepEqual(Array.from(padded.ids), ids, `${kind}: ${text}`);
    }
  }
});
