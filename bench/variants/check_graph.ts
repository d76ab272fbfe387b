/**
 * Runs the int8 and q4 rewrites of the check graph (check_graph.py) on onnxruntime-node and
 * onnxruntime-web WASM and compares every output with the numpy dequantize-then-matmul reference:
 * the runtime must read the packed weights exactly as tools/export/quantize.py documents them.
 *
 *     /usr/bin/python3 -m bench.variants.check_graph --out /tmp/editmgt-quant-check
 *     deno run -A bench/variants/check_graph.ts [--dir /tmp/editmgt-quant-check] [--json FILE]
 *
 * Exits with status 1 when an output on `node-float` or `wasm` differs by more than
 * 1e-5 + 1e-5 * |reference|. On `node` (the backend's default options) the int8 MatMuls run with
 * int8 activations (see common.ts), so only their figures are reported.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  maxAbsDiff,
  openSession,
  readTensors,
  type Runtime,
  type TensorIndex,
  writeResult,
} from "./common.ts";

interface Meta {
  blockSize: number;
  inputs: TensorIndex;
  graphs: Record<string, { file: string; ops: string[]; expected: TensorIndex }>;
}

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/editmgt-quant-check" },
    json: { type: "string" },
  },
});
const dir = args.dir;
const meta: Meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
const inputs = await readTensors(dir, meta.inputs);

const results: Record<string, Record<string, Record<string, number>>> = {};
let worstExcess = 0;
for (const runtime of ["node", "node-float", "wasm"] as Runtime[]) {
  results[runtime] = {};
  for (const [dtype, graph] of Object.entries(meta.graphs)) {
    const session = await openSession(runtime, `${dir}/${graph.file}`);
    const outputs = await session.run(inputs);
    await session.release();
    const expected = await readTensors(dir, graph.expected);
    results[runtime][dtype] = {};
    for (const [name, want] of Object.entries(expected)) {
      const diff = maxAbsDiff(outputs[name], want, 1e-5);
      results[runtime][dtype][name] = diff.maxAbs;
      if (runtime !== "node") worstExcess = Math.max(worstExcess, diff.excess);
    }
  }
}
const result = {
  blockSize: meta.blockSize,
  tolerance: "1e-5 + 1e-5 * |reference|",
  maxAbsDiff: results,
};
console.log(JSON.stringify(result, null, 2));
if (args.json) await writeResult(args.json, result);
if (worstExcess > 0) {
  console.error("a quantized graph does not compute what its documented layout says");
  Deno.exit(1);
}
