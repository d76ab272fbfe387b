/**
 * The part of every backend that is the same for all onnxruntime packages: onnxruntime-node,
 * onnxruntime-web and onnxruntime-web/webgpu expose the same `InferenceSession` and `Tensor`
 * API (from onnxruntime-common), so one adapter converts between {@linkcode ModelTensor} and
 * their tensors. The device files in `backends/` only configure the package and pick the
 * execution provider.
 *
 * @module
 */

import type * as ort from "onnxruntime-web";
import { EditMGTError } from "../errors/mod.ts";
import type {
  Backend,
  BackendCapabilities,
  DeviceName,
  GraphBytes,
  ModelSession,
  ModelTensor,
  NamedTensors,
  TensorArrays,
  TensorType,
} from "./backend.ts";

/** The two things the adapter needs from an onnxruntime package. */
export interface OrtRuntime {
  /** The package's session class. */
  InferenceSession: typeof ort.InferenceSession;
  /** The package's tensor class. */
  Tensor: typeof ort.Tensor;
}

/** Creates an onnxruntime session from graph bytes with the given options. */
export type OrtSessionLoader = (
  graph: GraphBytes,
  options: ort.InferenceSession.SessionOptions,
) => Promise<ort.InferenceSession>;

/** How one device uses its onnxruntime package. */
export interface OrtBackendConfig {
  /** The device name reported by the backend. */
  device: DeviceName;
  /** Execution providers, in order of preference. */
  executionProviders: ort.InferenceSession.SessionOptions["executionProviders"];
  /** What the device supports. */
  capabilities: BackendCapabilities;
  /**
   * Creates the onnxruntime session. Defaults to creating it from the bytes, with external data
   * passed as `externalData` (onnxruntime-web's way).
   */
  loadSession?: OrtSessionLoader;
}

const TENSOR_TYPES: ReadonlySet<string> = new Set<TensorType>([
  "float32",
  "float16",
  "int64",
  "int32",
  "bool",
]);

/**
 * Wraps an onnxruntime package as a {@linkcode Backend}.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { ortBackend } from "@editmgt/editmgt/model";
 *
 * const backend = ortBackend(ort, {
 *   device: "wasm",
 *   executionProviders: ["wasm"],
 *   capabilities: { fp16: true },
 * });
 * ```
 */
export function ortBackend(runtime: OrtRuntime, config: OrtBackendConfig): Backend {
  const loadSession: OrtSessionLoader = config.loadSession ??
    ((graph, options) =>
      runtime.InferenceSession.create(graph.model, {
        ...options,
        externalData: graph.externalData.map(({ path, data }) => ({ path, data })),
      }));
  return {
    device: config.device,
    capabilities: config.capabilities,
    async createSession(graph: GraphBytes): Promise<ModelSession> {
      let session: ort.InferenceSession;
      try {
        session = await loadSession(graph, {
          executionProviders: config.executionProviders,
          graphOptimizationLevel: "all",
          logSeverityLevel: 3,
        });
      } catch (cause) {
        throw new EditMGTError(
          "backend_unavailable",
          `onnxruntime (${config.device}) could not create a session for the graph: ${
            messageOf(cause)
          }`,
          { cause, details: { device: config.device } },
        );
      }
      return wrapSession(runtime, config.device, session);
    },
  };
}

function wrapSession(
  runtime: OrtRuntime,
  device: DeviceName,
  session: ort.InferenceSession,
): ModelSession {
  const oneAtATime = serialQueue();
  let released = false;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run(feeds: NamedTensors): Promise<NamedTensors> {
      if (released) {
        return Promise.reject(
          new EditMGTError("internal", `the ${device} session was released; load it again`),
        );
      }
      return oneAtATime(() => runSession(runtime, device, session, feeds));
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      await oneAtATime(() => session.release());
    },
  };
}

/**
 * Returns a function that runs tasks one at a time, in call order. onnxruntime-web refuses a
 * second `run` on a session while one is in flight ("Session already started" on its JSEP
 * builds) or hangs (WebGPU), so every call to a session goes through one of these. A task that
 * rejects does not hold up the tasks queued after it.
 */
function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let previous: Promise<unknown> = Promise.resolve();
  return (task) => {
    const result = previous.then(task);
    previous = result.catch(() => {});
    return result;
  };
}

async function runSession(
  runtime: OrtRuntime,
  device: DeviceName,
  session: ort.InferenceSession,
  feeds: NamedTensors,
): Promise<NamedTensors> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(feeds)) {
    ortFeeds[name] = new runtime.Tensor(tensor.type, tensor.data, tensor.dims);
  }
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(ortFeeds);
  } catch (cause) {
    throw new EditMGTError(
      "internal",
      `onnxruntime (${device}) failed to run the graph: ${messageOf(cause)}`,
      { cause, details: { device } },
    );
  }
  const outputs: NamedTensors = {};
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = await toModelTensor(name, tensor);
  }
  return outputs;
}

async function toModelTensor(name: string, tensor: ort.Tensor): Promise<ModelTensor> {
  if (!TENSOR_TYPES.has(tensor.type)) {
    throw new EditMGTError(
      "model_output",
      `graph output "${name}" has element type ${tensor.type}, which the pipeline does not read`,
    );
  }
  const type = tensor.type as TensorType;
  const data = tensor.location === "cpu" ? tensor.data : await tensor.getData(true);
  return { type, data: data as TensorArrays[typeof type], dims: [...tensor.dims] };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
