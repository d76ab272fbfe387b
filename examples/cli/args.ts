/**
 * Command-line arguments of the edit CLI: parsing, validation and the help text. Bad usage is a
 * {@linkcode UsageError}; option values go through the shared `EditOptionsSchema`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEVICE_NAMES, type DeviceName, isDeviceName } from "../../src/schema/devices.ts";
import { MEMORY_REQUESTS, type MemoryRequest } from "../../src/model/memory.ts";
import { type DtypeRequest, parseDtypeRequest } from "../../src/model/variants.ts";
import { type EditOptions, EditOptionsSchema } from "../../src/schema/options.ts";
import { parseWith } from "../../src/schema/parse.ts";

/** Everything the CLI was asked to do. */
export interface EditCommand {
  /** Source image path. */
  input: string;
  /** The instruction. */
  instruction: string;
  /** Output image path (its extension picks PNG, JPEG or WebP). */
  output: string;
  /** Inpainting mask image path. */
  mask?: string;
  /** Where to write the localization heatmap. */
  heatmap?: string;
  /** Device to run on. */
  device: DeviceName;
  /** Model manifest path or URL; the default model when absent. */
  model?: string;
  /** onnxruntime threads (node and wasm devices); the backend's default when absent. */
  threads?: number;
  /** Which weights to load (`--dtype`); "auto" when absent. */
  dtype: DtypeRequest;
  /** Keep every session or load each graph per phase (`--memory`); "auto" when absent. */
  memory: MemoryRequest;
  /** Options of the edit. */
  options: EditOptions;
  /** Print nothing but errors and the seed. */
  quiet: boolean;
}

/** The result of parsing: run an edit, or print the help. */
export type ParsedCommand = { help: true } | { help: false; command: EditCommand };

