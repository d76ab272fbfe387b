import assert from "node:assert/strict";
import { apiBase } from "../../sdk/remote.ts";

Deno.test("the remote device finds the edit API beside the models of a server under a path", () => {
  const cases: [string, string][] = [
    ["https://a.example/models/tiny/manifest.json", "https://a.example/"],
    ["https://a.example/editmgt/models/tiny/manifest.json", "https://a.example/editmgt/"],
    ["https://a.example/x/y/models/editmgt-tiny/manifest.json", "https://a.example/x/y/"],
    // Not the edge server's layout: the manifest's origin.
    ["https://cdn.example/weights/tiny/manifest.json", "https://cdn.example/"],
    ["https://cdn.example/models/a/b/manifest.json", "https://cdn.example/"],
  ];
  for (const [manifest, base] of cases) assert.equal(apiBase(new URL(manifest)), base, manifest);
});
