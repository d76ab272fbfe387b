/**
 * The one interface that the pipeline uses to run ONNX graphs, whatever runs them.
 *
 * Three adapters implement it (see {@linkcode createBackend}): onnxruntime-node on the CPU,
 * onnxruntime-web's WASM build, and onnxruntime-web's WebGPU build. Tensors cross this
 * interface as plain typed arrays ({@linkcode ModelTensor}) rather than onnxruntime `Tensor`
 * objects, because each onnxruntime package has its own `Tensor` class: code above the
 * interface never imports onnxruntime.
 *
 * @module
 */

import type { DeviceName } from "../schema/devices.ts";

export { DEVICE_NAMES, type DeviceName } from "../schema/devices.ts";

/** Element types that cross the backend interface. */
export type TensorType = "float32" | "float16" | "int64" | "int32" | "bool";

/** The typed array that holds each {@linkcode TensorType}. */
export interface TensorArrays {
  /** 32-bit floats. */
  float32: Float32Array;
  /** Raw IEEE half floats. */
  float16: Uint16Array;
  /** 64-bit integers (token ids in the graphs). */
  int64: BigInt64Array;
  /** 32-bit integers. */
  int32: Int32Array;
  /** Booleans, one byte each. */
  bool: Uint8Array;
}

/**
 * A tensor as plain data: element type, typed array (row-major) and dimensions.
 *
 * @example
 * ```ts
 * import type { ModelTensor } from "@editmgt/editmgt/model";
 *
 * const logGamma: ModelTensor<"float32"> = {
 *   type: "float32",
 *   data: new Float32Array([Math.log(1.1)]),
 *   dims: [], // a scalar
 * };
 * ```
 */
export interface ModelTensor<T extends TensorType = TensorType> {
  /** Element type. */
  type: T;
  /** Elements in row-major order; its length is the product of `dims`. */
  data: TensorArrays[T];
  /** Dimensions; `[]` is a scalar. */
  dims: readonly number[];
}

/** Named tensors, keyed by graph input or output name. */
export type NamedTensors = Record<string, ModelTensor>;

/** An external-data file that a graph's weights live in (`transformer.onnx.data`). */
export interface ExternalDataFile {
  /** The file name as the graph refers to it (relative to the graph file). */
  path: string;
  /** The verified file contents. */
  data: Uint8Array;
}

/** Bytes of one ONNX graph and of the external-data files it refers to. */
export interface GraphBytes {
  /** The `.onnx` file. */
  model: Uint8Array;
  /** External-data files; empty when all weights are inside `model`. */
  externalData: readonly ExternalDataFile[];
}

/** One loaded graph, ready to run. Call {@linkcode ModelSession.release} when done with it. */
export interface ModelSession {
  /** The graph's input names. */
  readonly inputNames: readonly string[];
  /** The graph's output names. */
  readonly outputNames: readonly string[];
  /**
   * Runs the graph on `feeds` (one tensor per input) and returns every output. Calls may
   * overlap: the session runs them one at a time, in call order.
   */
  run(feeds: NamedTensors): Promise<NamedTensors>;
  /**
   * Frees the session's native or GPU memory once the runs already called have settled. The
   * session cannot run afterwards.
   */
  release(): Promise<void>;
}

/** What a backend can do, for checks made before any session is created. */
export interface BackendCapabilities {
  /** Whether graphs with float16 weights can run (on WebGPU this needs `shader-f16`). */
  fp16: boolean;
}

/**
 * Creates sessions for one device. The pipeline holds one backend and creates one session per
 * graph (text encoder, VQ encoder, VQ decoder, transformer step).
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model";
 *
 * const backend = await createBackend("wasm");
 * const bytes = await (await fetch("https://example.com/vq_decoder.onnx")).bytes();
 * const session = await backend.createSession({ model: bytes, externalData: [] });
 * // ... session.run({ tokens: { type: "int64", data: ids, dims: [1, 16, 16] } })
 * await session.release();
 * ```
 */
export interface Backend {
  /** The device this backend runs on. */
  readonly device: DeviceName;
  /** What the device supports. */
  readonly capabilities: BackendCapabilities;
  /** Creates a session from verified graph bytes. */
  createSession(graph: GraphBytes): Promise<ModelSession>;
}
