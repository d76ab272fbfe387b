import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { createBackend } from "../../src/model/select.ts";

const CONFIG = decodeURIComponent(new URL("../../deno.json", import.meta.url).pathname);

Deno.test("the browser-safe createBackend refuses the node device and names the Deno entry", async () => {
  await assert.rejects(
    createBackend("node"),
    (error) =>
      isEditMGTError(error, "backend_unavailable") &&
      /@editmgt\/editmgt\/model\/deno/.test(error.message),
  );
});

Deno.test("the node device without --allow-ffi is a backend_unavailable error naming the flag", async () => {
  const script = `
    import { createBackend } from ${
    JSON.stringify(new URL("../../src/model/deno.ts", import.meta.url).href)
  };
    try {
      await createBackend("node");
      console.log("created");
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, message: error.message }));
    }`;
  // `deno eval` grants every permission: run a file instead.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      "--no-prompt",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  const outcome = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
  assert.equal(outcome.code, "backend_unavailable");
  assert.match(outcome.message, /--allow-ffi/);
});
