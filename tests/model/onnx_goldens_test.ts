/**
 * The exported graphs of the random tiny package (tests/fixtures/tiny-random), run with
 * onnxruntime-node, reproduce the torch outputs stored in tests/fixtures/goldens (written by
 * `/usr/bin/python3 -m tools.export.fixture`; format in tools/export/goldens.py).
 *
 * Tolerances come with each golden file (`|onnx - torch| <= atol + rtol * |torch|`):
 * transformer log-probs 1e-4 + 1e-4 rel (measured <= 1.2e-5), text_attention 1e-6 + 1e-4 rel
 * (measured <= 3e-8), VQ decoder pixels 2e-5 (measured <= 3.3e-6), text encoder 1e-5 + 1e-5 rel
 * (measured <= 7.2e-7). Integer outputs (`sampled`, VQ `tokens`) must be equal except where the
 * golden marks a near tie. The fp16 transformer export is compared with the same fp32 goldens under
 * goldens/fp16/tolerances.json: ref log-probs 0.05 + 2% rel, text_attention 5e-4 + 2% rel, and at
 * least 90% of the sampled ids equal (measured 98.7%).
 *
 * Needs --allow-read and --allow-ffi (onnxruntime-node).
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { ManifestSchema } from "../../src/schema/mod.ts";
import { readSafetensors, type StoredTensor } from "../_shared/safetensors.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const PACKAGE = new URL("tiny-random/", FIXTURES);
const GOLDENS = new URL("goldens/", FIXTURES);

type Golden = StoredTensor;
type Tolerance = { atol: number; rtol: number };

/** The tensors of one case group (`<case>/<group>/<name>`), by name. */
function group(tensors: Map<string, Golden>, caseName: string, kind: string): Map<string, Golden> {
  const prefix = `${caseName}/${kind}/`;
  return new Map(
    [...tensors].filter(([key]) => key.startsWith(prefix)).map(([key, value]) => [
      key.slice(prefix.length),
      value,
    ]),
  );
}

function toOrt(golden: Golden): ort.Tensor {
  const type = golden.dtype === "I64" ? "int64" : golden.dtype === "U8" ? "uint8" : "float32";
  return new ort.Tensor(type, golden.data, golden.shape);
}

/** Largest violation of |actual - expected| <= atol + rtol*|expected| (<= 0 means within tolerance). */
function worstExcess(actual: Float32Array, expected: Float32Array, tolerance: Tolerance): number {
  let worst = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const allowed = tolerance.atol + tolerance.rtol * Math.abs(expected[i]);
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) - allowed);
  }
  return worst;
}

/** Indices where integer outputs differ, and how many of them the golden marks as near ties. */
function integerMismatches(actual: BigInt64Array, expected: BigInt64Array, nearTie?: Uint8Array) {
  let unexplained = 0;
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] === expected[i]) continue;
    total++;
    if (!nearTie || nearTie[i] === 0) unexplained++;
  }
  return { total, unexplained };
}

async function runCases(graphUrl: URL, goldenName: string) {
  const { tensors, metadata } = await readSafetensors(new URL(goldenName, GOLDENS));
  const session = await ort.InferenceSession.create(decodeURIComponent(graphUrl.pathname), {
    logSeverityLevel: 3, // the fp16 graph makes onnxruntime warn about CPU kernels it lacks
  });
  const results = [];
  for (const caseName of metadata.cases.split(",")) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, golden] of group(tensors, caseName, "inputs")) feeds[name] = toOrt(golden);
    const outputs = await session.run(feeds);
    results.push({
      caseName,
      outputs,
      expected: group(tensors, caseName, "outputs"),
      nearTie: group(tensors, caseName, "near_tie"),
    });
  }
  await session.release();
  return { results, tolerances: JSON.parse(metadata.tolerances) as Record<string, Tolerance> };
}

