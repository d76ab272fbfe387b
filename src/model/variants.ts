/**
 * Weight variants: which files of each graph component a load reads, chosen by device, by what
 * the backend can run and by the caller's `dtype` (as in transformers.js: `"auto"`, one weight
 * type for every component, or one per component). Pure: no I/O, so the SDK can choose before
 * it downloads anything and the worker then loads exactly what was downloaded.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { Manifest, ManifestComponent, ManifestFile } from "../schema/manifest.ts";
import { COMPONENT_DTYPES, type ComponentDtype } from "../schema/manifest_names.ts";
import type { BackendCapabilities, DeviceName } from "./backend.ts";

/**
 * Which weights to load. `"auto"` (the default): per component, the first variant the manifest
 * lists for the device that the backend can run, else the base files. One weight type: every
 * graph component that offers it loads it, the others keep their base (at least one must offer
 * it). A record names components (graph component name to weight type, or `"auto"`); the
 * components it names must offer that weight type, the others are `"auto"`.
 */
export type DtypeRequest =
  | "auto"
  | ComponentDtype
  | Readonly<Record<string, "auto" | ComponentDtype>>;

/** What {@linkcode chooseVariant} and {@linkcode chooseVariants} choose by. */
export interface VariantOptions {
  /** The device the sessions will run on. */
  device: DeviceName;
  /** What that device's backend can run (fp16 needs `shader-f16` on WebGPU). */
  capabilities: BackendCapabilities;
  /** The caller's request; default `"auto"`. */
  dtype?: DtypeRequest;
}

/** The files one graph component loads, and why. */
export interface VariantChoice {
  /** The component's name. */
  component: string;
  /** Weight type of the chosen files. */
  dtype: ComponentDtype;
  /** The chosen files: the base files or one variant's. */
  files: readonly ManifestFile[];
  /** Whether the files are a variant's (false: the component's base files). */
  variant: boolean;
  /** Measured peak memory in bytes of a session of these files, when the manifest says. */
  peakBytes?: number;
  /** Bytes of the largest single tensor of these files, when the manifest says. */
  maxTensorBytes?: number;
  /** What was asked for this component. */
  requested: "auto" | ComponentDtype;
  /** Why these files, in words (for logs, the CLI and the demo page). */
  reason: string;
}

/** Weight type of a component's base files: a graph without `dtype` is fp32. */
export function baseDtype(component: ManifestComponent): ComponentDtype {
  return component.dtype ?? "fp32";
}

/** Every weight type a component offers: the base first, then its variants in manifest order. */
export function offeredDtypes(component: ManifestComponent): ComponentDtype[] {
  return [baseDtype(component), ...(component.variants ?? []).map((variant) => variant.dtype)];
}

/** Whether a backend with `capabilities` can run graphs of weight type `dtype`. */
function canRun(dtype: ComponentDtype, capabilities: BackendCapabilities): boolean {
  return dtype !== "fp16" || capabilities.fp16;
}

/**
 * Chooses the files of one graph component. `"auto"`: the first variant whose `devices` include
 * the device and that the backend can run, else the base files; when the backend cannot run
 * the base (fp16 without `shader-f16`), the first variant it can run. An explicit weight type:
 * the base or the variant of that type, else the base (then `dtype !== requested`). It checks
 * nothing about the backend for an explicit request: {@linkcode chooseVariants} does.
 *
 * @example
 * ```ts
 * import { chooseVariant } from "@editmgt/editmgt/model";
 *
 * const choice = chooseVariant({
 *   name: "transformer",
 *   kind: "transformer",
 *   dtype: "fp32",
 *   files: [{ path: "transformer.onnx", sha256: "ab".repeat(32), bytes: 4_000_000_000 }],
 *   variants: [{
 *     dtype: "fp16",
 *     devices: ["webgpu"],
 *     files: [{ path: "transformer.fp16.onnx", sha256: "cd".repeat(32), bytes: 2_000_000_000 }],
 *   }],
 * }, { device: "webgpu", capabilities: { fp16: true } });
 * console.log(choice.dtype, choice.files[0].path); // fp16 transformer.fp16.onnx
 * ```
 */
