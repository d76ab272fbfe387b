import assert from "node:assert/strict";
import { parseCommand, UsageError } from "../../examples/cli/args.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("options after a second '--' are named as misplaced options, not counted as arguments", () => {
  assert.throws(
    () => parseCommand(["-q", "--", "in.png", "make it blue", "-o", "out.png", "--seed", "7"]),
    (error) =>
      error instanceof UsageError &&
      error.message.includes('-o, --seed came after a second "--"') &&
      error.message.includes('write one "--", right after the task name'),
  );
});

Deno.test("too many plain arguments still ask to quote the instruction", () => {
  assert.throws(
    () => parseCommand(["--", "in.png", "make", "it", "blue", "-o", "out.png"]),
    (error) =>
      error instanceof UsageError &&
      error.message.includes("got 4 arguments (quote the instruction)"),
  );
});

Deno.test("`deno task edit -q -- ...` says that the flag order is the problem", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "edit", "-q", "--", "in.png", "make it blue", "-o", "out.png"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 2, stderr);
  assert.match(stderr, /-o came after a second "--" and so were read as arguments, not options/);
});
