/**
 * Step progress with preview images. The sampler reports each step synchronously; a preview
 * needs an (async) VQ decode. The queue decodes previews in order and holds the next
 * transformer step until the previous step's event is out, so events arrive in step order and
 * at most one decode is in flight.
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

/** Orders step events and their preview decodes (see the module doc). */
export class PreviewQueue {
  readonly #options: PreviewQueueOptions;
  #pending: Promise<void> = Promise.resolve();

  /** Creates a queue; nothing runs until a step is pushed. */
  constructor(options: PreviewQueueOptions) {
    this.#options = options;
  }

  /** Queues the event of a finished step (and its preview decode, when due). */
  push(event: SamplerStepEvent): void {
    const { every, onProgress } = this.#options;
    if (onProgress === undefined) return;
    const due = every > 0 && event.step % every === 0 && event.step < event.steps;
    const tokens = due ? this.#shownTokens(event.prediction) : null;
    this.#pending = this.#pending.then(async () => {
      const preview = tokens === null ? undefined : await this.#options.decode(tokens);
      onProgress({
        type: "step",
        index: event.step,
        total: event.steps,
        ...(preview === undefined ? {} : { preview }),
      });
    });
  }

  /** `model`, with every step waiting for the events queued before it. */
  gate(model: StepModel): StepModel {
    return {
      step: async (input, signal) => {
        await this.#pending;
        return await model.step(input, signal);
      },
    };
  }

  /** Resolves when every queued event is out; rejects if a preview decode failed. */
  flush(): Promise<void> {
    return this.#pending;
  }

  /** The tokens a preview shows: the step's tokens with masked positions as source tokens. */
  #shownTokens(tokens: Int32Array): Int32Array {
    const { refTokens, maskTokenId } = this.#options;
    return tokens.map((token, j) => (token === maskTokenId ? refTokens[j] : token));
  }
}
