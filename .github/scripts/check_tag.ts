/**
 * Checks that a release tag names the version in `deno.json`, before the release workflow
 * publishes to JSR: `v0.1.0` publishes `"version": "0.1.0"`.
 *
 *   deno run --allow-read .github/scripts/check_tag.ts v0.1.0
 *
 * Exits 0 when they match, 1 with what to do when they do not.
 *
 * @module
 */

/**
 * The problem with releasing `tag` of a package whose `deno.json` says `version`, or `null` when
 * the tag is `v` followed by exactly that version.
 *
 * @example
 * ```ts
 * import { tagProblem } from "./check_tag.ts";
 *
 * console.log(tagProblem("v0.1.0", "0.1.0")); // null
 * console.log(tagProblem("v0.2.0", "0.1.0")); // says to set the version or move the tag
 * ```
 */
export function tagProblem(tag: string, version: string | undefined): string | null {
  const name = tag.replace(/^refs\/tags\//, "");
  if (version === undefined || version === "") {
    return `deno.json has no "version": add "version": "${
      name.replace(/^v/, "")
    }" to deno.json before tagging ${name}`;
  }
  if (!name.startsWith("v")) {
    return `the tag "${name}" is not a version tag: release tags are "v" and deno.json's version, ` +
      `here v${version}`;
  }
  if (name !== `v${version}`) {
    return `the tag ${name} does not match deno.json's version ${version}: set "version": ` +
      `"${name.slice(1)}" in deno.json and tag that commit, or tag v${version} instead`;
  }
  return null;
}

if (import.meta.main) {
  const [tag] = Deno.args;
  if (tag === undefined) {
    console.error("usage: check_tag.ts <tag>, e.g. check_tag.ts v0.1.0 (or $GITHUB_REF_NAME)");
    Deno.exit(2);
  }
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { version?: string };
  const problem = tagProblem(tag, config.version);
  if (problem !== null) {
    console.error(`release refused: ${problem}`);
    Deno.exit(1);
  }
  console.log(`tag ${tag} matches deno.json's version ${config.version}`);
}
