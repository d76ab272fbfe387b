/**
 * What a page loads before its first paint when it imports the built SDK: `mod.js` and every
 * chunk it imports statically, transitively (dynamic `import()`s load later, when a call needs
 * them: the manifest's schema when a model opens, the pipeline on the page's thread, the codecs).
 *
 * @module
 */

/** A static `import`/`export ... from` of a sibling chunk, in bundled (minified) code. */
const STATIC_IMPORT =
  /(?<![\w$.])(?:import|export)\s*(?:[\w$*{}\s,]*?from\s*)?["']\.\/([^"']+\.js)["']/g;

/** The first load of a built SDK folder. */
export interface FirstLoad {
  /** The files, `mod.js` first, then by name. */
  files: { name: string; bytes: number }[];
  /** Their bytes together (uncompressed). */
  bytes: number;
}

/**
 * The files a page fetches when it imports `entry` (default `mod.js`) from the built SDK in
 * `outdir`, before any call.
 *
 * @example
 * ```ts
 * import { firstLoad } from "./first_load.ts"; // sdk/first_load.ts
 *
 * const { bytes, files } = await firstLoad("dist/sdk");
 * console.log(`${files.length} files, ${bytes} bytes`);
 * ```
 */
export async function firstLoad(outdir: string, entry = "mod.js"): Promise<FirstLoad> {
  const seen = new Map<string, number>();
  const pending = [entry];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    const bytes = await Deno.readFile(`${outdir}/${name}`);
    seen.set(name, bytes.byteLength);
    const code = new TextDecoder().decode(bytes);
    for (const [, imported] of code.matchAll(STATIC_IMPORT)) pending.push(imported);
  }
  const files = [...seen].map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => (a.name === entry ? -1 : b.name === entry ? 1 : a.name.localeCompare(b.name)));
  return { files, bytes: files.reduce((sum, file) => sum + file.bytes, 0) };
}
