import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { manifestUrl, parseManifest } from "../../src/model/manifest.ts";
import { MODEL_BASIC } from "./fixture.ts";

const valid = JSON.parse(await Deno.readTextFile(new URL("manifest.json", MODEL_BASIC)));
const variant = (edit: (manifest: typeof valid) => void) => {
  const copy = structuredClone(valid);
  edit(copy);
  return copy;
};

Deno.test("parseManifest accepts the model-basic manifest", () => {
  const manifest = parseManifest(valid);
  assert.equal(manifest.id, "editmgt-model-basic");
  assert.deepEqual(manifest.vq.grid, { height: 4, width: 4 });
});

Deno.test("a manifest of another format version is refused with unsupported_format", () => {
  assert.throws(
    () => parseManifest(variant((manifest) => manifest.format = "editmgt-manifest/2")),
    (error) =>
      isEditMGTError(error, "unsupported_format") &&
      error.details?.format === "editmgt-manifest/2" && /editmgt-manifest\/1/.test(error.message),
  );
});

Deno.test("a document that is not an EditMGT manifest is refused with invalid_manifest", () => {
  for (const document of [null, 42, [], { format: "something-else/1" }, {}]) {
    assert.throws(
      () => parseManifest(document),
      (error) => isEditMGTError(error, "invalid_manifest"),
    );
  }
});

Deno.test("invalid_manifest lists every offending field by path", () => {
  const broken = variant((manifest) => {
    delete manifest.text;
    manifest.components[1].files[0].sha256 = "not-a-hash";
  });
  assert.throws(() => parseManifest(broken), (error) => {
    assert.ok(isEditMGTError(error, "invalid_manifest"));
    const paths = (error.details?.issues as { path: string }[]).map((issue) => issue.path);
    assert.ok(paths.includes("text"), paths.join());
    assert.ok(paths.includes("components.1.files.0.sha256"), paths.join());
    return true;
  });
});

Deno.test("a mask token id inside the codebook is refused with invalid_manifest", () => {
  const broken = variant((manifest) => manifest.vq.maskTokenId = 3);
  assert.throws(
    () => parseManifest(broken),
    (error) => isEditMGTError(error, "invalid_manifest") && /maskTokenId/.test(error.message),
  );
});

Deno.test("file paths that leave the package folder are refused", () => {
  for (const path of ["../secret.onnx", "/etc/passwd", "a/../../b.onnx"]) {
    const broken = variant((manifest) => manifest.components[2].files[0].path = path);
    assert.throws(
      () => parseManifest(broken),
      (error) => isEditMGTError(error, "invalid_manifest"),
    );
  }
});

Deno.test("manifestUrl resolves a folder to its manifest.json and keeps a .json location", () => {
  assert.equal(
    manifestUrl("models/tiny", "https://example.com/app/").href,
    "https://example.com/app/models/tiny/manifest.json",
  );
  assert.equal(
    manifestUrl("https://cdn.example.com/m/tiny/").href,
    "https://cdn.example.com/m/tiny/manifest.json",
  );
  assert.equal(
    manifestUrl("../other/manifest.json", "file:///srv/app/").href,
    "file:///srv/other/manifest.json",
  );
});

Deno.test("a path without a base resolves against the working directory, as typed (issue #17)", () => {
  const cwd = pathToFileURL(`${Deno.cwd()}/`);
  for (const path of ["models/editmgt-tiny/", "models/editmgt-tiny", "./models/editmgt-tiny"]) {
    assert.equal(manifestUrl(path).href, new URL("models/editmgt-tiny/manifest.json", cwd).href);
  }
  assert.equal(
    manifestUrl("../shared/my model/manifest.json").href,
    new URL("../shared/my%20model/manifest.json", cwd).href,
  );
  assert.equal(manifestUrl("/srv/models/tiny").href, "file:///srv/models/tiny/manifest.json");
});

Deno.test("a path with a base of no hierarchy to resolve against is refused with invalid_option", () => {
  assert.throws(
    () => manifestUrl("models/tiny", "data:text/plain,x"),
    (error) => isEditMGTError(error, "invalid_option") && /is not a URL/.test(error.message),
  );
});
