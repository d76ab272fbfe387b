import assert from "node:assert/strict";
import { tagProblem } from "../../.github/scripts/check_tag.ts";

const SCRIPT = new URL("../../.github/scripts/check_tag.ts", import.meta.url).pathname;
const VERSION = (JSON.parse(
  await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
) as { version: string }).version;

async function checkTag(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("a tag of v and the version matches, also as a full ref", () => {
  assert.equal(tagProblem("v1.2.3", "1.2.3"), null);
  assert.equal(tagProblem("refs/tags/v1.2.3", "1.2.3"), null);
});

Deno.test("a tag of another version is refused, saying both versions and what to do", () => {
  const problem = tagProblem("v1.3.0", "1.2.3");
  assert.match(problem ?? "", /v1\.3\.0 does not match deno\.json's version 1\.2\.3/);
  assert.match(problem ?? "", /set "version": "1\.3\.0"/);
});

Deno.test("a tag without the v, and a deno.json without a version, are refused", () => {
  assert.match(tagProblem("1.2.3", "1.2.3") ?? "", /not a version tag/);
  assert.match(tagProblem("v1.2.3", undefined) ?? "", /deno\.json has no "version"/);
});

Deno.test("the script accepts the tag of deno.json's version and refuses another", async () => {
  const ok = await checkTag(`v${VERSION}`);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`matches deno.json's version ${VERSION}`));
  const refused = await checkTag(`v${VERSION}-not-this`);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^release refused: the tag v.* does not match/);
  assert.equal((await checkTag()).code, 2);
});
