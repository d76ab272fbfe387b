import type { Schema } from "./schema.ts";
import { EditMGTError, type ErrorCode } from "../errors/mod.ts";

/**
 * Parses `value` with `schema`, turning a validation failure into an {@linkcode EditMGTError}
 * with `code` (default `invalid_input`) that lists every issue as `path: message`.
 *
 * @example
 * ```ts
 * import { EditOptionsSchema, parseWith } from "@editmgt/editmgt/schema";
 *
 * const options = parseWith(EditOptionsSchema, { steps: 16, lambda: "auto" }, "invalid_option");
 * console.log(options.steps); // 16
 * ```
 */
export function parseWith<T>(
  schema: Schema<T>,
  value: unknown,
  code: ErrorCode = "invalid_input",
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const summary = issues.map(({ path, message }) => `${path || "(root)"}: ${message}`).join("; ");
  throw new EditMGTError(code, summary, { details: { issues } });
}