export function chooseVariant(
  component: ManifestComponent,
  options: {
    device: DeviceName;
    capabilities: BackendCapabilities;
    dtype?: "auto" | ComponentDtype;
  },
): VariantChoice {
  const { device, capabilities } = options;
  const requested = options.dtype ?? "auto";
  const base = baseDtype(component);
  const variants = component.variants ?? [];
  const choice = (
    files: {
      dtype: ComponentDtype;
      files: ManifestFile[];
      peakBytes?: number;
      maxTensorBytes?: number;
    },
    variant: boolean,
    reason: string,
  ): VariantChoice => ({
    component: component.name,
    dtype: files.dtype,
    files: files.files,
    variant,
    ...(files.peakBytes === undefined ? {} : { peakBytes: files.peakBytes }),
    ...(files.maxTensorBytes === undefined ? {} : { maxTensorBytes: files.maxTensorBytes }),
    requested,
    reason,
  });
  const baseFiles = {
    dtype: base,
    files: component.files,
    peakBytes: component.peakBytes,
    maxTensorBytes: component.maxTensorBytes,
  };

  if (requested !== "auto") {
    if (requested === base) return choice(baseFiles, false, `asked for ${requested}`);
    const match = variants.find((variant) => variant.dtype === requested);
    if (match !== undefined) return choice(match, true, `asked for ${requested}`);
    return choice(baseFiles, false, `offers no ${requested} weights; keeps its ${base} base`);
  }
  const listed = variants.find((variant) =>
    (variant.devices ?? []).includes(device) && canRun(variant.dtype, capabilities)
  );
  if (listed !== undefined) {
    return choice(listed, true, `auto on ${device}: the ${listed.dtype} variant listed for it`);
  }
  if (canRun(base, capabilities)) {
    return choice(baseFiles, false, `auto on ${device}: the ${base} base`);
  }
  const runnable = variants.find((variant) => canRun(variant.dtype, capabilities));
  if (runnable !== undefined) {
    return choice(
      runnable,
      true,
      `auto on ${device}: the ${runnable.dtype} variant, as the ${base} base needs shader-f16`,
    );
  }
  return choice(baseFiles, false, `auto on ${device}: the ${base} base, the only weights offered`);
}

/**
 * Chooses the files of every graph component of `manifest` (in manifest order; tokenizers have
 * no weights) for a device, its backend's capabilities and the caller's `dtype`.
 *
 * @throws {EditMGTError} `invalid_option` for a malformed request (an unknown weight type, a
 * record naming no graph component of the model); `invalid_input` when no graph component
 * offers the weight type asked for, or a component named in a record does not offer its type
 * (the message lists what the model offers); `backend_unavailable` when a chosen component has
 * fp16 weights that the backend cannot run (WebGPU without `shader-f16`).
 *
 * @example
 * ```ts
 * import { chooseVariants, parseManifest } from "@editmgt/editmgt/model";
 *
 * const manifest = parseManifest(
 *   JSON.parse(await Deno.readTextFile("tests/fixtures/tiny-random/manifest.json")),
 * );
 * const choices = chooseVariants(manifest, {
 *   device: "node",
 *   capabilities: { fp16: true },
 *   dtype: "auto",
 * });
 * console.log(choices.map((choice) => `${choice.component}: ${choice.dtype}`));
 * ```
 */
export function chooseVariants(manifest: Manifest, options: VariantOptions): VariantChoice[] {
  const graphs = manifest.components.filter((component) => component.kind !== "tokenizer");
  const request = options.dtype ?? "auto";
  const perComponent = requestedDtypes(graphs, request);
  const choices = graphs.map((component) =>
    chooseVariant(component, { ...options, dtype: perComponent(component.name) })
  );
  const unmet = choices.filter((choice) =>
    choice.requested !== "auto" && choice.requested !== choice.dtype
  );
  const strict = typeof request === "object";
  if (unmet.length > 0 && (strict || unmet.length === choices.length)) {
    const offered = Object.fromEntries(graphs.map((c) => [c.name, offeredDtypes(c)]));
    const offers = Object.entries(offered).map(([name, dtypes]) => `${name}: ${dtypes.join(", ")}`)
      .join("; ");
    const what = strict
      ? unmet.map((choice) => `${choice.component} offers no ${choice.requested} weights`)
        .join("; ")
      : `no component of model ${manifest.id} offers ${request} weights`;
    throw new EditMGTError(
      "invalid_input",
      `${what} (the model offers ${offers}); ask for one of those`,
      {
        details: { dtype: request, offered },
      },
    );
  }
  const fp16 = choices.filter((choice) => !canRun(choice.dtype, options.capabilities));
  if (fp16.length > 0) {
    const names = fp16.map((choice) => choice.component);
    throw new EditMGTError(
      "backend_unavailable",
      `${
        names.join(", ")
      } would load fp16 weights, which the ${options.device} device cannot run here (WebGPU needs the shader-f16 feature); ask for another dtype or use another device`,
      { details: { device: options.device, components: names } },
    );
  }
  return choices;
}

