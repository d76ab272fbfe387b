/**
 * The shared schemas (zod 4): the model manifest (`editmgt-manifest/1`), the options of an
 * edit request and the job wire format of the edit API, with a parser that turns failures into
 * typed errors.
 *
 * @example
 * ```ts
 * import { ManifestSchema } from "@editmgt/editmgt/schema";
 *
 * const result = ManifestSchema.safeParse({ format: "editmgt-manifest/1" });
 * console.log(result.success); // false: everything else is missing
 * ```
 *
 * @module
 */

export {
  BROWSER_DEVICES,
  type BrowserDevice,
  DEVICE_NAMES,
  type DeviceName,
  isDeviceName,
} from "./devices.ts";
export {
  type EditTimings,
  JOB_STATUSES,
  JobErrorSchema,
  type JobErrorView,
  type JobResultSummary,
  type JobResultView,
  type JobStatus,
  type JobUrls,
  type JobView,
  JobViewSchema,
  type LocalizationView,
  type MapView,
  type ResultJson,
  ResultJsonSchema,
} from "./job.ts";
export {
  COMPONENT_DTYPES,
  COMPONENT_KINDS,
  type ComponentDtype,
  type ComponentKind,
  type Manifest,
  MANIFEST_FORMAT,
  type ManifestComponent,
  type ManifestDefaults,
  type ManifestDevice,
  type ManifestFile,
  type ManifestFileParts,
  type ManifestGrid,
  manifestJsonSchema,
  ManifestSchema,
  type ManifestVariant,
} from "./manifest.ts";
export {
  type EditOptions,
  editOptionsJsonSchema,
  EditOptionsSchema,
  type EditRequest,
  editRequestJsonSchema,
  EditRequestSchema,
  isBlankPrompt,
  MAX_PREVIEW_EVERY,
  MAX_PROMPT_CHARS,
  MAX_REQUEST_STEPS,
  promptLength,
} from "./options.ts";
export { parseWith } from "./parse.ts";
export { checkEditInputFields, EDIT_INPUT_FIELDS } from "./request.ts";
// The error family parseWith throws, so that this entry documents itself alone.
export * from "../errors/mod.ts";
export type { SafeParseResult, Schema, SchemaIssue } from "./schema.ts";
