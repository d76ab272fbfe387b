/**
 * The package's doc examples (doc comments and the README) import from `@editmgt/editmgt/...`:
 * every such import must name an entry of deno.json's `exports` whose module exports what the
 * example imports.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const PACKAGE = "@editmgt/editmgt";
const IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(@editmgt\/editmgt(?:\/[^"]*)?)"/g;

interface DocImport {
  file: string;
  specifier: string;
  names: string[];
  typeOnly: boolean;
}

async function* sourceFiles(folder: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(folder)) {
    const url = new URL(entry.isDirectory ? `${entry.name}/` : entry.name, folder);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

async function docImports(): Promise<DocImport[]> {
  const found: DocImport[] = [];
  const files = [new URL("mod.ts", ROOT), new URL("README.md", ROOT)];
  for (const folder of ["src/", "sdk/"]) {
    for await (const file of sourceFiles(new URL(folder, ROOT))) files.push(file);
  }
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    for (const [, typeOnly, names, specifier] of text.matchAll(IMPORT)) {
      found.push({
        file: file.pathname.slice(ROOT.pathname.length),
        specifier,
        names: names.replace(/\*/g, "").split(",").map((name) => name.trim())
          .filter((name) => name.length > 0),
        typeOnly: typeOnly !== undefined,
      });
    }
  }
  return found;
}

const exportsMap: Record<string, string> =
  JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).exports;

Deno.test("every package import in a doc example names an export entry", async () => {
  const imports = await docImports();
  assert.ok(imports.some((found) => found.specifier === `${PACKAGE}/model`));
  for (const { file, specifier } of imports) {
    const entry = `.${specifier.slice(PACKAGE.length)}`;
    assert.ok(
      entry in exportsMap,
      `${file} imports "${specifier}", which deno.json does not export`,
    );
  }
});

Deno.test({
  name: "every value a doc example imports is exported by its entry",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const entries = new Map<string, Record<string, unknown>>();
    for (const { file, specifier, names, typeOnly } of await docImports()) {
      if (typeOnly) continue;
      const entry = exportsMap[`.${specifier.slice(PACKAGE.length)}`];
      if (!entries.has(entry)) entries.set(entry, await import(new URL(entry, ROOT).href));
      const exported = entries.get(entry)!;
      for (const name of names.filter((name) => !name.startsWith("type "))) {
        assert.ok(name in exported, `${file} imports ${name} from "${specifier}", not exported`);
      }
    }
  },
});
