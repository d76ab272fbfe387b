/**
 * `GET /healthz` (the process answers) and `GET /readyz` (models loaded and, where this process
 * runs jobs, every engine ready; 503 until then). Both answer while edits run, since inference
 * runs in the engine's Worker.
 *
 * @module
 */

import { Hono } from "hono";
import type { ServerEnv } from "../context.ts";
import type { HealthBody } from "../openapi/schemas.ts";
import type { ServicesGetter } from "../services.ts";
import { jsonResponse } from "../openapi/describe.ts";
import { type RouteSpec, serve } from "../route.ts";

/** `GET /healthz`. */
const LIVENESS = {
  method: "GET",
  path: "/healthz",
  access: "same-origin",
  doc: { summary: "Liveness", responses: { 200: jsonResponse("Health", "alive") } },
} as const satisfies RouteSpec;

/** `GET /readyz`. */
const READINESS = {
  method: "GET",
  path: "/readyz",
  access: "same-origin",
  doc: {
    summary: "Readiness: models loaded, engines ready",
    responses: { 200: jsonResponse("Health", "ready"), 503: jsonResponse("Health", "not ready") },
  },
} as const satisfies RouteSpec;

/** The health routes, for the route table. */
export const HEALTH_ROUTES: readonly RouteSpec[] = [LIVENESS, READINESS];

/** The health routes; `started` says whether start-up has finished (either way). */
export function healthRoutes(services: ServicesGetter, started: () => boolean): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  serve(app, LIVENESS, (c) => c.json({ status: "ok" } satisfies HealthBody));
  serve(app, READINESS, async (c) => {
    c.header("Cache-Control", "no-store");
    if (!started()) return c.json({ status: "starting" } satisfies HealthBody, 503);
    const s = await services().catch(() => null);
    if (s === null) return c.json({ status: "failed" } satisfies HealthBody, 503);
    const models: NonNullable<HealthBody["models"]> = [...s.models.keys()].map((id) => {
      const readiness = s.readiness.get(id);
      if (readiness === undefined) return { id, engine: "none" };
      return readiness.error === undefined
        ? { id, engine: readiness.state }
        : { id, engine: readiness.state, error: readiness.error };
    });
    const status = models.some((model) => model.engine === "failed")
      ? "failed"
      : models.some((model) => model.engine === "loading")
      ? "starting"
      : "ready";
    return c.json({ status, models } satisfies HealthBody, status === "ready" ? 200 : 503);
  });
  return app;
}
