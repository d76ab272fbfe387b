/**
 * Instruction tokenization for the text encoders: a `tokenizer.json` loaded with
 * `@huggingface/tokenizers`, special tokens added as the tokenizer's post-processor says,
 * truncated like the Rust `tokenizers` library (content first, special tokens kept) and padded
 * to the graph's fixed text length. Character offsets are recovered for every token, because
 * the localization keyword rows are chosen by offset (`keywordRows` in src/localize).
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { EditMGTError } from "../errors/mod.ts";
import type { TokenizedText } from "../localize/mod.ts";

/**
 * A loaded tokenizer, as far as {@linkcode tokenizeText} needs one: it encodes text to token ids
 * and token strings, with or without the special tokens its post-processor adds.
 * {@linkcode loadTokenizer} returns one (a `Tokenizer` of `@huggingface/tokenizers`); any object
 * with this `encode` serves.
 */
export interface TextTokenizer {
  /**
   * Encodes `text`: `ids[i]` is the id of the token whose string is `tokens[i]`. With
   * `add_special_tokens`, the post-processor's special tokens are added around the content.
   */
  encode(
    text: string,
    options: { add_special_tokens: boolean },
  ): { ids: readonly number[]; tokens: readonly string[] };
}

/** How one text encoder expects its `input_ids`: fixed length, pad id and pad side. */
export interface TextLayout {
  /** Number of positions T (manifest `text.length`). */
  length: number;
  /** Id written into pad positions. */
  padTokenId: number;
  /** Where padding goes. Default "right". */
  padSide?: "right" | "left";
}

/**
 * A tokenized instruction: the encoder's ids plus what keyword rows need. Position `i` of
 * `ids`, `offsets` and `special` is row `i` of the step graph's `text_attention`.
 */
export interface TextTokens extends TokenizedText {
  /** Token id per position, `length` long, padded on the layout's side. */
  ids: Int32Array;
  /** `[start, end)` character span of every position; special and pad tokens `[0, 0]`. */
  offsets: [number, number][];
  /** Whether each position is a special or pad token. */
  special: boolean[];
  /** The ids without padding (special tokens included), as text encoders take them. */
  unpadded: Int32Array;
  /** Whether content tokens were dropped to fit the length. */
  truncated: boolean;
}

/**
 * Creates a tokenizer from the parsed `tokenizer.json`. WordLevel models read their unknown
 * token from the tokenizer config in `@huggingface/tokenizers`, so it is passed on from the
 * model section.
 *
 * @throws {EditMGTError} `invalid_manifest` when the JSON is not a tokenizer the library reads.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "@editmgt/editmgt/pipeline";
 *
 * const json = JSON.parse(await Deno.readTextFile("models/editmgt-tiny/tokenizer.json"));
 * const tokenizer = loadTokenizer(json);
 * ```
 */
export function loadTokenizer(json: unknown): TextTokenizer {
  const model = (json as { model?: { unk_token?: unknown } } | null)?.model;
  const config = typeof model?.unk_token === "string" ? { unk_token: model.unk_token } : {};
  try {
    return new Tokenizer(json as object, config);
  } catch (cause) {
    throw new EditMGTError(
      "invalid_manifest",
      `tokenizer.json could not be loaded: ${cause instanceof Error ? cause.message : cause}`,
      { cause },
    );
  }
}

/**
 * Tokenizes `text` to exactly `layout.length` ids. Special tokens added by the post-processor
 * stay when the content is too long (only content tokens are cut, from the end), and pad
 * positions get `padTokenId`, offsets `[0, 0]` and `special: true`.
 *
 * @throws {EditMGTError} `invalid_input` when the tokenizer maps a piece of the text to no id
 * (a vocabulary without an unknown token), or the special tokens alone exceed the length.
 *
 * @example
 * ```ts
 * import { loadTokenizer, tokenizeText } from "@editmgt/editmgt/pipeline";
 *
 * const tokenizer = loadTokenizer({
 *   version: "1.0", truncation: null, padding: null, added_tokens: [],
 *   normalizer: { type: "Lowercase" }, pre_tokenizer: { type: "Whitespace" },
 *   post_processor: null, decoder: null,
 *   model: { type: "WordLevel", vocab: { "<pad>": 0, "<unk>": 1, red: 2, circle: 3 }, unk_token: "<unk>" },
 * });
 * const tokens = tokenizeText(tokenizer, "the Red circle", { length: 5, padTokenId: 0 });
 * console.log(tokens.ids); // Int32Array [1, 2, 3, 0, 0]
 * console.log(tokens.offsets[1]); // [4, 7]
 * ```
 */
