/**
 * Where the tests' fixture images live, for every test folder that reads them.
 *
 * @module
 */

/** Directory of the fixture images, as a URL ending in "/". */
export const FIXTURE_IMAGES: URL = new URL("../fixtures/images/", import.meta.url);

/**
 * Reads a fixture image: a fresh copy each call, so a test may rewrite its bytes.
 *
 * @example
 * ```ts
 * const png = fixtureImage("pattern-7x5.png");
 * ```
 */
export function fixtureImage(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURE_IMAGES));
}
