/**
 * The edit CLI:
 *
 * ```sh
 * deno task edit -- in.png "make the red circle blue" -o out.png --seed 7 --heatmap map.png
 * ```
 *
 * Decodes the input, runs the edit in the engine's Worker with a progress bar on stderr, writes
 * the output (PNG, JPEG or WebP by extension) and prints the seed on stdout. Exit codes: 0 done,
 * 2 bad usage, 3 bad input, 4 runtime failure, 130 interrupted. `--help` lists every option.
 *
 * @module
 */

import { createEngine } from "../../src/engine/mod.ts";
import { describeDtypes } from "../../src/model/variants.ts";
import { EditMGTError, isEditMGTError } from "../../src/errors/mod.ts";
import { decodeImage, encodeImage } from "../../src/image/codec.ts";
import { renderHeatmap } from "../../src/image/heatmap.ts";
import type { ImageFormat, RgbaImage } from "../../src/image/types.ts";
import { checkInstruction } from "../../src/pipeline/text.ts";
import { type EditCommand, HELP, parseCommand, UsageError } from "./args.ts";
import { createProgressDisplay } from "./progress.ts";

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  usage: 2,
  input: 3,
  runtime: 4,
  interrupted: 130,
} as const;

/** Error codes caused by the request's content (the image, mask or instruction). */
const INPUT_ERRORS: ReadonlySet<string> = new Set([
  "invalid_input",
  "unsupported_format",
  "payload_too_large",
  "image_too_large",
  "corrupt_image",
]);

/** The exit code for a failure. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || isEditMGTError(error, "invalid_option")) return EXIT.usage;
  if (isEditMGTError(error, "aborted")) return EXIT.interrupted;
  if (isEditMGTError(error) && INPUT_ERRORS.has(error.code)) return EXIT.input;
  return EXIT.runtime;
}

/** The model used without `--model`: the trained tiny model, else the random test model. */
function defaultModel(): string {
  const trained = new URL("../../models/editmgt-tiny/manifest.json", import.meta.url);
  const fixture = new URL("../../tests/fixtures/tiny-random/manifest.json", import.meta.url);
  try {
    Deno.statSync(trained);
    return trained.href;
  } catch {
    return fixture.href;
  }
}

/** The output format for a file name, from its extension. */
export function formatOf(path: string): ImageFormat {
  const extension = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  switch (extension) {
    case "png":
      return "png";
    case "jpg":
    case "jpeg":
      return "jpeg";
    case "webp":
      return "webp";
  }
  throw new UsageError(`cannot tell the image format of "${path}": use .png, .jpg or .webp`);
}

/** Reads an input file; a missing or unreadable file is bad input. */
async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (cause) {
    throw new EditMGTError(
      "invalid_input",
      `cannot read the ${what} ${path}: ${cause instanceof Error ? cause.message : cause}`,
      { cause },
    );
  }
}

async function decodeInput(path: string, what: string): Promise<RgbaImage> {
  const { width, height, data } = await decodeImage(await readInput(path, what));
  return { width, height, data };
}

/** Runs one edit as the command says. Returns the exit code. */
async function run(command: EditCommand): Promise<number> {
  const format = formatOf(command.output);
  if (command.heatmap !== undefined) formatOf(command.heatmap);
  checkInstruction(command.instruction);
  const image = await decodeInput(command.input, "input image");
  const mask = command.mask === undefined ? undefined : await decodeInput(command.mask, "mask");

  const display = createProgressDisplay(
    (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    !command.quiet && Deno.stderr.isTerminal(),
  );
  const report = command.quiet ? undefined : display.update;
  const engine = createEngine({
    manifest: command.model ?? defaultModel(),
    device: command.device,
    backend: command.threads === undefined ? undefined : { threads: command.threads },
    dtype: command.dtype,
    memory: command.memory,
    onProgress: report,
  });
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    await engine.ready;
    const result = await engine.edit(
      { image, instruction: command.instruction, mask, options: command.options },
      { signal: controller.signal, onProgress: report },
    );
    display.finish();
    await writeOutput(command.output, await encodeImage(result.image, { format }));
    if (command.heatmap !== undefined) {
      const heatmap = renderHeatmap(image, result.localization);
      await writeOutput(
        command.heatmap,
        await encodeImage(heatmap, { format: formatOf(command.heatmap) }),
      );
    }
    console.log(`seed: ${result.seed}`);
    if (!command.quiet) {
      const edited = result.mask.data.reduce((sum, flag) => sum + flag, 0);
      console.error(
        `wrote ${command.output} (${result.image.width}x${result.image.height}) on ` +
          `${result.device} (${describeDtypes(result.dtypes)}) in ${
            Math.round(result.timings.totalMs)
          } ms; lambda ` +
          `${
            result.localization.lambda.toFixed(3)
          }, ${edited}/${result.mask.data.length} tokens edited`,
      );
    }
    return EXIT.ok;
  } finally {
    display.finish();
    Deno.removeSignalListener("SIGINT", interrupt);
    await engine.dispose();
  }
}

async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await Deno.writeFile(path, bytes);
  } catch (cause) {
    throw new EditMGTError("internal", `cannot write ${path}: ${cause}`, { cause });
  }
}

/** The CLI: parses `args`, runs, reports errors on stderr, returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const parsed = parseCommand(args);
    if (parsed.help) {
      console.log(HELP);
      return EXIT.ok;
    }
    return await run(parsed.command);
  } catch (error) {
    const code = exitCodeOf(error);
    const label = isEditMGTError(error) ? `error (${error.code})` : "error";
    console.error(`${label}: ${error instanceof Error ? error.message : error}`);
    if (code === EXIT.usage) console.error("run with --help for usage");
    return code;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
