/**
 * Model routes: the model list, manifests (`/v1/models/:id`, `/models/:id/manifest.json`) and
 * the files a manifest lists (`/models/:id/<path>`), with ranges, strong ETags and cache headers.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import type { ServerEnv } from "../context.ts";
import { errorResponses, jsonResponse } from "../openapi/describe.ts";
import { type RouteSpec, serve } from "../route.ts";
import { findModel, type ServicesGetter } from "../services.ts";
import type { ModelListEntry } from "../openapi/schemas.ts";
import type { ServedModel } from "./registry.ts";
import { respondWithRepresentation } from "./respond.ts";

/** `Cache-Control` of manifests: short, then revalidate with the ETag. */
const MANIFEST_CACHE = "public, max-age=60";
/** `Cache-Control` of files whose name embeds their hash. */
const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";
/** `Cache-Control` of other model files: always revalidate (cheap with the ETag). */
const REVALIDATE_CACHE = "public, no-cache";

/** Model files may be embedded by any origin (they are public and integrity-checked). */
const CROSS_ORIGIN = { "Cross-Origin-Resource-Policy": "cross-origin" };

/** `GET /v1/models`. */
const LIST = {
  method: "GET",
  path: "/v1/models",
  access: "public",
  doc: { summary: "List models", responses: { 200: jsonResponse("ModelList", "models") } },
} as const satisfies RouteSpec;

/** The responses of a manifest. */
const MANIFEST_RESPONSES = {
  200: jsonResponse("Manifest", "manifest"),
  304: { description: "not modified" },
  ...errorResponses([404]),
};

/** `GET /v1/models/:id`. */
const MODEL = {
  method: "GET",
  path: "/v1/models/:id",
  access: "public",
  doc: {
    summary: "A model's manifest (ETag)",
    pathParameters: { id: "model id" },
    responses: MANIFEST_RESPONSES,
  },
} as const satisfies RouteSpec;

/** `GET /models/:id/manifest.json`: the manifest where its files are. */
const MANIFEST = {
  method: "GET",
  path: "/models/:id/manifest.json",
  access: "public",
  doc: {
    summary: "A model's manifest, beside its files (ETag)",
    pathParameters: { id: "model id" },
    responses: MANIFEST_RESPONSES,
  },
} as const satisfies RouteSpec;

/** `GET /models/:id/<path>`. */
const FILE = {
  method: "GET",
  path: "/models/:id/:path{.+}",
  access: "public",
  doc: {
    summary: "A file the manifest lists (Range, strong ETag, CORS, CORP)",
    pathParameters: { id: "model id", path: "file path in the manifest" },
    responses: {
      200: { description: "the file" },
      206: { description: "one byte range" },
      304: { description: "not modified" },
      416: jsonResponse("ErrorBody", "range not satisfiable"),
      ...errorResponses([404]),
    },
  },
} as const satisfies RouteSpec;

/** The routes of the served models, for the route table. */
export const MODEL_ROUTES: readonly RouteSpec[] = [LIST, MODEL, MANIFEST, FILE];

/**
 * The `GET /v1/models` entry of `model`, its manifest URL under `base` (the resolved
 * `urlBase`: the public URL, the base path, or "").
 */
export function modelListEntry(model: ServedModel, base: string): ModelListEntry {
  return {
    id: model.id,
    object: "model",
    version: model.manifest.version,
    license: model.manifest.license,
    resolution: model.manifest.resolution,
    manifest: `${base}/models/${encodeURIComponent(model.id)}/manifest.json`,
  };
}

/** The routes of the served models (see the module doc). */
export function modelRoutes(services: ServicesGetter): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const find = async (id: string): Promise<ServedModel> => findModel(await services(), id);
  const manifest = async (c: Context<ServerEnv>) => {
    const model = await find(c.req.param("id")!);
    return respondWithRepresentation(c.req.raw, {
      body: model.manifestBytes,
      size: model.manifestBytes.byteLength,
      etag: model.manifestEtag,
      contentType: "application/json",
      cacheControl: MANIFEST_CACHE,
    }, CROSS_ORIGIN);
  };

  serve(app, LIST, async (c) => {
    const { models, options } = await services();
    const data = [...models.values()].map((model) => modelListEntry(model, options.urlBase));
    return c.json({ object: "list", data });
  });
  serve(app, MODEL, manifest);
  serve(app, MANIFEST, manifest);
  serve(app, FILE, async (c) => {
    const model = await find(c.req.param("id"));
    const path = c.req.param("path");
    const file = model.files.get(path);
    if (file === undefined) {
      throw new EditMGTError(
        "not_found",
        `model "${model.id}" has no file "${path}"; its manifest lists every file`,
      );
    }
    return respondWithRepresentation(c.req.raw, {
      body: file.location,
      size: file.bytes,
      etag: file.etag,
      contentType: file.contentType,
      cacheControl: file.contentHashed ? IMMUTABLE_CACHE : REVALIDATE_CACHE,
    }, CROSS_ORIGIN);
  });
  return app;
}
