/**
 * A model's graphs as typed calls: text encoding, VQ encode/decode and the transformer step
 * (as the sampler's {@linkcode StepModel}). Dimensions come from the manifest; graph names and
 * shapes follow the contract of DESIGN section 4. This is the only code that knows the graphs'
 * input and output names, and it is the same for every backend.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { StepInput, StepModel, StepOutput } from "../sampler/model.ts";
import type { ComponentDtype, Manifest, ManifestComponent } from "../schema/manifest.ts";
import type { Backend, DeviceName, GraphBytes, ModelSession, NamedTensors } from "./backend.ts";
import type { ModelPackage, VerifiedFile } from "./package.ts";
import { float32Scalar, float32Tensor, int64Tensor, readFloat32, readTokenIds } from "./tensors.ts";
import { chooseVariants, type DtypeRequest, dtypesOf, type VariantChoice } from "./variants.ts";

/** Text features of one prompt: `context` is `[T, D]` row-major, `pooled` is `[P]`. */
export interface TextFeatures {
  /** Per-token features, `text.length * text.contextDim` values. */
  context: Float32Array;
  /** Pooled features, `text.pooledDim` values. */
  pooled: Float32Array;
}

/**
 * Token ids of one prompt, unpadded. One array for a model whose single text encoder serves
 * both features; one array per role for a model with separate context and pooled tokenizers.
 */
export type TextTokenIds = Int32Array | { context: Int32Array; pooled: Int32Array };

/** The two rows of classifier-free guidance: row 0 negative/unconditional, row 1 instruction. */
export interface GuidanceText {
  /** Features of the negative (or empty) prompt. */
  negative: TextFeatures;
  /** Features of the edit instruction. */
  instruction: TextFeatures;
}

/** A loaded model: one session per graph, on one backend. */
export interface ModelComponents extends AsyncDisposable {
  /** The model's manifest. */
  readonly manifest: Manifest;
  /** The device the sessions run on. */
  readonly device: DeviceName;
  /** The weight type each graph component runs with, by component name. */
  readonly dtypes: Readonly<Record<string, ComponentDtype>>;
  /** The files each graph component was loaded from, and why (see `chooseVariants`). */
  readonly variants: readonly VariantChoice[];
  /** Encodes one prompt; ids longer than the model's text length reject with `invalid_input`. */
  encodeText(ids: TextTokenIds): Promise<TextFeatures>;
  /** VQ-encodes `[3, H, W]` RGB pixels in [0, 1] (model resolution) to `h * w` token ids. */
  vqEncode(pixels: Float32Array): Promise<Int32Array>;
  /** Decodes `h * w` token ids (mask ids allowed) to `[3, H, W]` RGB pixels in [0, 1]. */
  vqDecode(tokens: Int32Array): Promise<Float32Array>;
  /** The transformer step for one edit's text, as the sampler calls it. */
  stepModel(text: GuidanceText): StepModel;
  /** Releases every session; later calls do nothing. */
  release(): Promise<void>;
}

const STEP_INPUTS = [
  "tokens",
  "ref_tokens",
  "context",
  "pooled",
  "timestep",
  "log_gamma",
  "guidance_scale",
  "uniform",
];
const STEP_OUTPUTS = ["sampled", "sampled_logprob", "ref_logprob", "text_attention"];

/** Options of {@linkcode loadModelComponents}. */
export interface LoadComponentsOptions {
  /** Which weights to load (see `DtypeRequest`); default `"auto"`. */
  dtype?: DtypeRequest;
}

/**
 * Reads, verifies and opens every graph of `model` on `backend`, each in the weight type chosen
 * by `chooseVariants` for the backend's device and `options.dtype`. Each component's files are
 * checked against their sha256 before its session is made; on any failure the sessions made so
 * far are released. A request the model cannot satisfy, and fp16 weights the backend cannot run
 * (WebGPU without `shader-f16`), are refused before anything is read.
 *
 * @example
 * ```ts
 * import { createBackend, loadModelComponents } from "@editmgt/editmgt/model";
 * import { openLocalModelPackage } from "@editmgt/editmgt/model/deno";
 *
 * const model = await openLocalModelPackage("models/editmgt-tiny");
 * await using components = await loadModelComponents(model, await createBackend("node"), {
 *   dtype: "auto",
 * });
 * console.log(components.dtypes); // { text_encoder: "fp32", ... }
 * const negative = await components.encodeText(new Int32Array([]));
 * console.log(negative.context.length); // text.length * text.contextDim
 * ```
 */
