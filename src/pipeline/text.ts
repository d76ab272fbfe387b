/**
 * Prompt features for classifier-free guidance: the instruction is tokenized (keeping offsets
 * for keyword rows) and encoded on every edit; the negative/unconditional prompt is encoded
 * once per distinct text and cached for the pipeline's lifetime.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { ModelComponents, TextFeatures, TextTokenIds } from "../model/components.ts";
import type { ModelPackage } from "../model/package.ts";
import type { Manifest } from "../schema/manifest.ts";
import { MAX_PROMPT_CHARS } from "../schema/options.ts";
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

/** Most negative prompts kept encoded at once. */
const NEGATIVE_CACHE_SIZE = 8;

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
 * Encodes prompts for one model. The negative prompt's features are cached (they are the same
 * for every edit with the same negative prompt, which is nearly always "").
 */
export class PromptEncoder {
  readonly #manifest: Manifest;
  readonly #tokenizers: ModelTokenizers;
  readonly #components: ModelComponents;
  readonly #negatives = new Map<string, Promise<TextFeatures>>();

  /** Creates an encoder over a model's tokenizers and loaded components. */
  constructor(tokenizers: ModelTokenizers, components: ModelComponents) {
    this.#manifest = components.manifest;
    this.#tokenizers = tokenizers;
    this.#components = components;
  }

  /**
   * Tokenizes and encodes an edit instruction.
   *
   * @throws {EditMGTError} `invalid_input` for an empty or over-long instruction.
   */
  async instruction(text: string): Promise<InstructionText> {
    checkInstruction(text);
    const tokens = this.#tokenize(text);
    return { tokens, features: await this.#components.encodeText(this.#ids(text, tokens)) };
  }

  /** The features of a negative (unconditional) prompt (already validated), encoded once and cached. */
  negative(text: string): Promise<TextFeatures> {
    const cached = this.#negatives.get(text);
    if (cached !== undefined) return cached;
    const features = this.#components.encodeText(this.#ids(text, this.#tokenize(text)));
    if (this.#negatives.size >= NEGATIVE_CACHE_SIZE) {
      this.#negatives.delete(this.#negatives.keys().next().value!);
    }
    this.#negatives.set(text, features);
    features.catch(() => this.#negatives.delete(text));
    return features;
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
  if (text.trim().length === 0) {
    throw new EditMGTError("invalid_input", "the instruction is empty; say what to change", {
      details,
    });
  }
  if (text.length > MAX_PROMPT_CHARS) {
    throw new EditMGTError(
      "invalid_input",
      `the instruction has ${text.length} characters, more than the limit of ${MAX_PROMPT_CHARS}; shorten it`,
      { details: { ...details, length: text.length, limit: MAX_PROMPT_CHARS } },
    );
  }
}
