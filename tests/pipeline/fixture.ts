/**
 * Shared by the pipeline, engine and CLI tests: the random-weights tiny model package
 * (tests/fixtures/tiny-random), a backend that records what runs through it, and a test image.
 */

import type { Backend, DeviceName, NamedTensors } from "../../src/model/backend.ts";
import { denoSource } from "../../src/model/deno.ts";
import { createBackend } from "../../src/model/select.ts";
import type { RgbaImage } from "../../src/image/types.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";

/** The tiny-random package's manifest. */
export const TINY_RANDOM: URL = new URL("../fixtures/tiny-random/manifest.json", import.meta.url);

/** onnxruntime keeps thread pools and GPU buffers alive between tests on purpose. */
export const ORT_SANITIZERS = { sanitizeOps: false, sanitizeResources: false } as const;

/** The graphs of a model, named by the input that only they have. */
export type GraphKind = "text" | "vq-encode" | "vq-decode" | "step";

/** A backend that counts sessions and keeps the feeds of every run, by graph. */
export interface RecordingBackend extends Backend {
  /** Sessions created. */
  created: number;
  /** Sessions released. */
  released: number;
  /** Feeds of every run so far, per graph. */
  runs: Record<GraphKind, NamedTensors[]>;
}

function graphKind(inputNames: readonly string[]): GraphKind {
  if (inputNames.includes("input_ids")) return "text";
  if (inputNames.includes("pixels")) return "vq-encode";
  if (inputNames.includes("ref_tokens")) return "step";
  return "vq-decode";
}

/** Wraps `inner`, recording sessions and runs. */
export function recordingBackend(inner: Backend): RecordingBackend {
  const backend: RecordingBackend = {
    device: inner.device,
    capabilities: inner.capabilities,
    created: 0,
    released: 0,
    runs: { "text": [], "vq-encode": [], "vq-decode": [], "step": [] },
    async createSession(graph) {
      const session = await inner.createSession(graph);
      backend.created++;
      const kind = graphKind(session.inputNames);
      return {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        run(feeds) {
          backend.runs[kind].push(snapshot(feeds));
          return session.run(feeds);
        },
        async release() {
          backend.released++;
          await session.release();
        },
      };
    },
  };
  return backend;
}

/** A copy of `feeds` (the sampler reuses its buffers from step to step). */
function snapshot(feeds: NamedTensors): NamedTensors {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, tensor]) => [name, { ...tensor, data: tensor.data.slice() }]),
  ) as NamedTensors;
}

/** Loads tiny-random on `device` through a recording backend. */
export async function loadTinyRandom(
  device: DeviceName,
  manifest: URL = TINY_RANDOM,
): Promise<{ pipeline: EditPipeline; backend: RecordingBackend }> {
  const backend = recordingBackend(await createBackend(device));
  const pipeline = await EditPipeline.load(manifest, { backend, source: denoSource });
  return { pipeline, backend };
}

/**
 * A test picture: a red disk on a blue-to-green gradient, any size. Odd sizes exercise the
 * resize to the model resolution and back.
 */
export function diskImage(width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  const cx = width * 0.4;
  const cy = height * 0.55;
  const radius = Math.min(width, height) * 0.25;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const inside = (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
      data.set(
        inside ? [220, 40, 40, 255] : [40, Math.round(200 * x / width), 200, 255],
        i,
      );
    }
  }
  return { width, height, data };
}

/** Token ids of an int64 graph feed as numbers. */
export function ids(feeds: NamedTensors, name: string): number[] {
  return Array.from(feeds[name].data as BigInt64Array, Number);
}
