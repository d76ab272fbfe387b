/**
 * What the feature folders describe their routes with: references to the document's component
 * schemas (names checked by the compiler), JSON and error responses, image content. And the
 * route of the document itself.
 *
 * @module
 */

import type { RouteSpec } from "../route.ts";
import type { ComponentName } from "./schemas.ts";

/** A `$ref` to the component schema `name`. */
export function ref(name: ComponentName): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

/** A JSON response whose body is the component `name`. */
export function jsonResponse(name: ComponentName, description: string): Record<string, unknown> {
  return { description, content: { "application/json": { schema: ref(name) } } };
}

/** Error responses (`ErrorBody`, or `body` where a route answers its own) for `statuses`. */
export function errorResponses(
  statuses: number[],
  body: ComponentName = "ErrorBody",
): Record<number, Record<string, unknown>> {
  return Object.fromEntries(statuses.map((status) => [status, jsonResponse(body, "error")]));
}

/** The content of a response that is an image, by media type. */
export const IMAGE_CONTENT: Record<string, unknown> = Object.fromEntries(
  ["image/png", "image/jpeg", "image/webp"].map((type) => [
    type,
    { schema: { type: "string", format: "binary" } },
  ]),
);

/** `GET /openapi.json`. */
export const OPENAPI_DOCUMENT = {
  method: "GET",
  path: "/openapi.json",
  access: "public",
  doc: {
    summary: "This OpenAPI document",
    responses: { 200: { description: "the document", content: { "application/json": {} } } },
  },
} as const satisfies RouteSpec;

/** The route of the OpenAPI document, for the route table. */
export const OPENAPI_ROUTES: readonly RouteSpec[] = [OPENAPI_DOCUMENT];
