/**
 * Building graph inputs from the pipeline's arrays and reading graph outputs back, with the
 * checks that keep a model that breaks the contract from corrupting the sampler's state:
 * token ids travel as int32 in TypeScript and as int64 in the graphs.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { ModelTensor, NamedTensors } from "./backend.ts";

/**
 * An int64 tensor from int32 token ids.
 *
 * @example
 * ```ts
 * import { int64Tensor } from "@editmgt/editmgt/model";
 *
 * const tokens = int64Tensor(new Int32Array([1, 2, 3, 4]), [1, 2, 2]);
 * console.log(tokens.data); // BigInt64Array(4) [ 1n, 2n, 3n, 4n ]
 * ```
 */
export function int64Tensor(ids: Int32Array, dims: readonly number[]): ModelTensor<"int64"> {
  const data = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) data[i] = BigInt(ids[i]);
  return { type: "int64", data, dims };
}

/** A float32 tensor over `data` (not copied). */
export function float32Tensor(data: Float32Array, dims: readonly number[]): ModelTensor<"float32"> {
  return { type: "float32", data, dims };
}

/** A float32 scalar (dims `[]`), as the step graph's `log_gamma` and `guidance_scale`. */
export function float32Scalar(value: number): ModelTensor<"float32"> {
  return { type: "float32", data: new Float32Array([value]), dims: [] };
}

/** Output `name` of `outputs` as float32 with exactly `length` elements. */
export function readFloat32(outputs: NamedTensors, name: string, length: number): Float32Array {
  const tensor = outputOf(outputs, name, "float32", length);
  return tensor.data as Float32Array;
}

/**
 * Output `name` of `outputs`, an int64 tensor of `length` token ids, as int32. Every id must lie
 * in `[0, limit)`; anything else breaks the contract and rejects with `model_output`.
 */
export function readTokenIds(
  outputs: NamedTensors,
  name: string,
  length: number,
  limit: number,
): Int32Array {
  const data = outputOf(outputs, name, "int64", length).data as BigInt64Array;
  const ids = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const id = data[i];
    if (id < 0n || id >= BigInt(limit)) {
      throw new EditMGTError(
        "model_output",
        `graph output "${name}" holds token id ${id} at ${i}, outside [0, ${limit})`,
      );
    }
    ids[i] = Number(id);
  }
  return ids;
}

function outputOf(
  outputs: NamedTensors,
  name: string,
  type: ModelTensor["type"],
  length: number,
): ModelTensor {
  const tensor = outputs[name];
  if (tensor === undefined) {
    throw new EditMGTError("model_output", `the graph returned no output "${name}"`);
  }
  if (tensor.type !== type || tensor.data.length !== length) {
    throw new EditMGTError(
      "model_output",
      `graph output "${name}" is ${tensor.type} [${tensor.dims}] but ${type} with ${length} elements was expected; the model does not match its manifest`,
    );
  }
  return tensor;
}