/** Wrong flags, missing arguments or out-of-range values: exit code 2. */
export class UsageError extends Error {
  /** Creates the error with what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The help text. */
export const HELP = `edit: instruction-based image editing with EditMGT

Usage:
  deno task edit -- <input> "<instruction>" -o <output> [options]

Arguments:
  <input>                 source image (PNG, JPEG or WebP)
  <instruction>           what to change, e.g. "make the red circle blue"

Options:
  -o, --output <file>     output image; .png, .jpg/.jpeg or .webp (required)
  --steps <n>             decoding steps (model default)
  --guidance <g>          classifier-free guidance scale (model default)
  --gamma <g>             attention-injection strength, > 0; 1 is neutral (model default)
  --lambda <auto|x>       region-hold threshold in [0, 1], or "auto" (model default)
  --seed <n>              random seed; the same seed on the same device gives the same image
  --rows <keywords|all>   text rows of the localization map (default keywords)
  --focus "<phrase>"      localize on this phrase of the instruction
  --negative-prompt <t>   text of the unconditional half of guidance
  --mask <file>           inpainting mask image of the input's size: white = regenerate
  --heatmap <file>        also write the localization heatmap over the input
  --no-composite          keep the raw model output (no pixel-exact paste of kept regions)
  --fit <squash|pad>      a non-square image: squash it to the model's square (default, as
                          upstream) or pad it, keeping its aspect ratio (padding held, cropped)
  --device <d>            ${DEVICE_NAMES.join(", ")} (default node: onnxruntime on the CPU)
  --model <path|url>      model manifest (default models/editmgt-tiny, else the test model)
  --threads <n>           onnxruntime threads (node, wasm); 1 is fastest for small models
  --dtype <d>             weights: auto (default: the variant the model lists for the device),
                          fp32, fp16, int8 or q4 for every component that offers it, or
                          per component: transformer=q4,text_encoder=int8
  --memory <m>            auto (default: release for models over 2 GiB), keep (every graph
                          loaded once) or release (each graph loaded for its phase only)
  -q, --quiet             no progress bar
  -h, --help              this text

Exit codes: 0 done, 2 bad usage, 3 bad input (image, mask, instruction), 4 runtime failure,
130 interrupted.
`;

/**
 * Parses the CLI's arguments.
 *
 * @throws {UsageError} for unknown flags, missing arguments and invalid values.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./args.ts";
 *
 * const parsed = parseCommand(["in.png", "make it blue", "-o", "out.png", "--steps", "8"]);
 * if (!parsed.help) console.log(parsed.command.options.steps); // 8
 * ```
 */
export function parseCommand(args: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      // `deno task edit -- ...` passes the "--" on; it only separates task arguments.
      args: args[0] === "--" ? args.slice(1) : [...args],
      allowPositionals: true,
      allowNegative: true,
      options: {
        output: { type: "string", short: "o" },
        steps: { type: "string" },
        guidance: { type: "string" },
        gamma: { type: "string" },
        lambda: { type: "string" },
        seed: { type: "string" },
        rows: { type: "string" },
        focus: { type: "string" },
        "negative-prompt": { type: "string" },
        mask: { type: "string" },
        heatmap: { type: "string" },
        composite: { type: "boolean" },
        fit: { type: "string" },
        memory: { type: "string" },
        device: { type: "string" },
        model: { type: "string" },
        threads: { type: "string" },
        dtype: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length !== 2) {
    const flags = positionals.filter((arg) => /^--?[a-zA-Z]/.test(arg));
    if (flags.length > 0) {
      throw new UsageError(
        `${flags.join(", ")} came after a second "--" and so were read as arguments, not ` +
          `options (options written between the task name and "--" are passed on with it): ` +
          `write one "--", right after the task name, and every option after it, as in ` +
          `deno task edit -- <input> "<instruction>" [options]`,
      );
    }
    throw new UsageError(
      `expected an input image and an instruction, got ${positionals.length} arguments ` +
        `(quote the instruction)`,
    );
  }
  if (values.output === undefined) throw new UsageError("missing -o/--output <file>");
  const device = values.device ?? "node";
  if (!isDeviceName(device)) {
    throw new UsageError(`--device must be one of ${DEVICE_NAMES.join(", ")}, got "${device}"`);
  }
  const threads = integer("threads", values.threads);
  if (threads !== undefined && threads < 1) {
    throw new UsageError(`--threads must be at least 1, got ${threads}`);
  }
  let dtype: DtypeRequest = "auto";
  try {
    if (values.dtype !== undefined) dtype = parseDtypeRequest(values.dtype);
  } catch (error) {
    throw new UsageError(`--${error instanceof Error ? error.message : String(error)}`);
  }
  const memory = (values.memory ?? "auto") as MemoryRequest;
  if (!MEMORY_REQUESTS.includes(memory)) {
    throw new UsageError(
      `--memory must be one of ${MEMORY_REQUESTS.join(", ")}, got "${values.memory}"`,
    );
  }
  const options = parseOptions({
    steps: integer("steps", values.steps),
    guidance: number("guidance", values.guidance),
    gamma: number("gamma", values.gamma),
    lambda: values.lambda === "auto" ? "auto" : number("lambda", values.lambda),
    seed: integer("seed", values.seed),
    rows: values.rows,
    focus: values.focus,
    negativePrompt: values["negative-prompt"],
    composite: values.composite,
    fit: values.fit,
  });
  return {
    help: false,
    command: {
      input: positionals[0],
      instruction: positionals[1],
      output: values.output,
      mask: values.mask,
      heatmap: values.heatmap,
      device,
      model: values.model,
      threads,
      dtype,
      memory,
      options,
      quiet: values.quiet ?? false,
    },
  };
}

/** Validates the options with the shared schema, dropping the ones not given. */
function parseOptions(raw: Record<string, unknown>): EditOptions {
  const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined));
  try {
    return parseWith(EditOptionsSchema, given, "invalid_option");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`invalid option: ${message.replace(/(^|; )(\w+):/g, "$1--$2:")}`);
  }
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed)) {
    throw new UsageError(`--${flag} must be a number, got "${value}"`);
  }
  return parsed;
}

function integer(flag: string, value: string | undefined): number | undefined {
  const parsed = number(flag, value);
  if (parsed !== undefined && !Number.isSafeInteger(parsed)) {
    throw new UsageError(`--${flag} must be an integer, got "${value}"`);
  }
  return parsed;
}
