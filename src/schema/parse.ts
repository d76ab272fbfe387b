import type { z } from "zod";
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
export function parseWith<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  code: ErrorCode = "invalid_input",
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const summary = issues.map(({ path, message }) => `${path || "(root)"}: ${message}`).join("; ");
  throw new EditMGTError(code, summary, { details: { issues } });
}
