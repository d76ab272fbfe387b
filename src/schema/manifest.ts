import { z } from "zod";
import type { Schema } from "./schema.ts";
import { DEVICE_NAMES, type DeviceName } from "./devices.ts";
import {
  COMPONENT_DTYPES,
  type ComponentDtype,
  type ComponentKind,
  MANIFEST_FORMAT,
} from "./manifest_names.ts";

export {
  COMPONENT_DTYPES,
  COMPONENT_KINDS,
  type ComponentDtype,
  type ComponentKind,
  MANIFEST_FORMAT,
} from "./manifest_names.ts";

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
  /**
   * The file cut into parts of `bytes` bytes (the last one shorter), each with its own sha256:
   * a download verifies every part as it arrives and fetches again only a part that fails.
   */
  parts?: ManifestFileParts;
}

/** Per-part hashes of a file, for downloads that verify and resume part by part. */
export interface ManifestFileParts {
  /** Size of every part but the last, a multiple of 64. */
  bytes: number;
  /** sha256 of each part in order, 64 lowercase hex digits each. */
  sha256: string[];
}

/** Devices a manifest can name: every `DeviceName` (see `DEVICE_NAMES`). */
export type ManifestDevice = DeviceName;

/**
 * Another weight type of a component's graph: the same inputs and outputs, other files. A
 * client picks one per device and per the caller's `dtype` before downloading.
 */
export interface ManifestVariant {
  /** Weight type; unique within the component and different from the base `dtype`. */
  dtype: ComponentDtype;
  /** Every file of this variant, external data included (same entry shape as the base). */
  files: ManifestFile[];
  /** Devices on which `dtype: "auto"` picks this variant; absent: never picked by default. */
  devices?: ManifestDevice[];
  /** Measured peak memory in bytes of a session of these files, when known. */
  peakBytes?: number;
  /** Bytes of the largest single tensor (initializer) of these files, when known. */
  maxTensorBytes?: number;
}

/** One component of a model: an ONNX graph with its external data, or a tokenizer. */
export interface ManifestComponent {
  /** Unique name, e.g. `text_encoder`. */
  name: string;
  /** What the component is. */
  kind: ComponentKind;
  /** Tokenizers and text encoders: which text features they serve. */
  role?: "context" | "pooled" | "both";
  /** Weight type of the base files of an ONNX graph; a graph without it is fp32. */
  dtype?: ComponentDtype;
  /** Every file, external data included. */
  files: ManifestFile[];
  /** Measured peak memory in bytes of a session of the base files, when known. */
  peakBytes?: number;
  /**
   * Bytes of the largest single tensor (initializer) of the base files, when known: on WebGPU it
   * must fit in one buffer (`maxBufferSize`, `maxStorageBufferBindingSize`).
   */
  maxTensorBytes?: number;
  /** Other weight types of the same graph (graph components only). */
  variants?: ManifestVariant[];
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
    /** Where a separate pooled encoder's padding goes; default right (CLIP), whatever `padSide` is. */
    pooledPadSide?: "right" | "left";
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

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits");

const ManifestFileSchema = z.strictObject({
  path: z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\\]+$/, "a relative path without '..'")
    .describe("path relative to the manifest (also the file's name under /models/:id/)"),
  sha256: sha256Hex.describe("sha256 of the file's bytes, lowercase hex"),
  bytes: nonNegativeInt.describe("size in bytes, known before download"),
  url: z.url().optional().describe("absolute URL to fetch the file from instead of the path"),
  parts: z.strictObject({
    bytes: positiveInt.refine((bytes) => bytes % 64 === 0, "a multiple of 64").describe(
      "size of every part but the last",
    ),
    sha256: z.array(sha256Hex).min(1).describe("sha256 of each part in order"),
  }).optional().describe("the file cut into parts, each with its own sha256"),
}).superRefine((file, context) => {
  if (file.parts === undefined) return;
  const count = Math.max(1, Math.ceil(file.bytes / file.parts.bytes));
  if (file.parts.sha256.length !== count) {
    context.addIssue({
      code: "custom",
      path: ["parts", "sha256"],
      message:
        `${file.bytes} bytes in parts of ${file.parts.bytes} make ${count} parts, not ${file.parts.sha256.length}`,
    });
  }
});

