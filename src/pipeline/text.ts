/**
 * Prompt features for classifier-free guidance: the instruction is tokenized on every edit
 * (keeping offsets for keyword rows); the features of every prompt, instruction and negative
 * alike, are cached per text (a bounded, least-recently-used cache), so an edit whose words were
 * seen before runs no text encoder at all, and under load-run-release does not even load one.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { ModelComponents, TextFeatures, TextTokenIds } from "../model/components.ts";
import type { ModelPackage } from "../model/package.ts";
import type { Manifest } from "../schema/manifest.ts";
import { isBlankPrompt, MAX_PROMPT_CHARS, promptLength } from "../schema/options.ts";
import { loadTokenizer, type TextTokenizer, type TextTokens, tokenizeText } from "./tokenize.ts";

/** The tokenizers of a model: one for the context encoder, maybe another for the pooled one. */
export interface ModelTokenizers {
  /** Tokenizer of the context (per-token) text encoder: its positions are attention rows. */
  context: TextTokenizer;
  /** Tokenizer of a separate pooled text encoder, or null when one encoder serves both. */
  pooled: TextTokenizer | null;
}

/** An encoded instruction. */
export interface InstructionText {
  /** Its context tokens, with offsets, for keyword rows. */
  tokens: TextTokens;
  /** Its features. */
  features: TextFeatures;
}

/** Most prompts whose features are kept (about 2.4 MB each for the real model's Gemma-2). */
export const TEXT_CACHE_SIZE = 16;

/** Both rows of guidance for one edit. */
export interface EditPrompts {
  /** The instruction, tokenized, with its features. */
  instruction: InstructionText;
  /** The negative prompt's features. */
  negative: TextFeatures;
}

/**
 * Reads the model's tokenizer components (`tokenizer.json`, verified like every file).
 *
 * @throws {EditMGTError} `invalid_manifest` when a tokenizer file is not a tokenizer.
 */
export async function loadModelTokenizers(model: ModelPackage): Promise<ModelTokenizers> {
  const tokenizers = model.manifest.components.filter((component) =>
    component.kind === "tokenizer"
  );
  const read = async (name: string): Promise<TextTokenizer> => {
    const files = await model.readComponent(name);
    const file = files.find((candidate) => candidate.path.endsWith(".json")) ?? files[0];
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(file.data));
    } catch (cause) {
      throw new EditMGTError("invalid_manifest", `${file.path} is not valid JSON`, { cause });
    }
    return loadTokenizer(json);
  };
  const context = tokenizers.find((component) => component.role !== "pooled")!;
  const pooled = tokenizers.find((component) => component.role === "pooled");
  return {
    context: await read(context.name),
    pooled: pooled === undefined ? null : await read(pooled.name),
  };
}

/**
 * Encodes prompts for one model, with their features cached per text: at most
 * {@linkcode TEXT_CACHE_SIZE} prompts, the least recently used dropped first.
 */
export class PromptEncoder {
  readonly #manifest: Manifest;
  readonly #tokenizers: ModelTokenizers;
  readonly #components: ModelComponents;
  readonly #features = new Map<string, TextFeatures>();

  /** Creates an encoder over a model's tokenizers and loaded components. */
  constructor(tokenizers: ModelTokenizers, components: ModelComponents) {
    this.#manifest = components.manifest;
    this.#tokenizers = tokenizers;
    this.#components = components;
  }

  /**
   * The instruction (tokenized) and both prompts' features. Prompts not in the cache are
   * encoded together in one text phase; when both are cached no text encoder runs.
   *
   * @throws {EditMGTError} `invalid_input` for an empty or over-long instruction.
   */
  async encode(instruction: string, negative: string): Promise<EditPrompts> {
    checkInstruction(instruction);
    const tokens = this.#tokenize(instruction);
    const missing = [...new Set([negative, instruction])].filter((text) =>
      !this.#features.has(text)
    );
    const encoded = await this.#components.encodeTexts(
      missing.map((text) => this.#ids(text, text === instruction ? tokens : this.#tokenize(text))),
    );
    missing.forEach((text, index) => this.#features.set(text, encoded[index]));
    const features = (text: string) => {
      const found = this.#features.get(text)!;
      this.#features.delete(text);
      this.#features.set(text, found);
      return found;
    };
    const prompts = {
      instruction: { tokens, features: features(instruction) },
      negative: features(negative),
    };
    for (const text of this.#features.keys()) {
      if (this.#features.size <= TEXT_CACHE_SIZE) break;
      this.#features.delete(text);
    }
    return prompts;
  }

  #tokenize(text: string): TextTokens {
    const { length, padTokenId, padSide } = this.#manifest.text;
    return tokenizeText(this.#tokenizers.context, text, { length, padTokenId, padSide });
  }

  #ids(text: string, context: TextTokens): TextTokenIds {
    const pooledTokenizer = this.#tokenizers.pooled;
    if (pooledTokenizer === null) return context.unpadded;
    const { text: layout } = this.#manifest;
    const pooled = tokenizeText(pooledTokenizer, text, {
      length: layout.pooledLength ?? layout.length,
      padTokenId: layout.pooledPadTokenId ?? layout.padTokenId,
    });
    return { context: context.unpadded, pooled: pooled.unpadded };
  }
}

/**
 * Rejects an instruction that is not a string, blank, or longer than `MAX_PROMPT_CHARS`.
 *
 * @throws {EditMGTError} `invalid_input`, with `details.field` "instruction".
 */
export function checkInstruction(text: unknown): asserts text is string {
  const details = { field: "instruction" };
  if (typeof text !== "string") {
    throw new EditMGTError("invalid_input", "the instruction must be a string", { details });
  }
  if (isBlankPrompt(text)) {
    throw new EditMGTError("invalid_input", "the instruction is empty; say what to change", {
      details,
    });
  }
  const length = promptLength(text);
  if (length > MAX_PROMPT_CHARS) {
    throw new EditMGTError(
      "invalid_input",
      `the instruction has ${length} characters, more than the limit of ${MAX_PROMPT_CHARS}; shorten it`,
      { details: { ...details, length, limit: MAX_PROMPT_CHARS } },
    );
  }
}
