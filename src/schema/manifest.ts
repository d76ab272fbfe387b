import { z } from "zod";
import type { Schema } from "./schema.ts";

/** Version tag of the manifest format this schema describes. */
export const MANIFEST_FORMAT = "editmgt-manifest/1";

const positiveInt = z.int().positive();
const nonNegativeInt = z.int().nonnegative();

/** A grid of tokens, in a manifest. */
export interface ManifestGrid {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/** One file of a component, checked against its sha256 before use. */
export interface ManifestFile {
  /** Path relative to the manifest, without `..` (also the file's name under `/models/:id/`). */
  path: string;
  /** sha256 of the file's bytes, 64 lowercase hex digits. */
  sha256: string;
  /** Size in bytes, known before download. */
  bytes: number;
  /** Absolute URL to fetch the file from instead of the path. */
  url?: string;
}

/** Kinds of components a model is made of. */
export type ComponentKind =
  | "tokenizer"
  | "text-encoder"
  | "vq-encoder"
  | "vq-decoder"
  | "transformer";

/** One component of a model: an ONNX graph with its external data, or a tokenizer. */
export interface ManifestComponent {
  /** Unique name, e.g. `text_encoder`. */
  name: string;
  /** What the component is. */
  kind: ComponentKind;
  /** Tokenizers and text encoders: which text features they serve. */
  role?: "context" | "pooled" | "both";
  /** Weight type of an ONNX graph. */
  dtype?: "fp32" | "fp16" | "int8";
  /** Every file, external data included. */
  files: ManifestFile[];
}

/** Default sampler settings of a model. */
export interface ManifestDefaults {
  /** Decoding steps. */
  steps: number;
  /** Classifier-free guidance scale. */
  guidance: number;
  /** Attention-injection strength gamma. */
  gamma: number;
  /** Region-hold threshold, or "auto". */
  lambda: number | "auto";
  /** Gumbel temperature: scalar or `[first, last]`. */
  temperature: number | [number, number];
  /** Mask schedule. */
  schedule: "cosine" | "linear";
  /** Negative prompt for the unconditional half. */
  negativePrompt: string;
}

/** A validated model manifest (`manifest.json`, format `editmgt-manifest/1`). */
export interface Manifest {
  /** Always {@linkcode MANIFEST_FORMAT}. */
  format: typeof MANIFEST_FORMAT;
  /** Model id, used in URLs. */
  id: string;
  /** Model version. */
  version: string;
  /** License of the weights. */
  license: string;
  /** What the model was converted or trained from. */
  source: string;
  /** Pixels the model works at. */
  resolution: { width: number; height: number };
  /** The VQ tokenizer. */
  vq: {
    /** VQ token grid. */
    grid: ManifestGrid;
    /** Number of codebook entries. */
    codebookSize: number;
    /** Id of the mask token (at least `codebookSize`). */
    maskTokenId: number;
  };
  /** The transformer step graph. */
  transformer: {
    /** Transformer token grid, after the internal 2x2 downsample. */
    grid: ManifestGrid;
    /** Meaning of the `timestep` input. */
    timestep: "step-index" | "mask-ratio";
    /** Value fed to the `micro_conds` input. */
    microConds: number[];
    /** Global block indices averaged in `text_attention`. */
    localizationBlocks: number[];
  };
  /** Text inputs. */
  text: {
    /** Context text length T (rows of `text_attention`). */
    length: number;
    /** Width of the context features. */
    contextDim: number;
    /** Width of the pooled features. */
    pooledDim: number;
    /** Pad token id of the context tokenizer. */
    padTokenId: number;
    /** Where padding goes; default right. */
    padSide?: "right" | "left";
    /** Input length of a separate pooled text encoder; default `length`. */
    pooledLength?: number;
    /** Pad id of a separate pooled tokenizer; default `padTokenId`. */
    pooledPadTokenId?: number;
  };
  /** Default sampler settings. */
  defaults: ManifestDefaults;
  /** Every component with its files. */
  components: ManifestComponent[];
}

const GridSchema = z.strictObject({
  height: positiveInt.describe("rows"),
  width: positiveInt.describe("columns"),
});

const ManifestFileSchema = z.strictObject({
  path: z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\\]+$/, "a relative path without '..'")
    .describe("path relative to the manifest (also the file's name under /models/:id/)"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits").describe(
    "sha256 of the file's bytes, lowercase hex",
  ),
  bytes: nonNegativeInt.describe("size in bytes, known before download"),
  url: z.url().optional().describe("absolute URL to fetch the file from instead of the path"),
});

/** Every {@linkcode ComponentKind}. */
export const COMPONENT_KINDS: readonly ComponentKind[] = [
  "tokenizer",
  "text-encoder",
  "vq-encoder",
  "vq-decoder",
  "transformer",
];

const ManifestComponentSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/).describe("unique name, e.g. text_encoder"),
  kind: z.enum(["tokenizer", "text-encoder", "vq-encoder", "vq-decoder", "transformer"]),
  role: z.enum(["context", "pooled", "both"]).optional().describe(
    "tokenizers and text encoders: which text features they serve",
  ),
  dtype: z.enum(["fp32", "fp16", "int8"]).optional().describe("weight type of an ONNX graph"),
  files: z.array(ManifestFileSchema).min(1).describe("every file, external data included"),
});

const ManifestDefaultsSchema = z.strictObject({
  steps: z.int().min(1).max(1000),
  guidance: z.number().nonnegative(),
  gamma: z.number().positive(),
  lambda: z.union([z.number().min(0).max(1), z.literal("auto")]),
  temperature: z.union([
    z.number().nonnegative(),
    z.tuple([z.number().nonnegative(), z.number().nonnegative()]),
  ]),
  schedule: z.enum(["cosine", "linear"]),
  negativePrompt: z.string(),
});

const manifest = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).describe("model id, used in URLs"),
  version: z.string().min(1),
  license: z.string().min(1),
  source: z.string().describe("what the model was converted or trained from"),
  resolution: z.strictObject({ width: positiveInt, height: positiveInt }).describe(
    "pixels the model works at",
  ),
  vq: z.strictObject({
    grid: GridSchema.describe("VQ token grid"),
    codebookSize: positiveInt,
    maskTokenId: nonNegativeInt.describe("at least codebookSize"),
  }),
  transformer: z.strictObject({
    grid: GridSchema.describe("transformer token grid, after the internal 2x2 downsample"),
    timestep: z.enum(["step-index", "mask-ratio"]).describe("meaning of the timestep input"),
    microConds: z.array(z.number()).describe("value fed to the micro_conds input"),
    localizationBlocks: z.array(nonNegativeInt).describe(
      "global block indices averaged in text_attention",
    ),
  }),
  text: z.strictObject({
    length: positiveInt.describe("context text length T (rows of text_attention)"),
    contextDim: positiveInt,
    pooledDim: positiveInt,
    padTokenId: nonNegativeInt,
    padSide: z.enum(["right", "left"]).optional().describe("where padding goes; default right"),
    pooledLength: positiveInt.optional().describe(
      "input length of a separate pooled text encoder; default length",
    ),
    pooledPadTokenId: nonNegativeInt.optional().describe(
      "pad id of a separate pooled tokenizer; default padTokenId",
    ),
  }),
  defaults: ManifestDefaultsSchema,
  components: z.array(ManifestComponentSchema).min(1),
}).superRefine((value, context) => {
  if (value.vq.maskTokenId < value.vq.codebookSize) {
    context.addIssue({
      code: "custom",
      path: ["vq", "maskTokenId"],
      message: "maskTokenId must be outside the codebook (>= codebookSize)",
    });
  }
  const names = new Set<string>();
  value.components.forEach((component, index) => {
    if (names.has(component.name)) {
      context.addIssue({
        code: "custom",
        path: ["components", index, "name"],
        message: `duplicate component name "${component.name}"`,
      });
    }
    names.add(component.name);
  });
  for (const kind of ["vq-encoder", "vq-decoder", "transformer"] as const) {
    const count = value.components.filter((component) => component.kind === kind).length;
    if (count !== 1) {
      context.addIssue({
        code: "custom",
        path: ["components"],
        message: `a model needs exactly one ${kind} component, found ${count}`,
      });
    }
  }
  for (const kind of ["tokenizer", "text-encoder"] as const) {
    const roles = new Set(
      value.components.filter((component) => component.kind === kind)
        .flatMap((component) =>
          component.role === "both" ? ["context", "pooled"] : [component.role ?? "both"]
        ),
    );
    if (roles.has("both")) roles.add("context").add("pooled");
    for (const role of ["context", "pooled"]) {
      if (kind === "text-encoder" && !roles.has(role)) {
        context.addIssue({
          code: "custom",
          path: ["components"],
          message: `no text-encoder serves the ${role} features`,
        });
      }
    }
    if (kind === "tokenizer" && !roles.has("context")) {
      context.addIssue({
        code: "custom",
        path: ["components"],
        message: "no tokenizer serves the context text encoder",
      });
    }
  }
});

/**
 * Schema of a model package's `manifest.json` (format `editmgt-manifest/1`). The one definition:
 * the generated `manifest.schema.json` next to it is what the Python tools validate against.
 */
export const ManifestSchema: Schema<Manifest> = manifest;

/** The JSON Schema (draft 2020-12) of {@linkcode ManifestSchema}, as committed in `manifest.schema.json`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $id: "https://jsr.io/@editmgt/editmgt/src/schema/manifest.schema.json",
    title: "EditMGT model manifest",
    ...z.toJSONSchema(manifest, { target: "draft-2020-12", unrepresentable: "throw" }),
  };
}
