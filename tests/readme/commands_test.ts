/**
 * The README's shell commands, run as documented (issue #17): every command of its ```sh blocks
 * is either run here or skipped in {@linkcode SKIPPED} with the reason. The server is started the
 * README's way (`task start` from the repository root), each `curl` runs through bash against it
 * and must get no HTTP error, and each CLI edit must write real images.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", ROOT));

/** Commands that cannot run in a test, each with the reason. */
const SKIPPED: Readonly<Record<string, string>> = {
  "git clone <this repository> editmgt-web && cd editmgt-web":
    "needs a remote; this suite runs in the checkout itself",
  "npx -y deno@2.9.6 task test": "runs this very suite",
  "/usr/bin/python3 -m tools.convert path/to/EditMGT editmgt-1024 --variants all":
    "needs the released snapshot, which cannot be downloaded here (tests/convert converts synthetic ones)",
  'npx -y deno@2.9.6 task edit -- photo.jpg "make the car red" -o out.jpg --model editmgt-1024':
    "needs the converted real model (editmgt-1024)",
  "MODEL=editmgt-1024 npx -y deno@2.9.6 task start":
    "needs the converted real model (editmgt-1024)",
};

/**
 * The README runs Deno through npx (`npx -y deno@2.9.6 ...`). The commands run here with the Deno
 * that runs this test instead: the same Deno when the suite runs as the README says
 * (`npx -y deno@2.9.6 task test`), with no download.
 */
const NPX_DENO = /^npx -y deno@\d+\.\d+\.\d+ /;

/** How this test treats a command of the README. */
type Treatment = "server" | "request" | "cli" | "skipped";

/** What `command` is, or undefined when this test neither runs nor skips it. */
function treatmentOf(command: string): Treatment | undefined {
  if (command in SKIPPED) return "skipped";
  if (command.startsWith("curl ")) return "request";
  if (!NPX_DENO.test(command)) return undefined;
  const task = command.replace(NPX_DENO, "");
  if (task === "task start") return "server";
  if (task.startsWith("task edit -- ")) return "cli";
  return undefined;
}

/**
 * The commands of the ```sh blocks of `markdown`, in order: a line ending in `\` joined with the
 * next, comment lines and trailing comments (` # ...`) dropped.
 */
function shellCommands(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap(([, block]) =>
    block.replace(/\s*\\\n\s*/g, " ").split("\n")
      .map((line) => line.replace(/(^|\s+)#.*$/, "").trim())
      .filter((line) => line !== "")
  );
}

const commands = shellCommands(readme);

Deno.test("every command of the README is run by this test or skipped with a reason", () => {
  assert.ok(commands.length > 0, "the README has no ```sh block");
  const untreated = commands.filter((command) => treatmentOf(command) === undefined);
  assert.deepEqual(untreated, [], "run these commands here, or add them to SKIPPED with why");
});

Deno.test("every command this test skips is still in the README", () => {
  const gone = Object.keys(SKIPPED).filter((command) => !commands.includes(command));
  assert.deepEqual(gone, [], "remove these from SKIPPED");
});

/** The image the README's `in.png` stands for; the Quick start names it from the root. */
const SAMPLE = "examples/web/samples/shapes-1.png";
/** Longest a command may run. */
const COMMAND_TIMEOUT_MS = 60_000;
/** Makes `curl` fail (exit 22, body printed) on an HTTP status of 400 or more. */
const STRICT_CURL = 'curl() { command curl --fail-with-body "$@"; }\n';

/** Runs `command` through bash in `cwd` (npx's Deno replaced, strict curl); fails unless it exits 0. */
async function runCommand(
  command: string,
  cwd: string | URL,
  env: Record<string, string> = {},
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-e", "-o", "pipefail", "-c", STRICT_CURL + command.replace(NPX_DENO, '"$DENO" ')],
    cwd,
    env: { DENO: Deno.execPath(), ...env },
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).output();
  const [out, err] = [stdout, stderr].map((bytes) => new TextDecoder().decode(bytes));
  assert.equal(code, 0, `\`${command}\` exited ${code}:\n${out.slice(-2000)}\n${err.slice(-2000)}`);
  return out;
}

/** An argument naming a file a command writes (`-o FILE`, `--heatmap FILE`): flag, then file. */
const OUTPUT_ARGUMENT = /(\s(?:-o|--heatmap)\s+)(\S+)/g;

/** The files `command` writes. */
function outputsOf(command: string): string[] {
  return [...command.matchAll(OUTPUT_ARGUMENT)].map(([, , file]) => file);
}

/** The leading bytes of each image format the commands write, by file extension. */
const IMAGE_MAGIC: Readonly<Record<string, (bytes: Uint8Array) => boolean>> = {
  png: (bytes) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b),
  jpg: (bytes) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff,
  webp: (bytes) => ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP",
};