export async function loadModelComponents(
  model: ModelPackage,
  backend: Backend,
  options: LoadComponentsOptions = {},
): Promise<ModelComponents> {
  const manifest = model.manifest;
  const variants = chooseVariants(manifest, {
    device: backend.device,
    capabilities: backend.capabilities,
    dtype: options.dtype,
  });
  const sessions = new Map<string, ModelSession>();
  try {
    for (const choice of variants) {
      const component = model.component(choice.component);
      const files = await model.readComponent(component.name, choice.dtype);
      const session = await backend.createSession(graphBytes(component, files));
      sessions.set(component.name, session);
      requireNames(component, session);
    }
  } catch (error) {
    await Promise.all([...sessions.values()].map((session) => session.release()));
    throw error;
  }
  return assemble(manifest, backend.device, variants, sessions);
}

function assemble(
  manifest: Manifest,
  device: DeviceName,
  variants: readonly VariantChoice[],
  sessions: ReadonlyMap<string, ModelSession>,
): ModelComponents {
  const sessionOf = (kind: ManifestComponent["kind"], role?: "context" | "pooled") => {
    const component = manifest.components.find((candidate) =>
      candidate.kind === kind &&
      (role === undefined || (candidate.role ?? "both") === "both" || candidate.role === role)
    );
    return sessions.get(component!.name)!;
  };
  const contextEncoder = sessionOf("text-encoder", "context");
  const pooledEncoder = sessionOf("text-encoder", "pooled");
  const vqEncoder = sessionOf("vq-encoder");
  const vqDecoder = sessionOf("vq-decoder");
  const transformer = sessionOf("transformer");
  const { vq, text, resolution } = manifest;
  const tokenCount = vq.grid.height * vq.grid.width;
  const pixelCount = 3 * resolution.height * resolution.width;
  const tokenDims = [1, vq.grid.height, vq.grid.width];

  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await Promise.all([...sessions.values()].map((session) => session.release()));
  };

  return {
    manifest,
    device,
    dtypes: dtypesOf(variants),
    variants,
    async encodeText(ids: TextTokenIds): Promise<TextFeatures> {
      if (contextEncoder === pooledEncoder) {
        const outputs = await runEncoder(contextEncoder, padIds(manifest, idsOf(ids, "context")));
        return {
          context: readFloat32(outputs, "context", text.length * text.contextDim),
          pooled: readFloat32(outputs, "pooled", text.pooledDim),
        };
      }
      if (ids instanceof Int32Array) {
        throw new EditMGTError(
          "invalid_input",
          "this model has separate context and pooled text encoders: pass { context, pooled } token ids",
        );
      }
      const contextOutputs = await runEncoder(contextEncoder, padIds(manifest, ids.context));
      const pooledOutputs = await runEncoder(pooledEncoder, padIds(manifest, ids.pooled, "pooled"));
      return {
        context: readFloat32(contextOutputs, "context", text.length * text.contextDim),
        pooled: readFloat32(pooledOutputs, "pooled", text.pooledDim),
      };
    },
    async vqEncode(pixels: Float32Array): Promise<Int32Array> {
      requireLength("pixels", pixels, pixelCount);
      const outputs = await vqEncoder.run({
        pixels: float32Tensor(pixels, [1, 3, resolution.height, resolution.width]),
      });
      return readTokenIds(outputs, "tokens", tokenCount, vq.codebookSize);
    },
    async vqDecode(tokens: Int32Array): Promise<Float32Array> {
      requireLength("tokens", tokens, tokenCount);
      const outputs = await vqDecoder.run({ tokens: int64Tensor(tokens, tokenDims) });
      return readFloat32(outputs, "pixels", pixelCount);
    },
    stepModel: (guidance) => createStepModel(manifest, transformer, guidance),
    release,
    [Symbol.asyncDispose]: release,
  };
}

/**
 * The transformer step graph as a {@linkcode StepModel}: the text rows are stacked once, every
 * step converts int32 tokens to int64, passes `log_gamma` and `guidance_scale` as scalars and
 * checks the outputs against the manifest's dimensions.
 */
function createStepModel(
  manifest: Manifest,
  session: ModelSession,
  guidance: GuidanceText,
): StepModel {
  const { vq, text, transformer } = manifest;
  const tokenCount = vq.grid.height * vq.grid.width;
  const tokenDims = [1, vq.grid.height, vq.grid.width];
  const attentionLength = text.length * transformer.grid.height * transformer.grid.width;
  const textFeeds: NamedTensors = {
    context: float32Tensor(
      stackRows(
        "context",
        [guidance.negative.context, guidance.instruction.context],
        text.length * text.contextDim,
      ),
      [2, text.length, text.contextDim],
    ),
    pooled: float32Tensor(
      stackRows("pooled", [guidance.negative.pooled, guidance.instruction.pooled], text.pooledDim),
      [2, text.pooledDim],
    ),
  };
  if (session.inputNames.includes("micro_conds")) {
    textFeeds.micro_conds = float32Tensor(Float32Array.from(transformer.microConds), [
      transformer.microConds.length,
    ]);
  }
  return {
    async step(input: StepInput, signal?: AbortSignal): Promise<StepOutput> {
      requireLength("tokens", input.tokens, tokenCount);
      requireLength("refTokens", input.refTokens, tokenCount);
      requireLength("uniform", input.uniform, tokenCount);
      if (signal?.aborted) {
        throw new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
      }
      const outputs = await session.run({
        ...textFeeds,
        tokens: int64Tensor(input.tokens, tokenDims),
        ref_tokens: int64Tensor(input.refTokens, tokenDims),
        timestep: float32Tensor(new Float32Array([input.timestep]), [1]),
        log_gamma: float32Scalar(input.logGamma),
        guidance_scale: float32Scalar(input.guidanceScale),
        uniform: float32Tensor(input.uniform, [1, tokenCount]),
      });
      return {
        sampled: readTokenIds(outputs, "sampled", tokenCount, vq.codebookSize),
        sampledLogprob: readFloat32(outputs, "sampled_logprob", tokenCount),
        refLogprob: readFloat32(outputs, "ref_logprob", tokenCount),
        textAttention: readFloat32(outputs, "text_attention", attentionLength),
      };
    },
  };
}

