/**
 * What the routes share once the app has started: options, models, the job store, this
 * process's worker and the log. `createApp` builds it asynchronously; routes ask for it with
 * {@linkcode ServicesGetter}, which waits for start-up and answers 503 when it failed.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import { EditMGTError } from "../errors/mod.ts";
import { clip } from "./errors.ts";
import type { PixelBudget } from "./images/budget.ts";
import type { EncodedCache } from "./images/cache.ts";
import type { ImagePool } from "./images/pool.ts";
import type { JobStore } from "./jobs/store.ts";
import type { JobWorker } from "./jobs/worker.ts";
import type { Logger } from "./logging/index.ts";
import type { ServedModel } from "./models/registry.ts";
import type { ResolvedServerOptions } from "./options.ts";

/** The started server's parts. */
export interface ServerServices {
  /** Options with defaults. */
  options: ResolvedServerOptions;
  /** Served models by id, the default first. */
  models: ReadonlyMap<string, ServedModel>;
  /** Id of the model used when a request names none. */
  defaultModel: string;
  /** Engines by model id (empty when this process does not run jobs). */
  engines: ReadonlyMap<string, Engine>;
  /** Whether each engine has loaded its model. */
  readiness: ReadonlyMap<string, EngineReadiness>;
  /** The jobs. */
  store: JobStore;
  /** This process's queue consumer, if it runs jobs. */
  worker: JobWorker | null;
  /** Decoded pixels in flight, over every request and job. */
  budget: PixelBudget;
  /** The Workers that encode and resize images. */
  images: ImagePool;
  /** Results already re-encoded in another format or size. */
  results: EncodedCache;
  /** Log sink. */
  log: Logger;
}

/** Where an engine is in loading its model. */
export interface EngineReadiness {
  /** Loading, ready, or failed to load. */
  state: "loading" | "ready" | "failed";
  /** The load error's message, when it failed. */
  error?: string;
}

/** Resolves the services once started; rejects with `backend_unavailable` if start-up failed. */
export type ServicesGetter = () => Promise<ServerServices>;

/** The served model `id` (the default when undefined), or `model_not_found`. */
export function findModel(services: ServerServices, id: string | undefined): ServedModel {
  const model = services.models.get(id ?? services.defaultModel);
  if (model === undefined) {
    throw new EditMGTError(
      "model_not_found",
      `no model "${clip(String(id))}" here; GET /v1/models lists the ones served`,
      { details: { model: clip(String(id)) } },
    );
  }
  return model;
}