/** Bytes `start` to `end` of `bytes` as ASCII text. */
function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Checks that `file`, written by `command`, is an image of its extension, or the range asked. */
async function assertWritten(file: string, command: string): Promise<void> {
  const bytes = await Deno.readFile(file);
  const isImage = IMAGE_MAGIC[file.slice(file.lastIndexOf(".") + 1)];
  const range = command.match(/\s-r\s+(\d+)-(\d+)\s/);
  if (isImage) assert.ok(isImage(bytes), `${file} is not the image its name says`);
  else if (range) assert.equal(bytes.length, Number(range[2]) - Number(range[1]) + 1);
  else assert.ok(bytes.length > 0, `${file} is empty`);
}

/** A server started by the test; `stop` ends it and returns its output. */
interface RunningServer {
  url: string;
  stop(): Promise<string>;
}

/**
 * Runs the README's `task start` command from the root on `port`, its jobs in `kvDir` (the
 * README's `PORT` and `EDITMGT_KV`), and waits for `/readyz`.
 */
async function startServer(command: string, port: number, kvDir: string): Promise<RunningServer> {
  const child = new Deno.Command("bash", {
    args: ["-c", `exec ${command.replace(NPX_DENO, '"$DENO" ')}`],
    cwd: ROOT,
    env: { DENO: Deno.execPath(), PORT: String(port), EDITMGT_KV: `${kvDir}/jobs.sqlite3` },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
  const server = {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      return (await output).join("\n");
    },
  };
  let exited = false;
  child.status.then(() => exited = true);
  for (const deadline = Date.now() + COMMAND_TIMEOUT_MS; Date.now() < deadline && !exited;) {
    const ready = await fetch(`${server.url}/readyz`).then(
      async (response) => (await response.body?.cancel(), response.ok),
      () => false,
    );
    if (ready) return server;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`\`${command}\` did not become ready:\n${await server.stop()}`);
}

/** Submits an edit of `image` to `server` and waits for it to complete; returns its id. */
async function completedJob(
  server: RunningServer,
  image: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const form = new FormData();
  form.append("image", new Blob([image], { type: "image/png" }), "in.png");
  form.append("instruction", "make the red circle blue");
  const response = await fetch(`${server.url}/v1/edits`, { method: "POST", body: form });
  assert.equal(response.status, 202);
  const { id } = await response.json();
  for (const deadline = Date.now() + COMMAND_TIMEOUT_MS; Date.now() < deadline;) {
    const { status } = await (await fetch(`${server.url}/v1/edits/${id}`)).json();
    if (status === "completed") return id;
    assert.ok(["queued", "running"].includes(status), `job ${id} is ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${id} did not complete`);
}

/** A loopback port nothing listens on. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return listener.addr.port;
}

Deno.test("the README's server and CLI commands run as documented and write real images", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "editmgt-readme-" });
  const sample = await Deno.readFile(new URL(SAMPLE, ROOT));
  await Deno.mkdir(`${work}/${SAMPLE.slice(0, SAMPLE.lastIndexOf("/"))}`, { recursive: true });
  await Deno.writeFile(`${work}/${SAMPLE}`, sample);
  await Deno.writeFile(`${work}/in.png`, sample);
  const port = freePort();
  const server = await startServer(
    commands.find((command) => treatmentOf(command) === "server")!,
    port,
    work,
  );
  try {
    const id = await completedJob(server, sample);
    for (const command of commands) {
      const treatment = treatmentOf(command);
      if (treatment !== "request" && treatment !== "cli") continue;
      await t.step(command, async () => {
        // curl runs in the working folder, against the test's port. The CLI runs from the root
        // (deno task always does) and writes its outputs into the working folder.
        const runnable = treatment === "request"
          ? command.replace(/\b(localhost|127\.0\.0\.1):8000\b/g, `$1:${port}`)
          : command.replace(OUTPUT_ARGUMENT, `$1${work}/$2`);
        const outputs = outputsOf(command).map((file) => `${work}/${file}`);
        await Promise.all(outputs.map((file) => Deno.remove(file).catch(() => {})));
        const cwd = treatment === "request" ? work : ROOT;
        const stdout = await runCommand(runnable, cwd, { ID: id });
        for (const file of outputs) await assertWritten(file, command);
        if (outputs.length === 0) assert.notEqual(stdout, "", "no output");
      });
    }
  } finally {
    await server.stop();
    await Deno.remove(work, { recursive: true });
  }
});
