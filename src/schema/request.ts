/**
 * The fields of an edit request, `{ image, instruction, mask?, options? }`: the one request shape
 * of the pipeline, the engine and the browser SDK's editor (local or remote). No import beyond
 * the errors, so that a browser bundle holding it stays small.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";

/** Every field of an edit request; edit options (steps, seed...) go in `options`. */
export const EDIT_INPUT_FIELDS = ["image", "instruction", "mask", "options"] as const;

/**
 * Throws `invalid_option` when `request` has a field other than {@linkcode EDIT_INPUT_FIELDS}:
 * an option written beside the image (`{ image, instruction, steps: 4 }`) would otherwise be
 * ignored without a word.
 *
 * @throws {EditMGTError} `invalid_option`, naming the field and where it goes.
 *
 * @example
 * ```ts
 * import { checkEditInputFields } from "@editmgt/editmgt/schema";
 *
 * checkEditInputFields({ image: "a.png", instruction: "make it blue", options: { steps: 4 } });
 * try {
 *   checkEditInputFields({ image: "a.png", instruction: "make it blue", steps: 4 });
 * } catch (error) {
 *   console.log((error as Error).message); // unknown field "steps" of the edit request; ...
 * }
 * ```
 */
export function checkEditInputFields(request: object): void {
  const known: readonly string[] = EDIT_INPUT_FIELDS;
  const unknown = Object.keys(request).filter((field) => !known.includes(field));
  if (unknown.length === 0) return;
  const [field] = unknown;
  throw new EditMGTError(
    "invalid_option",
    `unknown field "${field}" of the edit request; it has ${EDIT_INPUT_FIELDS.join(", ")}, ` +
      `and edit options go in \`options\`: { image, instruction, options: { ${field}: ... } }`,
    { details: { option: field, fields: unknown } },
  );
}
