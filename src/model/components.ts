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
import { chooseSessionPolicy, type MemoryRequest, type SessionPolicy } from "./memory.ts";
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

/** Graph components whose sessions a phase can hold together (see `withSessions`). */
export type GraphKind = Exclude<ManifestComponent["kind"], "tokenizer">;

/**
 * A loaded model: one session per graph, on one backend, kept alive for the model's lifetime or
 * made per phase (see {@linkcode SessionPolicy}). Every call makes the sessions it needs when
 * they are not alive; under `"release"` they are released when the call (or the enclosing
 * {@linkcode ModelComponents.withSessions}) ends.
 */
export interface ModelComponents extends AsyncDisposable {
  /** The model's manifest. */
  readonly manifest: Manifest;
  /** The device the sessions run on. */
  readonly device: DeviceName;
  /** The weight type each graph component runs with, by component name. */
  readonly dtypes: Readonly<Record<string, ComponentDtype>>;
  /** The files each graph component was loaded from, and why (see `chooseVariants`). */
  readonly variants: readonly VariantChoice[];
  /** Whether sessions live for the model's lifetime or for one phase. */
  readonly memory: SessionPolicy;
  /** Encodes one prompt; ids longer than the model's text length reject with `invalid_input`. */
  encodeText(ids: TextTokenIds): Promise<TextFeatures>;
  /**
   * Encodes several prompts in one text phase: each text encoder runs every prompt, then (under
   * `"release"`) is released before the next one is made, so only one is alive at a time.
   */
  encodeTexts(ids: readonly TextTokenIds[]): Promise<TextFeatures[]>;
  /** VQ-encodes `[3, H, W]` RGB pixels in [0, 1] (model resolution) to `h * w` token ids. */
  vqEncode(pixels: Float32Array): Promise<Int32Array>;
  /** Decodes `h * w` token ids (mask ids allowed) to `[3, H, W]` RGB pixels in [0, 1]. */
  vqDecode(tokens: Int32Array): Promise<Float32Array>;
  /** The transformer step for one edit's text, as the sampler calls it. */
  stepModel(text: GuidanceText): StepModel;
  /**
   * Runs `work` with the sessions of the graphs of `kinds` alive throughout (made first when
   * they are not): a phase, such as every transformer step of an edit. Under `"release"` they
   * are released when `work` settles, unless an enclosing phase still holds them.
   */
  withSessions<T>(kinds: readonly GraphKind[], work: () => Promise<T>): Promise<T>;
  /** Releases every session; later calls reject. */
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
  /**
   * Keep every session alive, or make each for its phase and release it after (see
   * {@linkcode SessionPolicy}); default `"auto"`: release when the chosen graphs together need
   * more than `RELEASE_ABOVE_BYTES`.
   */
  memory?: MemoryRequest;
}

/**
 * Reads, verifies and opens every graph of `model` on `backend`, each in the weight type chosen
 * by `chooseVariants` for the backend's device and `options.dtype`. Each component's files are
 * checked against their sha256 before its session is made; on any failure the sessions made so
 * far are released. A request the model cannot satisfy, and fp16 weights the backend cannot run
 * (WebGPU without `shader-f16`), are refused before anything is read.
 *
 * Under `memory: "release"` every file is read and verified here (so a download completes and a
 * bad file fails the load) but no session is made: each graph's files are read again, verified
 * and made into a session when its phase starts. Use it with files that are cheap to read again
 * (a local folder, the SDK's Cache Storage), not a bare HTTP URL.
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
 * console.log(components.dtypes, components.memory); // { text_encoder: "fp32", ... } "keep"
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
  const policy = chooseSessionPolicy(options.memory ?? "auto", variants);
  const sessions = new SessionSlots(policy, async (name) => {
    const choice = variants.find((candidate) => candidate.component === name)!;
    const component = model.component(name);
    const files = await model.readComponent(name, choice.dtype);
    const session = await backend.createSession(graphBytes(component, files));
    try {
      requireNames(component, session);
    } catch (error) {
      await session.release();
      throw error;
    }
    return session;
  });
  try {
    for (const choice of variants) {
      if (policy === "keep") await sessions.open(choice.component);
      else await model.readComponent(choice.component, choice.dtype);
    }
  } catch (error) {
    await sessions.releaseAll();
    throw error;
  }
  return assemble(manifest, backend.device, variants, sessions);
}

/**
 * The sessions of a model by component name, each made on first use. Under `"keep"` a session
 * lives until `releaseAll`; under `"release"` it is released as soon as nothing holds it.
 */