export function tokenizeText(
  tokenizer: TextTokenizer,
  text: string,
  layout: TextLayout,
): TextTokens {
  const full = tokenizer.encode(text, { add_special_tokens: true });
  const content = tokenizer.encode(text, { add_special_tokens: false });
  const prefix = commonPrefixLength(full.ids, content.ids);
  const suffix = full.ids.length - prefix - content.ids.length;
  const room = layout.length - prefix - Math.max(0, suffix);
  if (suffix < 0 || room < 0) {
    throw new EditMGTError(
      "invalid_input",
      `the tokenizer adds ${full.ids.length - content.ids.length} special tokens, more than the ` +
        `text length ${layout.length} leaves room for`,
    );
  }
  const kept = Math.min(room, content.ids.length);
  const contentOffsets = alignOffsets(text, content.tokens);
  const ids: number[] = [];
  const offsets: [number, number][] = [];
  const special: boolean[] = [];
  const push = (id: number | undefined, offset: [number, number], isSpecial: boolean) => {
    if (id === undefined || !Number.isInteger(id)) {
      throw new EditMGTError(
        "invalid_input",
        `the tokenizer has no id for a piece of the instruction "${text.slice(...offset)}"; ` +
          "rephrase it with words the model knows",
      );
    }
    ids.push(id);
    offsets.push(offset);
    special.push(isSpecial);
  };
  for (let i = 0; i < prefix; i++) push(full.ids[i], [0, 0], true);
  for (let i = 0; i < kept; i++) push(content.ids[i], contentOffsets[i], false);
  for (let i = prefix + content.ids.length; i < full.ids.length; i++) {
    push(full.ids[i], [0, 0], true);
  }

  const padCount = layout.length - ids.length;
  const pads = {
    ids: new Array<number>(padCount).fill(layout.padTokenId),
    offsets: Array.from({ length: padCount }, (): [number, number] => [0, 0]),
    special: new Array<boolean>(padCount).fill(true),
  };
  const left = layout.padSide === "left";
  return {
    text,
    ids: Int32Array.from(left ? [...pads.ids, ...ids] : [...ids, ...pads.ids]),
    offsets: left ? [...pads.offsets, ...offsets] : [...offsets, ...pads.offsets],
    special: left ? [...pads.special, ...special] : [...special, ...pads.special],
    unpadded: Int32Array.from(ids),
    truncated: kept < content.ids.length,
  };
}

function commonPrefixLength(full: readonly number[], content: readonly number[]): number {
  if (content.length === 0) return full.length;
  for (let start = 0; start + content.length <= full.length; start++) {
    if (content.every((id, i) => full[start + i] === id)) return start;
  }
  return -1;
}

/** Marks that tokenizers put in token strings for a leading space or a word continuation. */
const SPACE_MARKS = /^(?:\u2581|\u0120|##)+|[\u2581\u0120]/gu;
/** Suffix that CLIP-style BPE puts on the last token of a word. */
const END_OF_WORD = /<\/w>$/u;
/** A byte-fallback token (SentencePiece, Gemma): one byte of the UTF-8 text. */
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/u;

/**
 * Byte-level BPE's alphabet (GPT-2, CLIP), reversed: the character that stands for each byte. Printable
 * Latin-1 bytes stand for themselves; the other 68 bytes, in order, for U+0100 onwards.
 */
const BYTE_LEVEL: ReadonlyMap<string, number> = (() => {
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
  const chars = new Map<string, number>();
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    chars.set(String.fromCharCode(printable(byte) ? byte : 256 + extra++), byte);
  }
  return chars;
})();

/** The bytes a token stands for, if it is a byte-fallback token or written in byte-level characters. */
function tokenBytes(token: string): number[] | null {
  const byte = BYTE_TOKEN.exec(token);
  if (byte !== null) return [parseInt(byte[1], 16)];
  const bytes = Array.from(token.replace(END_OF_WORD, ""), (char) => BYTE_LEVEL.get(char));
  return bytes.length > 0 && bytes.every((b) => b !== undefined) ? bytes as number[] : null;
}

/** How many bytes the UTF-8 sequence still lacks to end on a whole character. */
function missingBytes(bytes: readonly number[]): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    i += lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  }
  return i - bytes.length;
}

