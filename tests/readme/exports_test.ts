import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
  name: string;
  exports: Record<string, string>;
};
const readme = await Deno.readTextFile(new URL("README.md", ROOT));

Deno.test("the README's export list names every entry of deno.json's exports once, with its purpose", () => {
  const listed = [...readme.matchAll(/^- `(@editmgt\/editmgt(?:\/[\w/]+)?)`: \S/gm)].map((match) =>
    match[1].replace(config.name, ".")
  );
  assert.deepEqual(listed, Object.keys(config.exports));
});
