/**
 * Shared by the pipeline, engine and CLI tests: the random-weights tiny model package
 * (tests/fixtures/tiny-random), a backend that records what runs through it, and a test image.
 */

import type { Backend, DeviceName, NamedTensors } from "../../src/model/backend.ts";
import { denoSource } from "../../src/model/deno.ts";
import { createBackend } from "../../src/model/deno.ts";
import type { RgbaImage } from "../../src/image/types.ts";
import { EditPipeline, type EditPipelineLoadOptions } from "../../src/pipeline/pipeline.ts";

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
  /** Sessions alive now. */
  alive: number;
  /** Most sessions alive at once so far. */
  peakAlive: number;
  /** In order: `+kind` when a session is made, `-kind` when it is released. */
  log: string[];
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
    alive: 0,
    peakAlive: 0,
    log: [],
    async createSession(graph) {
      const session = await inner.createSession(graph);
      backend.created++;
      const kind = graphKind(session.inputNames);
      backend.alive++;
      backend.peakAlive = Math.max(backend.peakAlive, backend.alive);
      backend.log.push(`+${kind}`);
      return {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        run(feeds) {
          backend.runs[kind].push(snapshot(feeds));
          return session.run(feeds);
        },
        async release() {
          backend.released++;
          backend.alive--;
          backend.log.push(`-${kind}`);
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

/** Loads tiny-random (or another package) on `device` through a recording backend. */
export async function loadTinyRandom(
  device: DeviceName,
  manifest: URL = TINY_RANDOM,
  options: Omit<EditPipelineLoadOptions, "backend" | "source"> = {},
): Promise<{ pipeline: EditPipeline; backend: RecordingBackend }> {
  const backend = recordingBackend(await createBackend(device));
  const pipeline = await EditPipeline.load(manifest, { ...options, backend, source: denoSource });
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

/**
 * A photo-like test picture: smooth lighting gradients, a few soft-edged blobs of colour and
 * fine sinusoidal texture with seeded noise, so resampling and VQ-encoding see photo-like
 * statistics (not flat areas and hard edges only). The same seed gives the same bytes.
 */
export function photoImage(width: number, height: number, seed = 1): RgbaImage {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const blobs = Array.from({ length: 5 }, () => ({
    x: random() * width,
    y: random() * height,
    radius: (0.1 + 0.25 * random()) * Math.min(width, height),
    rgb: [random() * 255, random() * 255, random() * 255],
  }));
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const rgb = [60 + 120 * u, 90 + 80 * v, 170 - 90 * u * v];
      for (const blob of blobs) {
        const distance = Math.hypot(x - blob.x, y - blob.y) / blob.radius;
        const weight = 1 / (1 + Math.exp(8 * (distance - 1)));
        for (let c = 0; c < 3; c++) rgb[c] += weight * (blob.rgb[c] - rgb[c]);
      }
      const texture = 9 * Math.sin(x * 0.21 + 3 * Math.sin(y * 0.05)) * Math.cos(y * 0.17);
      const i = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[i + c] = Math.round(rgb[c] + texture + 6 * (random() - 0.5));
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}