class SessionSlots {
  readonly policy: SessionPolicy;
  readonly #create: (name: string) => Promise<ModelSession>;
  readonly #slots = new Map<string, { session: Promise<ModelSession>; holds: number }>();
  #closed = false;

  constructor(policy: SessionPolicy, create: (name: string) => Promise<ModelSession>) {
    this.policy = policy;
    this.#create = create;
  }

  /** Makes the session of `name` if it is not alive, without holding it. */
  async open(name: string): Promise<ModelSession> {
    if (this.#closed) {
      throw new EditMGTError("internal", "the model was released; load it again");
    }
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = { session: this.#create(name), holds: 0 };
      this.#slots.set(name, slot);
      const made = slot;
      made.session.catch(() => this.#slots.get(name) === made && this.#slots.delete(name));
    }
    return await slot.session;
  }

  /**
   * Runs `work` with the sessions of `names` alive, made one after the other. Under `"release"`
   * each is released when the last hold on it ends.
   */
  async hold<T>(
    names: readonly string[],
    work: (sessions: ModelSession[]) => Promise<T>,
  ): Promise<T> {
    const held: string[] = [];
    try {
      const sessions: ModelSession[] = [];
      for (const name of names) {
        const session = await this.open(name);
        this.#slots.get(name)!.holds++;
        held.push(name);
        sessions.push(session);
      }
      return await work(sessions);
    } finally {
      for (const name of held) await this.#unhold(name);
    }
  }

  /** Releases every session; later `open` and `hold` calls reject. */
  async releaseAll(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.all(slots.map(async (slot) => {
      const session = await slot.session.catch(() => null);
      await session?.release();
    }));
  }

  async #unhold(name: string): Promise<void> {
    const slot = this.#slots.get(name);
    if (slot === undefined) return;
    slot.holds--;
    if (this.policy === "keep" || slot.holds > 0) return;
    this.#slots.delete(name);
    await (await slot.session).release();
  }
}

