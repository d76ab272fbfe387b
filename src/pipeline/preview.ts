/**
 * Step progress with preview images. The sampler reports each step synchronously; a preview
 * needs an (async) VQ decode. The queue decodes previews in order and holds the next
 * transformer step until the previous step's event is out, so events arrive in step order and
 * at most one decode is in flight. A preview shows the tokens decided so far, with the source's
 * tokens where the sampler still has the mask.
 *
 * @module
 */

import type { RgbaImage } from "../image/types.ts";
import type { StepModel } from "../sampler/model.ts";
import type { SamplerStepEvent } from "../sampler/options.ts";
import type { EditProgress } from "./types.ts";

/** What a {@linkcode PreviewQueue} needs. */
export interface PreviewQueueOptions {
  /** Decode a preview after every `every`-th step (not the last); 0 for none. */
  every: number;
  /** Source tokens, shown where the step's tokens are still masked. */
  refTokens: Int32Array;
  /** The mask token id. */
  maskTokenId: number;
  /** VQ-decodes tokens to an image at the model resolution. */
  decode: (tokens: Int32Array) => Promise<RgbaImage>;
  /** Receives the `step` events. */
  onProgress?: (event: EditProgress) => void;
}

/**
 * Orders step events and their preview decodes (see the module doc). A preview shows the tokens
 * after its step, which are the tokens the next step is fed, so a due preview is decoded when the
 * next step starts (previews never fall on the last step).
 */
export class PreviewQueue {
  readonly #options: PreviewQueueOptions;
  #pending: Promise<void> = Promise.resolve();
  #due: SamplerStepEvent | null = null;

  /** Creates a queue; nothing runs until a step is pushed. */
  constructor(options: PreviewQueueOptions) {
    this.#options = options;
  }

  /** Queues the event of a finished step; a due preview waits for the next step's tokens. */
  push(event: SamplerStepEvent): void {
    if (this.#options.onProgress === undefined) return;
    const { every } = this.#options;
    if (every > 0 && event.index % every === 0 && event.index < event.total) {
      this.#due = event;
    } else {
      this.#emit(event, null);
    }
  }

  /** `model`, with every step first queueing a due preview and waiting for earlier events. */
  gate(model: StepModel): StepModel {
    return {
      step: async (input, signal) => {
        if (this.#due !== null) {
          this.#emit(this.#due, this.#shownTokens(input.tokens));
          this.#due = null;
        }
        await this.#pending;
        return await model.step(input, signal);
      },
    };
  }

  /** Resolves when every queued event is out; rejects if a preview decode failed. */
  flush(): Promise<void> {
    return this.#pending;
  }

  #emit(event: SamplerStepEvent, tokens: Int32Array | null): void {
    const { decode, onProgress } = this.#options;
    this.#pending = this.#pending.then(async () => {
      const preview = tokens === null ? undefined : await decode(tokens);
      const { type, index, total } = event;
      onProgress?.({ type, index, total, ...(preview === undefined ? {} : { preview }) });
    });
  }

  /** The tokens a preview shows: masked positions show the source token. */
  #shownTokens(tokens: Int32Array): Int32Array {
    const { refTokens, maskTokenId } = this.#options;
    return tokens.map((token, j) => (token === maskTokenId ? refTokens[j] : token));
  }
}
