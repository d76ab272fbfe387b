import { EditMGTError } from "../errors/mod.ts";
import type { TextRows } from "./map.ts";

/**
 * The context tokenizer's encoding of an instruction, padded to the text length of the step
 * graph: position `i` is row `i` of `text_attention`. Adapt a tokenizer's output to this shape.
 */
export interface TokenizedText {
  /** The instruction that was encoded. */
  text: string;
  /** Token id at every position (pad positions included). */
  ids: ArrayLike<number>;
  /** `[start, end)` character span in `text` of every position; special and pad tokens: `[0, 0]`. */
  offsets: ArrayLike<readonly [number, number]>;
  /** Whether each position is a special or pad token (never a keyword). */
  special: ArrayLike<boolean>;
}

/** How to choose the attention rows that form the localization map. */
export interface RowSelection {
  /**
   * "keywords" (default): the instruction's content tokens, without stop words and edit verbs.
   * "all": every row, padding included, as upstream.
   */
  rows?: "keywords" | "all";
  /** A phrase of the instruction to localize on, matched case-insensitively by character offsets. */
  focus?: string;
}

/** Every inflection we want to catch of a verb: base, -s, -es, -d, -ed, -ing (with and without final e). */
function inflections(verb: string): string[] {
  const stem = verb.endsWith("e") ? verb.slice(0, -1) : verb;
  return [verb, `${verb}s`, `${verb}es`, `${verb}d`, `${verb}ed`, `${verb}ing`, `${stem}ing`];
}

/** Verbs that say what kind of edit to make, not where: they never localize anything. */
export const EDIT_VERBS: ReadonlySet<string> = new Set(
  (
    "add adjust alter apply become brighten change convert darken delete edit eliminate erase " +
    "exchange get give insert keep let make modify move place put recolor recolour remove " +
    "replace resize rotate set shift show swap switch take transform turn use want"
  ).split(" ").flatMap(inflections),
);

/** English function words that carry no location. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "a about above across after again all also an and any are as at be been being below between " +
    "both but by can could do does each for from had has have he her here his how i if image in " +
    "instead into is it its just like me more my new no not now of off on onto or other our out " +
    "over photo picture please she should so some than that the their them then there these " +
    "they this those through to too up us very was we were what where which while who will with " +
    "would you your"
  ).split(" "),
);

/**
 * A word: letters, combining marks and digits with inner apostrophes, or an emoji (with its
 * variation selector and joined emoji), since "replace the \u{1F431}" names an object too.
 */
const WORD =
  /[\p{L}\p{M}\p{N}]+(?:['\u2019][\p{L}\p{M}\p{N}]+)*|\p{Extended_Pictographic}(?:\uFE0F|\p{M}|\u200D\p{Extended_Pictographic})*/gu;

/** Words of `text` with their character spans. */
function words(text: string): { word: string; start: number; end: number }[] {
  return [...text.matchAll(WORD)].map((match) => ({
    word: match[0].toLowerCase(),
    start: match.index,
    end: match.index + match[0].length,
  }));
}

/** Positions of non-special tokens whose span overlaps `[start, end)`. */
function overlapping(tokens: TokenizedText, start: number, end: number): number[] {
  const rows: number[] = [];
  for (let i = 0; i < tokens.ids.length; i++) {
    const [from, to] = tokens.offsets[i];
    if (!tokens.special[i] && to > from && from < end && to > start) rows.push(i);
  }
  return rows;
}

/**
 * The attention rows that localize an instruction: its content tokens (special and pad tokens,
 * stop words and edit verbs dropped), or the tokens of an explicit `focus` phrase, or "all".
 * When no content word is left (say "make it darker"), every non-special token is used.
 *
 * @throws {EditMGTError} `invalid_input` when the arrays differ in length; `invalid_option` when
 * `focus` does not occur in the instruction.
 *
 * @example
 * ```ts
 * import { keywordRows } from "@editmgt/editmgt";
 *
 * const text = "make the cat blue";
 * const rows = keywordRows({
 *   text,
 *   ids: [2, 10, 11, 12, 13, 0],
 *   offsets: [[0, 0], [0, 4], [4, 8], [8, 12], [12, 17], [0, 0]],
 *   special: [true, false, false, false, false, true],
 * });
 * console.log(rows); // Int32Array [3, 4]: "cat", "blue"
 * ```
 */
export function keywordRows(tokens: TokenizedText, selection: RowSelection = {}): TextRows {
  const length = tokens.ids.length;
  if (tokens.offsets.length !== length || tokens.special.length !== length) {
    throw new EditMGTError(
      "invalid_input",
      `tokenized text has ${length} ids, ${tokens.offsets.length} offsets and ` +
        `${tokens.special.length} special flags; they must be equal`,
    );
  }
  if (selection.rows === "all") return "all";
  if (selection.focus !== undefined) return focusRows(tokens, selection.focus);

  const content = new Set<number>();
  for (const { word, start, end } of words(tokens.text)) {
    if (STOP_WORDS.has(word) || EDIT_VERBS.has(word)) continue;
    for (const row of overlapping(tokens, start, end)) content.add(row);
  }
  if (content.size > 0) return Int32Array.from([...content].sort((a, b) => a - b));
  const all = overlapping(tokens, 0, tokens.text.length);
  return all.length > 0 ? Int32Array.from(all) : "all";
}

/** Rows of the first case-insensitive occurrence of `focus` in the instruction. */
function focusRows(tokens: TokenizedText, focus: string): Int32Array {
  const phrase = focus.trim().toLowerCase();
  const start = phrase.length > 0 ? tokens.text.toLowerCase().indexOf(phrase) : -1;
  const rows = start < 0 ? [] : overlapping(tokens, start, start + phrase.length);
  if (rows.length === 0) {
    throw new EditMGTError(
      "invalid_option",
      `focus "${focus}" does not occur in the instruction "${tokens.text}"; ` +
        "give a phrase copied from the instruction",
      { details: { option: "focus" } },
    );
  }
  return Int32Array.from(rows);
}