/** The weight type each component name was asked for, after checking the request's shape. */
function requestedDtypes(
  graphs: readonly ManifestComponent[],
  request: DtypeRequest,
): (name: string) => "auto" | ComponentDtype {
  if (typeof request === "string") {
    requireDtype(request, "dtype");
    return () => request;
  }
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    throw new EditMGTError(
      "invalid_option",
      `dtype must be "auto", one of ${
        COMPONENT_DTYPES.join(", ")
      }, or a record of component names to those; got ${JSON.stringify(request)}`,
    );
  }
  const names = graphs.map((component) => component.name);
  for (const [name, dtype] of Object.entries(request)) {
    if (!names.includes(name)) {
      throw new EditMGTError(
        "invalid_option",
        `dtype names "${name}", which is not a graph component of this model (it has ${
          names.join(", ")
        })`,
      );
    }
    requireDtype(dtype, `dtype.${name}`);
  }
  return (name) => Object.hasOwn(request, name) ? request[name] : "auto";
}

function requireDtype(value: unknown, where: string): void {
  if (value !== "auto" && !(COMPONENT_DTYPES as readonly unknown[]).includes(value)) {
    throw new EditMGTError(
      "invalid_option",
      `${where} must be "auto" or one of ${COMPONENT_DTYPES.join(", ")}; got ${
        JSON.stringify(value)
      }`,
    );
  }
}

/** The weight type each component was loaded with, by component name. */
export function dtypesOf(choices: readonly VariantChoice[]): Record<string, ComponentDtype> {
  return Object.fromEntries(choices.map((choice) => [choice.component, choice.dtype]));
}

/**
 * The weight types of a load in words, for logs and progress lines.
 *
 * @example
 * ```ts
 * import { describeDtypes } from "@editmgt/editmgt/model";
 *
 * describeDtypes({ text_encoder: "fp32", transformer: "q4" }); // "text_encoder fp32, transformer q4"
 * ```
 */
export function describeDtypes(dtypes: Readonly<Record<string, ComponentDtype>>): string {
  return Object.entries(dtypes).map(([name, dtype]) => `${name} ${dtype}`).join(", ");
}

/**
 * Parses a `dtype` given as text (a CLI flag, an environment variable): `auto`, one weight type
 * (`fp32`, `fp16`, `int8`, `q4`), or comma-separated `component=type` pairs.
 *
 * @throws {EditMGTError} `invalid_option` for anything else.
 *
 * @example
 * ```ts
 * import { parseDtypeRequest } from "@editmgt/editmgt/model";
 *
 * console.log(parseDtypeRequest("q4")); // "q4"
 * console.log(parseDtypeRequest("transformer=q4,text_encoder=int8"));
 * // { transformer: "q4", text_encoder: "int8" }
 * ```
 */
export function parseDtypeRequest(text: string): DtypeRequest {
  const trimmed = text.trim();
  if (!trimmed.includes("=")) {
    requireDtype(trimmed, "dtype");
    return trimmed as DtypeRequest;
  }
  const record: Record<string, "auto" | ComponentDtype> = {};
  for (const pair of trimmed.split(",")) {
    const [name, dtype, ...rest] = pair.split("=").map((part) => part.trim());
    if (!name || dtype === undefined || rest.length > 0) {
      throw new EditMGTError(
        "invalid_option",
        `dtype "${text}": expected component=type pairs separated by commas, e.g. transformer=q4`,
      );
    }
    requireDtype(dtype, `dtype ${name}`);
    record[name] = dtype as "auto" | ComponentDtype;
  }
  return record;
}