async function checkGraph(goldenName: string) {
  const { metadata } = await readSafetensors(new URL(goldenName, GOLDENS));
  const { results, tolerances } = await runCases(new URL(metadata.graph, PACKAGE), goldenName);
  for (const { caseName, outputs, expected, nearTie } of results) {
    for (const [name, golden] of expected) {
      const actual = outputs[name];
      assert.ok(actual, `${caseName}: graph has no output ${name}`);
      assert.deepEqual([...actual.dims], golden.shape, `${caseName}/${name} shape`);
      if (golden.dtype === "I64") {
        const ties = nearTie.get(name)?.data as Uint8Array | undefined;
        const { unexplained } = integerMismatches(
          actual.data as BigInt64Array,
          golden.data as BigInt64Array,
          ties,
        );
        assert.equal(unexplained, 0, `${caseName}/${name}: ids differ away from near ties`);
      } else {
        const tolerance = tolerances[name];
        assert.ok(tolerance, `${goldenName}: no tolerance for ${name}`);
        const excess = worstExcess(
          actual.data as Float32Array,
          golden.data as Float32Array,
          tolerance,
        );
        assert.ok(excess <= 0, `${caseName}/${name}: off by ${excess} beyond the tolerance`);
      }
    }
  }
}

Deno.test("tiny-random manifest passes the schema and lists every file with its sha256 and size", async () => {
  const manifest = ManifestSchema.parse(
    JSON.parse(await Deno.readTextFile(new URL("manifest.json", PACKAGE))),
  );
  const listed = new Set<string>(["manifest.json"]);
  for (const component of manifest.components) {
    for (const file of component.files) {
      const bytes = await Deno.readFile(new URL(file.path, PACKAGE));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(bytes.length, file.bytes, `${file.path} size`);
      assert.equal(hex, file.sha256, `${file.path} sha256`);
      listed.add(file.path);
    }
  }
  const present = [...Deno.readDirSync(PACKAGE)].map((entry) => entry.name);
  assert.deepEqual(
    present.sort(),
    [...listed].sort(),
    "every file of the package is in the manifest",
  );
  assert.ok(
    manifest.components.find((c) => c.kind === "transformer")?.files.some((f) =>
      f.path.endsWith(".onnx.data")
    ),
    "the transformer is stored with external data",
  );
});

Deno.test("transformer step graph matches the torch goldens (log-probs, attention, sampled ids)", async () => {
  await checkGraph("transformer.safetensors");
});

Deno.test("VQ encoder graph gives the torch token ids", async () => {
  await checkGraph("vq_encoder.safetensors");
});

Deno.test("VQ decoder graph gives the torch pixels, mask ids decoding as code 0", async () => {
  await checkGraph("vq_decoder.safetensors");
});

Deno.test("text encoder graph matches torch for a CFG pair and a single prompt (dynamic batch)", async () => {
  await checkGraph("text_encoder.safetensors");
});

Deno.test("uniform 0 draws code 0; every draw is a codebook id with a floored log-prob", async () => {
  const { results } = await runCases(
    new URL("transformer.onnx", PACKAGE),
    "transformer.safetensors",
  );
  for (const { caseName, outputs } of results) {
    const sampled = outputs.sampled.data as BigInt64Array;
    const logprob = outputs.sampled_logprob.data as Float32Array;
    assert.equal(sampled[0], 0n, `${caseName}: count(cdf < 0) = 0`);
    assert.ok(sampled.every((id) => id >= 0n && id < 64n), `${caseName}: ids inside the codebook`);
    assert.ok(
      logprob.every((value) => value <= 0 && value >= Math.log(1e-20)),
      `${caseName}: log-probs`,
    );
  }
});

Deno.test("fp16 transformer export stays close to the fp32 torch goldens", async () => {
  const tolerances = JSON.parse(
    await Deno.readTextFile(new URL("fp16/tolerances.json", GOLDENS)),
  ) as Record<string, Tolerance & { min_agreement: number }>;
  const { results } = await runCases(
    new URL("fp16/transformer.onnx", GOLDENS),
    "transformer.safetensors",
  );
  let agree = 0;
  let total = 0;
  for (const { caseName, outputs, expected } of results) {
    const { total: differ } = integerMismatches(
      outputs.sampled.data as BigInt64Array,
      expected.get("sampled")!.data as BigInt64Array,
    );
    total += expected.get("sampled")!.data.length;
    agree += expected.get("sampled")!.data.length - differ;
    for (const name of ["ref_logprob", "text_attention"]) {
      const excess = worstExcess(
        outputs[name].data as Float32Array,
        expected.get(name)!.data as Float32Array,
        tolerances[name],
      );
      assert.ok(excess <= 0, `${caseName}/${name}: fp16 off by ${excess} beyond the tolerance`);
    }
  }
  assert.ok(
    agree / total >= tolerances.sampled.min_agreement,
    `fp16 sampled ids agree on ${agree}/${total}`,
  );
});