function assemble(
  manifest: Manifest,
  device: DeviceName,
  variants: readonly VariantChoice[],
  sessions: SessionSlots,
): ModelComponents {
  const componentOf = (kind: ManifestComponent["kind"], role?: "context" | "pooled") =>
    manifest.components.find((candidate) =>
      candidate.kind === kind &&
      (role === undefined || (candidate.role ?? "both") === "both" || candidate.role === role)
    )!.name;
  const contextEncoder = componentOf("text-encoder", "context");
  const pooledEncoder = componentOf("text-encoder", "pooled");
  const vqEncoder = componentOf("vq-encoder");
  const vqDecoder = componentOf("vq-decoder");
  const transformer = componentOf("transformer");
  const { vq, text, resolution } = manifest;
  const tokenCount = vq.grid.height * vq.grid.width;
  const pixelCount = 3 * resolution.height * resolution.width;
  const tokenDims = [1, vq.grid.height, vq.grid.width];
  const run = (name: string, feeds: NamedTensors) =>
    sessions.hold([name], ([session]) => session.run(feeds));
  /** Runs the encoder `name` over every prompt's ids of `role`, in one hold. */
  const encodeAll = (name: string, all: readonly Int32Array[], role: "context" | "pooled") =>
    sessions.hold([name], async ([session]) => {
      const outputs: NamedTensors[] = [];
      for (const ids of all) outputs.push(await runEncoder(session, padIds(manifest, ids, role)));
      return outputs;
    });

  const encodeTexts = async (all: readonly TextTokenIds[]): Promise<TextFeatures[]> => {
    if (all.length === 0) return [];
    if (contextEncoder === pooledEncoder) {
      const outputs = await encodeAll(
        contextEncoder,
        all.map((ids) => idsOf(ids, "context")),
        "context",
      );
      return outputs.map((output) => ({
        context: readFloat32(output, "context", text.length * text.contextDim),
        pooled: readFloat32(output, "pooled", text.pooledDim),
      }));
    }
    const split = all.map((ids) => {
      if (ids instanceof Int32Array) {
        throw new EditMGTError(
          "invalid_input",
          "this model has separate context and pooled text encoders: pass { context, pooled } token ids",
        );
      }
      return ids;
    });
    const contexts = await encodeAll(contextEncoder, split.map((ids) => ids.context), "context");
    const pooled = await encodeAll(pooledEncoder, split.map((ids) => ids.pooled), "pooled");
    return contexts.map((output, index) => ({
      context: readFloat32(output, "context", text.length * text.contextDim),
      pooled: readFloat32(pooled[index], "pooled", text.pooledDim),
    }));
  };
  const kindNames = (kind: GraphKind) =>
    manifest.components.filter((component) => component.kind === kind).map((c) => c.name);

  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await sessions.releaseAll();
  };

  return {
    manifest,
    device,
    dtypes: dtypesOf(variants),
    variants,
    memory: sessions.policy,
    encodeTexts,
    async encodeText(ids: TextTokenIds): Promise<TextFeatures> {
      const [features] = await encodeTexts([ids]);
      return features;
    },
    async vqEncode(pixels: Float32Array): Promise<Int32Array> {
      requireLength("pixels", pixels, pixelCount);
      const outputs = await run(vqEncoder, {
        pixels: float32Tensor(pixels, [1, 3, resolution.height, resolution.width]),
      });
      return readTokenIds(outputs, "tokens", tokenCount, vq.codebookSize);
    },
    async vqDecode(tokens: Int32Array): Promise<Float32Array> {
      requireLength("tokens", tokens, tokenCount);
      const outputs = await run(vqDecoder, { tokens: int64Tensor(tokens, tokenDims) });
      return readFloat32(outputs, "pixels", pixelCount);
    },
    stepModel: (guidance) => createStepModel(manifest, sessions, transformer, guidance),
    withSessions: (kinds, work) => sessions.hold(kinds.flatMap(kindNames), () => work()),
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
  sessions: SessionSlots,
  name: string,
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
  const microConds = float32Tensor(Float32Array.from(transformer.microConds), [
    transformer.microConds.length,
  ]);
  return {
    async step(input: StepInput, signal?: AbortSignal): Promise<StepOutput> {
      requireLength("tokens", input.tokens, tokenCount);
      requireLength("refTokens", input.refTokens, tokenCount);
      requireLength("uniform", input.uniform, tokenCount);
      if (signal?.aborted) {
        throw new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
      }
      const feeds: NamedTensors = {
        ...textFeeds,
        tokens: int64Tensor(input.tokens, tokenDims),
        ref_tokens: int64Tensor(input.refTokens, tokenDims),
        timestep: float32Tensor(new Float32Array([input.timestep]), [1]),
        log_gamma: float32Scalar(input.logGamma),
        guidance_scale: float32Scalar(input.guidanceScale),
        uniform: float32Tensor(input.uniform, [1, tokenCount]),
      };
      const outputs = await sessions.hold([name], ([session]) =>
        session.run(
          session.inputNames.includes("micro_conds")
            ? { ...feeds, micro_conds: microConds }
            : feeds,
        ));
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