/**
 * Character spans of content tokens in `text`, recovered by matching each token's string
 * (space marks and `</w>` removed) case-insensitively from where the previous token ended.
 *
 * - Byte tokens (`<0xC3>`, or byte-level characters such as CLIP's `Ã©</w>`) are decoded as UTF-8
 *   together with the tokens that complete their character; each spans the characters its bytes
 *   belong to (both bytes of "é" span "é", the four of an emoji span the emoji).
 * - A whitespace token (`▁`, `▁▁`, a literal tab) spans the whitespace it stands for.
 * - A token that cannot be found (an unknown token) spans the next word (a run of letters and
 *   digits) or punctuation mark after the cursor, so keyword rows still see it.
 *
 * @example
 * ```ts
 * import { alignOffsets } from "@editmgt/editmgt/pipeline";
 *
 * const spans = alignOffsets("a caf\u00e9", ["a", "\u2581caf", "<0xC3>", "<0xA9>"]);
 * console.log(spans); // [[0, 1], [2, 5], [5, 6], [5, 6]]
 * ```
 */
export function alignOffsets(text: string, tokens: readonly string[]): [number, number][] {
  const haystack = lowerCaseSameLength(text);
  const offsets: [number, number][] = [];
  let cursor = 0;
  let run: { index: number; bytes: number[] }[] = [];

  const nextWord = (): [number, number] => {
    const word = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/u.exec(haystack.slice(cursor));
    const start = word === null ? cursor : cursor + word.index;
    cursor = word === null ? cursor : start + word[0].length;
    return [start, cursor];
  };
  const flushBytes = () => {
    if (run.length === 0) return;
    const bytes = run.flatMap((entry) => entry.bytes);
    const decoded = new TextDecoder().decode(Uint8Array.from(bytes));
    const found = decoded.includes("\uFFFD")
      ? -1
      : haystack.indexOf(lowerCaseSameLength(decoded), cursor);
    if (found < 0) {
      const span = nextWord();
      for (const token of run) offsets[token.index] = span;
    } else {
      const charAt = byteSpans(decoded, found);
      let byte = 0;
      for (const token of run) {
        offsets[token.index] = [charAt[byte][0], charAt[byte + token.bytes.length - 1][1]];
        byte += token.bytes.length;
      }
      cursor = found + decoded.length;
    }
    run = [];
  };

  tokens.forEach((token, index) => {
    const piece = token.replace(END_OF_WORD, "").replace(SPACE_MARKS, " ").trim().toLowerCase();
    const bytes = tokenBytes(token);
    const pending = run.flatMap((entry) => entry.bytes);
    const continues = missingBytes(pending) > 0 && bytes !== null && (bytes[0] & 0xc0) === 0x80;
    if (!continues) flushBytes();
    if (
      bytes !== null &&
      (continues || BYTE_TOKEN.test(token) ||
        (piece.length > 0 && !haystack.includes(piece, cursor)))
    ) {
      run.push({ index, bytes });
      if (missingBytes([...pending, ...bytes]) === 0) flushBytes();
      return;
    }
    if (piece.length === 0 && token.length > 0) {
      const width = Array.from(token.matchAll(/[\u2581\u0120\s]/gu)).length;
      const space = Math.min(width, /^\s*/u.exec(haystack.slice(cursor))![0].length);
      offsets[index] = [cursor, cursor + space];
      cursor += space;
      return;
    }
    const found = piece.length > 0 ? haystack.indexOf(piece, cursor) : -1;
    if (found >= 0) {
      offsets[index] = [found, found + piece.length];
      cursor = found + piece.length;
      return;
    }
    offsets[index] = nextWord();
  });
  flushBytes();
  return offsets;
}

/** For each UTF-8 byte of `decoded` (found at `start` of the text), the span of its character. */
function byteSpans(decoded: string, start: number): [number, number][] {
  const spans: [number, number][] = [];
  let offset = start;
  for (const char of decoded) {
    const point = char.codePointAt(0)!;
    const size = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    for (let i = 0; i < size; i++) spans.push([offset, offset + char.length]);
    offset += char.length;
  }
  return spans;
}

/** `text` lower-cased character by character, keeping characters whose lower case is longer. */
function lowerCaseSameLength(text: string): string {
  return Array.from(text, (char) => {
    const lower = char.toLowerCase();
    return lower.length === char.length ? lower : char;
  }).join("");
}
