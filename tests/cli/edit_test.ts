import assert from "node:assert/strict";
import { decodeImage, encodeImage } from "../../src/image/codec.ts";
import { diskImage } from "../pipeline/fixture.ts";
import { buildVariantPackage } from "../_shared/variant_package.ts";

const CLI = new URL("../../examples/cli/edit.ts", import.meta.url).pathname;
const MODEL = new URL("../fixtures/tiny-random/", import.meta.url).pathname;
const IMAGES = new URL("../fixtures/images/", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

const folder = await Deno.makeTempDir({ prefix: "editmgt-cli-" });
const input = `${folder}/in.png`;
await Deno.writeFile(input, await encodeImage(diskImage(45, 33)));
const instruction = "make the red circle blue";

Deno.test("the CLI writes the edited image at the input's size, a heatmap, and prints the seed", async () => {
  const output = `${folder}/out.png`;
  const heatmap = `${folder}/map.png`;
  const run = await cli(
    "--",
    input,
    instruction,
    "-o",
    output,
    "--seed",
    "42",
    "--steps",
    "4",
    "--heatmap",
    heatmap,
    "--model",
    MODEL,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^seed: 42$/m);
  assert.match(run.stderr, /edit\s+4\/4/);
  const edited = await decodeImage(await Deno.readFile(output));
  assert.deepEqual([edited.width, edited.height], [45, 33]);
  const map = await decodeImage(await Deno.readFile(heatmap));
  assert.deepEqual([map.width, map.height], [45, 33]);

  const again = `${folder}/again.png`;
  const rerun = await cli(
    input,
    instruction,
    "-o",
    again,
    "--seed",
    "42",
    "--steps",
    "4",
    "--model",
    MODEL,
    "-q",
  );
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal(rerun.stderr, "");
  assert.deepEqual(await Deno.readFile(again), await Deno.readFile(output));
});

Deno.test("the CLI picks the output format from the extension", async () => {
  const output = `${folder}/out.jpg`;
  const run = await cli(
    input,
    instruction,
    "-o",
    output,
    "--steps",
    "2",
    "--model",
    MODEL,
    "--no-composite",
    "-q",
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^seed: \d+$/m);
  const bytes = await Deno.readFile(output);
  assert.deepEqual([bytes[0], bytes[1]], [0xff, 0xd8]);
});

Deno.test("--help prints the usage and exits 0", async () => {
  const run = await cli("--help");
  assert.equal(run.code, 0);
  assert.match(run.stdout, /Usage:/);
  assert.match(run.stdout, /--lambda <auto\|x>/);
});

const USAGE: [string, string[]][] = [
  ["no output", [input, instruction]],
  ["an unknown flag", [input, instruction, "-o", "x.png", "--bogus"]],
  ["a non-numeric --steps", [input, instruction, "-o", "x.png", "--steps", "many"]],
  ["--lambda out of range", [input, instruction, "-o", "x.png", "--lambda", "2"]],
  ["an unknown device", [input, instruction, "-o", "x.png", "--device", "cuda"]],
  ["an output extension without a format", [input, instruction, "-o", "x.bmp"]],
  ["a missing instruction", [input, "-o", "x.png"]],
  ["zero threads", [input, instruction, "-o", "x.png", "--threads", "0"]],
  ["an unknown dtype", [input, instruction, "-o", "x.png", "--dtype", "q8"]],
  ["a malformed dtype record", [input, instruction, "-o", "x.png", "--dtype", "transformer="]],
  ["an unknown fit", [input, instruction, "-o", "x.png", "--fit", "stretch"]],
  ["an unknown memory policy", [input, instruction, "-o", "x.png", "--memory", "lots"]],
];

for (const [what, args] of USAGE) {
  Deno.test(`bad usage (${what}) exits 2`, async () => {
    const run = await cli(...args, "--model", MODEL);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--help/);
  });
}

const zeroByte = `${folder}/empty.png`;
await Deno.writeFile(zeroByte, new Uint8Array(0));
const wrongMask = `${folder}/mask.png`;
await Deno.writeFile(wrongMask, await encodeImage(diskImage(10, 10)));

const BAD_INPUT: [string, string[]][] = [
  ["a missing input file", [`${folder}/missing.png`, instruction]],
  ["a zero-byte file", [zeroByte, instruction]],
  ["an unsupported format", [`${IMAGES}pattern-7x5.gif`, instruction]],
  ["an empty instruction", [input, ""]],
  ["a 10 kB instruction", [input, "blue ".repeat(2000)]],
  ["a mask of the wrong size", [input, instruction, "--mask", wrongMask]],
];

for (const [what, args] of BAD_INPUT) {
  Deno.test(`bad input (${what}) exits 3 with the error code`, async () => {
    const run = await cli(...args, "-o", `${folder}/never.png`, "--model", MODEL);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /error \((invalid_input|unsupported_format)\)/);
    await assert.rejects(Deno.stat(`${folder}/never.png`), Deno.errors.NotFound);
  });
}

Deno.test("--fit pad and --memory release edit at the input's size", async () => {
  const output = `${folder}/padded.png`;
  const run = await cli(
    input,
    instruction,
    "-o",
    output,
    "--steps",
    "2",
    "--fit",
    "pad",
    "--memory",
    "release",
    "--lambda",
    "1",
    "--model",
    MODEL,
  );
  assert.equal(run.code, 0, run.stderr);
  const edited = await decodeImage(await Deno.readFile(output));
  const original = await decodeImage(await Deno.readFile(input));
  assert.deepEqual(edited.data, original.data, "lambda 1: the input, exactly");
});

Deno.test("--dtype loads the weights asked for and the summary names them", async () => {
  await using pkg = await buildVariantPackage();
  const output = `${folder}/fp16.png`;
  const run = await cli(
    input,
    instruction,
    "-o",
    output,
    "--steps",
    "2",
    "--model",
    pkg.folder,
    "--dtype",
    "transformer=fp16",
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /model ready on node \(.*transformer fp16\)/);
  assert.match(run.stderr, /on node \(.*vq_decoder fp32.*transformer fp16\) in/);
});

Deno.test("a --dtype the model does not offer exits 3 naming what it offers", async () => {
  const run = await cli(
    input,
    instruction,
    "-o",
    `${folder}/never.png`,
    "--model",
    MODEL,
    "--dtype",
    "q4",
  );
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /error \(invalid_input\).*offers q4.*transformer: fp32/);
});

Deno.test("a model that cannot load exits 4", async () => {
  const run = await cli(
    input,
    instruction,
    "-o",
    `${folder}/never.png`,
    "--model",
    `${folder}/nothing`,
  );
  assert.equal(run.code, 4, run.stderr);
  assert.match(run.stderr, /error \(not_found\)/);
});
