import type {
  SampleOptions,
  SamplerStepEvent,
  StepInput,
  StepModel,
  StepOutput,
} from "../../src/sampler/mod.ts";

/** Layout of a {@linkcode FakeStepModel}. */
export interface FakeModelLayout {
  /** Codebook size K: sampled tokens lie in [0, K). */
  codebookSize: number;
  /** Rows T of the text attention. */
  textLength: number;
  /** Cells of the transformer grid (columns of the text attention). */
  attentionCells: number;
  /** The text attention every step returns (default: a fixed pseudo-random one). */
  textAttention?: Float32Array;
}

/** Deterministic hash of (a, b) to [0, 1), so log-probs depend on the draw but repeat exactly. */
function hash01(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 2 ** 32;
}

/**
 * A zero-cost {@linkcode StepModel} that keeps the step-graph contract: it draws
 * `floor(uniform * K)`, returns distinct log-probs in (-10, 0] derived from the draw, and a fixed
 * text attention. It records a copy of every input.
 */
export class FakeStepModel implements StepModel {
  readonly inputs: StepInput[] = [];
  readonly layout: FakeModelLayout;
  #textAttention: Float32Array;
  /** Called at the start of every step with its 0-based index (to abort, throw, etc.). */
  onStep?: (index: number) => void;

  constructor(layout: FakeModelLayout) {
    this.layout = layout;
    this.#textAttention = layout.textAttention ??
      new Float32Array(layout.textLength * layout.attentionCells).map((_, i) => hash01(i, 7));
  }

  step(input: StepInput): Promise<StepOutput> {
    this.onStep?.(this.inputs.length);
    this.inputs.push({
      ...input,
      tokens: input.tokens.slice(),
      refTokens: input.refTokens.slice(),
      uniform: input.uniform.slice(),
    });
    const n = input.tokens.length;
    const k = this.layout.codebookSize;
    const sampled = new Int32Array(n);
    const sampledLogprob = new Float32Array(n);
    const refLogprob = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      sampled[j] = Math.min(k - 1, Math.floor(input.uniform[j] * k));
      sampledLogprob[j] = -10 * hash01(j, sampled[j] + 1);
      refLogprob[j] = -10 * hash01(j, -input.refTokens[j] - 1);
    }
    return Promise.resolve({
      sampled,
      sampledLogprob,
      refLogprob,
      textAttention: this.#textAttention,
    });
  }
}

/** Rows of the text attention of {@linkcode setUpSampling}'s model. */
export const TEXT_LENGTH = 3;

/** A sampling problem: the transformer grid (the token grid is twice as fine), codebook, seeds. */
export interface SamplingProblem {
  /** Rows of the transformer grid. */
  attentionHeight: number;
  /** Columns of the transformer grid. */
  attentionWidth: number;
  /** Codebook size K (the mask token is K). */
  codebookSize: number;
  /** Decoding steps. */
  steps: number;
  /** Sampler seed. */
  seed: number;
  /** Seed of the pseudo-random source tokens. */
  refSeed: number;
}

/**
 * A {@linkcode FakeStepModel} and the `sample` options of `p` (guidance 3, gamma 1.1, the
 * localization layout, progress events collected), with `extra` over them.
 */
export function setUpSampling(p: SamplingProblem, extra: Partial<SampleOptions> = {}) {
  const tokenGrid = { height: 2 * p.attentionHeight, width: 2 * p.attentionWidth };
  const n = tokenGrid.height * tokenGrid.width;
  const refTokens = new Int32Array(n).map((_, j) => (j * 7919 + p.refSeed) % p.codebookSize);
  const model = new FakeStepModel({
    codebookSize: p.codebookSize,
    textLength: TEXT_LENGTH,
    attentionCells: p.attentionHeight * p.attentionWidth,
  });
  const events: SamplerStepEvent[] = [];
  const options: SampleOptions = {
    refTokens,
    tokenGrid,
    codebookSize: p.codebookSize,
    maskTokenId: p.codebookSize,
    timestep: "step-index",
    steps: p.steps,
    guidance: 3,
    gamma: 1.1,
    seed: p.seed,
    localization: {
      attentionGrid: { height: p.attentionHeight, width: p.attentionWidth },
      textLength: TEXT_LENGTH,
    },
    onProgress: (event) => events.push(event),
    ...extra,
  };
  return { model, options, events, n, tokenGrid, refTokens: refTokens.slice() };
}
