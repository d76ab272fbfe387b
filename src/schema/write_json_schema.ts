/**
 * Writes `manifest.schema.json` next to this file from {@linkcode manifestJsonSchema}
 * (`deno task schema`). A test fails when the committed file is out of date.
 *
 * @module
 */
import { manifestJsonSchema } from "./manifest.ts";

/** The committed JSON Schema text: two-space indented, with a final newline. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  const target = new URL("./manifest.schema.json", import.meta.url);
  await Deno.writeTextFile(target, manifestJsonSchemaText());
  console.log(`wrote ${target.pathname}`);
}
