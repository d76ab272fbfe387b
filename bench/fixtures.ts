import type { StepInput, StepModel, StepOutput } from "../src/sampler/mod.ts";

/** The real EditMGT sizes: 64x64 VQ tokens, 32x32 transformer tokens, 256 Gemma text rows. */
export const REAL = {
  tokenGrid: { height: 64, width: 64 },
  attentionGrid: { height: 32, width: 32 },
  textLength: 256,
  codebookSize: 8192,
  maskTokenId: 8255,
} as const;

export const TOKENS = REAL.tokenGrid.height * REAL.tokenGrid.width;
export const CELLS = REAL.attentionGrid.height * REAL.attentionGrid.width;

/** A text attention with an object around (12, 20) for the keyword rows and noise elsewhere. */
export function realisticAttention(): Float32Array {
  const attention = new Float32Array(REAL.textLength * CELLS);
  for (let row = 0; row < REAL.textLength; row++) {
    for (let cell = 0; cell < CELLS; cell++) {
      const y = Math.floor(cell / 32);
      const x = cell % 32;
      const object = row >= 3 && row < 6 ? Math.exp(-((y - 12) ** 2 + (x - 20) ** 2) / 20) : 0;
      attention[row * CELLS + cell] = object + 0.05 * ((cell * 7919 + row * 104729) % 1000) / 1000;
    }
  }
  return attention;
}

/**
 * A step model that costs nothing: it returns precomputed outputs, so a benchmark of `sample`
 * measures only the sampler's own work (RNG, map, hold, re-mask).
 */
export function zeroCostModel(): StepModel {
  const output: StepOutput = {
    sampled: new Int32Array(TOKENS).map((_, j) => (j * 31) % REAL.codebookSize),
    sampledLogprob: new Float32Array(TOKENS).map((_, j) => -((j * 7919) % 1000) / 100),
    refLogprob: new Float32Array(TOKENS).map((_, j) => -((j * 104729) % 1000) / 100),
    textAttention: realisticAttention(),
  };
  return { step: (_input: StepInput) => Promise.resolve(output) };
}
