import assert from "node:assert/strict";

const CAPABILITY = new URL("./capability.ts", import.meta.url).href;

/** Runs a test module that needs a capability this machine "lacks", with `env`. */
async function runNeedingMissing(env: Record<string, string>) {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-capability-" });
  const module = `${folder}/needs_test.ts`;
  await Deno.writeTextFile(
    module,
    `import { ignoreWithout } from "${CAPABILITY}";
for (const name of ["first", "second"]) {
  Deno.test({ name, ignore: ignoreWithout("the widget tests", "no widget here", "apt-get install widget"), fn() {} });
}
`,
  );
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", module],
      env: { ...env, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, output: text(output.stdout) + text(output.stderr) };
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("a missing capability ignores its tests and prints why and how to enable them, once", async () => {
  const run = await runNeedingMissing({ CI: "false" });
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, /0 passed \| 0 failed \| 2 ignored/);
  const notes = run.output.match(
    /the widget tests ignored: no widget here; to run them, apt-get install widget/g,
  );
  assert.equal(notes?.length, 1, run.output);
});

Deno.test("in CI a missing capability fails instead of being ignored", async () => {
  const run = await runNeedingMissing({ CI: "true" });
  assert.notEqual(run.code, 0, run.output);
  assert.match(
    run.output,
    /the widget tests cannot run in CI: no widget here; apt-get install widget/,
  );
});