const ComponentDtypeSchema = z.enum(COMPONENT_DTYPES);
const peakBytes = positiveInt.optional().describe(
  "measured peak memory in bytes of a session of these files, when known",
);
const maxTensorBytes = positiveInt.optional().describe(
  "bytes of the largest single tensor (initializer) of these files, when known",
);

const ManifestVariantSchema = z.strictObject({
  dtype: ComponentDtypeSchema.describe(
    "weight type; unique within the component and different from the base dtype",
  ),
  files: z.array(ManifestFileSchema).min(1).describe("every file, external data included"),
  devices: z.array(z.enum(DEVICE_NAMES)).optional().describe(
    'devices on which dtype "auto" picks this variant; absent: never picked by default',
  ),
  peakBytes,
  maxTensorBytes,
});

const ManifestComponentSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/).describe("unique name, e.g. text_encoder"),
  kind: z.enum(["tokenizer", "text-encoder", "vq-encoder", "vq-decoder", "transformer"]),
  role: z.enum(["context", "pooled", "both"]).optional().describe(
    "tokenizers and text encoders: which text features they serve",
  ),
  dtype: ComponentDtypeSchema.optional().describe(
    "weight type of the base files of an ONNX graph; fp32 when absent",
  ),
  files: z.array(ManifestFileSchema).min(1).describe("every file, external data included"),
  peakBytes,
  maxTensorBytes,
  variants: z.array(ManifestVariantSchema).optional().describe(
    "other weight types of the same graph (graph components only)",
  ),
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
    pooledPadSide: z.enum(["right", "left"]).optional().describe(
      "where a separate pooled encoder's padding goes; default right (CLIP), whatever padSide is",
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
    checkVariants(component, ["components", index], context);
  });
  checkSharedPaths(value.components, context);
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

type IssueSink = {
  addIssue(issue: { code: "custom"; path: PropertyKey[]; message: string }): void;
};

/** Variants: graph components only, each dtype once and never the base's. */
function checkVariants(component: ManifestComponent, path: PropertyKey[], context: IssueSink) {
  const variants = component.variants ?? [];
  if (component.kind === "tokenizer" && component.variants !== undefined) {
    context.addIssue({
      code: "custom",
      path: [...path, "variants"],
      message: "a tokenizer has no weight variants",
    });
  }
  const seen = new Set<ComponentDtype>([component.dtype ?? "fp32"]);
  variants.forEach((variant, index) => {
    if (seen.has(variant.dtype)) {
      context.addIssue({
        code: "custom",
        path: [...path, "variants", index, "dtype"],
        message: variant.dtype === (component.dtype ?? "fp32")
          ? `variant dtype ${variant.dtype} is the base files' dtype`
          : `duplicate variant dtype ${variant.dtype}`,
      });
    }
    seen.add(variant.dtype);
  });
}

/** A path listed more than once (base and variant share a file) must name the same bytes. */
function checkSharedPaths(components: readonly ManifestComponent[], context: IssueSink) {
  const byPath = new Map<string, ManifestFile>();
  components.forEach((component, index) => {
    const sets = [
      { path: ["components", index, "files"], files: component.files },
      ...(component.variants ?? []).map((variant, variantIndex) => ({
        path: ["components", index, "variants", variantIndex, "files"],
        files: variant.files,
      })),
    ];
    for (const set of sets) {
      set.files.forEach((file, fileIndex) => {
        const earlier = byPath.get(file.path);
        if (
          earlier !== undefined && (earlier.sha256 !== file.sha256 || earlier.bytes !== file.bytes)
        ) {
          context.addIssue({
            code: "custom",
            path: [...set.path, fileIndex, "path"],
            message: `${file.path} is listed twice with different sha256 or bytes`,
          });
        }
        byPath.set(file.path, earlier ?? file);
      });
    }
  });
}

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