/** The component's `.onnx` file, with the other files as external data named relative to it. */
function graphBytes(component: ManifestComponent, files: readonly VerifiedFile[]): GraphBytes {
  const graphs = files.filter((file) => file.path.endsWith(".onnx"));
  if (graphs.length !== 1) {
    throw new EditMGTError(
      "invalid_manifest",
      `component ${component.name} must list exactly one .onnx file, found ${graphs.length}`,
    );
  }
  const graph = graphs[0];
  const folder = graph.path.slice(0, graph.path.lastIndexOf("/") + 1);
  return {
    model: graph.data,
    externalData: files.filter((file) => file !== graph).map((file) => ({
      path: file.path.startsWith(folder) ? file.path.slice(folder.length) : file.path,
      data: file.data,
    })),
  };
}

function requireNames(component: ManifestComponent, session: ModelSession): void {
  const [inputs, outputs] = graphNames(component);
  const missing = [
    ...inputs.filter((name) => !session.inputNames.includes(name)).map((name) => `input ${name}`),
    ...outputs.filter((name) => !session.outputNames.includes(name)).map((name) =>
      `output ${name}`
    ),
  ];
  if (missing.length > 0) {
    throw new EditMGTError(
      "model_output",
      `graph ${component.name} (${component.kind}) lacks ${
        missing.join(", ")
      } of the EditMGT graph contract`,
      { details: { component: component.name, missing } },
    );
  }
}

function graphNames(component: ManifestComponent): [string[], string[]] {
  switch (component.kind) {
    case "text-encoder": {
      const role = component.role ?? "both";
      return [["input_ids"], role === "both" ? ["context", "pooled"] : [role]];
    }
    case "vq-encoder":
      return [["pixels"], ["tokens"]];
    case "vq-decoder":
      return [["tokens"], ["pixels"]];
    case "transformer":
      return [STEP_INPUTS, STEP_OUTPUTS];
    case "tokenizer":
      return [[], []];
  }
}

function idsOf(ids: TextTokenIds, role: "context" | "pooled"): Int32Array {
  return ids instanceof Int32Array ? ids : ids[role];
}

/**
 * Pads one prompt's ids to the encoder's input length with its pad id, on its side: the context
 * encoder's `padSide` (Gemma: left), a separate pooled encoder's `pooledPadSide` (CLIP: right).
 */
function padIds(manifest: Manifest, ids: Int32Array, role: "context" | "pooled" = "context") {
  const { text } = manifest;
  const length = role === "pooled" ? text.pooledLength ?? text.length : text.length;
  const padId = role === "pooled" ? text.pooledPadTokenId ?? text.padTokenId : text.padTokenId;
  const side = role === "pooled" ? text.pooledPadSide ?? "right" : text.padSide ?? "right";
  if (ids.length > length) {
    throw new EditMGTError(
      "invalid_input",
      `the prompt has ${ids.length} ${role} tokens but the model reads at most ${length}; truncate it`,
      { details: { tokens: ids.length, limit: length } },
    );
  }
  const padded = new Int32Array(length).fill(padId);
  padded.set(ids, side === "left" ? length - ids.length : 0);
  return int64Tensor(padded, [1, length]);
}

async function runEncoder(session: ModelSession, inputIds: NamedTensors[string]) {
  return await session.run({ input_ids: inputIds });
}

function stackRows(name: string, rows: readonly Float32Array[], rowLength: number): Float32Array {
  const stacked = new Float32Array(rows.length * rowLength);
  rows.forEach((row, index) => {
    requireLength(name, row, rowLength);
    stacked.set(row, index * rowLength);
  });
  return stacked;
}

function requireLength(name: string, array: { length: number }, length: number): void {
  if (array.length !== length) {
    throw new EditMGTError(
      "invalid_input",
      `${name} has ${array.length} elements but the model needs ${length}`,
      { details: { name, length: array.length, expected: length } },
    );
  }
}
