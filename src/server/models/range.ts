/**
 * `Range` request headers (RFC 9110 section 14), single byte ranges only.
 *
 * @module
 */

/** What to answer to a `Range` header for a representation of `size` bytes. */
export type ByteRange =
  /** No usable range: answer 200 with everything (no header, another unit, or several ranges). */
  | { kind: "all" }
  /** Answer 206 with bytes `start..end` (inclusive). */
  | { kind: "range"; start: number; end: number }
  /** Answer 416 with `Content-Range: bytes *\/size` (malformed or out of the file). */
  | { kind: "unsatisfiable" };

const BYTES_RANGE = /^bytes\s*=\s*(.*)$/i;
const RANGE_SPEC = /^(\d{0,15})-(\d{0,15})$/;

/**
 * Parses a `Range` header against a representation of `size` bytes: `bytes=a-b`, `bytes=a-`
 * (from a to the end) and `bytes=-n` (the last n bytes). Several ranges are not supported and
 * get the whole file; another unit is ignored; a malformed or unsatisfiable byte range is
 * `unsatisfiable`.
 *
 * @example
 * ```ts
 * import { parseRange } from "./range.ts";
 *
 * console.log(parseRange("bytes=0-99", 1000)); // { kind: "range", start: 0, end: 99 }
 * console.log(parseRange("bytes=-10", 1000)); // { kind: "range", start: 990, end: 999 }
 * console.log(parseRange("bytes=1000-", 1000)); // { kind: "unsatisfiable" }
 * ```
 */
export function parseRange(header: string | null | undefined, size: number): ByteRange {
  if (header === null || header === undefined) return { kind: "all" };
  const bytes = header.trim().match(BYTES_RANGE);
  if (bytes === null) return { kind: "all" };
  const specs = bytes[1].split(",").map((spec) => spec.trim());
  if (specs.length > 1 && specs.every((spec) => RANGE_SPEC.test(spec))) return { kind: "all" };
  const spec = specs[0].match(RANGE_SPEC);
  if (specs.length > 1 || spec === null) return { kind: "unsatisfiable" };
  const [, first, last] = spec;
  if (first === "" && last === "") return { kind: "unsatisfiable" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Number(last);
  if (end < start || start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", start, end: Math.min(end, size - 1) };
}
