/**
 * The route table of the server: every route, in the order the app registers them, each with
 * its method, path, access (CORS and API keys), submission flag (rate limit, body reader) and
 * OpenAPI operation. The app's middleware, the OpenAPI document and the tests read it. Each
 * feature folder contributes the descriptors of its routes, beside their handlers (which it
 * registers with `serve`, so a route's method and path are written once): to add a route, add
 * its descriptor to its folder's list and its handler with `serve`.
 *
 * @module
 */

import { EDIT_ROUTES } from "./edits/routes.ts";
import { HEALTH_ROUTES } from "./health/index.ts";
import { MODEL_ROUTES } from "./models/routes.ts";
import { OPENAI_ROUTES } from "./openai/routes.ts";
import { OPENAPI_ROUTES } from "./openapi/describe.ts";
import type { RouteSpec } from "./route.ts";
import { STATIC_ROUTES } from "./static/index.ts";

/** Every route of the server; the static ones last (their `/*` takes what no other route does). */
export const ROUTES: readonly RouteSpec[] = [
  ...HEALTH_ROUTES,
  ...MODEL_ROUTES,
  ...EDIT_ROUTES,
  ...OPENAI_ROUTES,
  ...OPENAPI_ROUTES,
  ...STATIC_ROUTES,
];
