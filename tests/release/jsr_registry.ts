/**
 * A JSR registry on loopback, enough for `deno publish` to upload a package to it and for Deno
 * to install that package from it (point both at it with `JSR_URL`). What a user of the
 * published package gets is then exactly what `deno publish` uploads: the files its
 * `publish` settings select, with their import-map specifiers unfurled.
 *
 * It answers the publish API (`GET /api/scopes/S/packages/P`,
 * `POST /api/scopes/S/packages/P/versions/V`, the tarball gzipped) and the read side
 * (`/@S/P/meta.json`, `/@S/P/V_meta.json` with each file's size and sha256, and the files).
 *
 * @module
 */

import { sha256Hex } from "../../src/model/verify.ts";

/** One published version: its files by path ("/mod.ts") and its deno.json's exports. */
interface Version {
  files: Map<string, Uint8Array<ArrayBuffer>>;
  exports: Record<string, string>;
}

/** A registry started by {@linkcode startRegistry}. */
export interface Registry {
  /** The registry's root URL, with a trailing slash: the value for `JSR_URL`. */
  url: string;
  /** Published versions, by "@scope/name@version". */
  published: Map<string, Version>;
  /** Stops the server. */
  close(): Promise<void>;
}

const PACKAGE = /^\/api\/scopes\/([\w-]+)\/packages\/([\w-]+)$/;
const UPLOAD = /^\/api\/scopes\/([\w-]+)\/packages\/([\w-]+)\/versions\/([\w.+-]+)$/;
const PACKAGE_META = /^\/@([\w-]+)\/([\w-]+)\/meta\.json$/;
const VERSION_META = /^\/@([\w-]+)\/([\w-]+)\/([\w.+-]+)_meta\.json$/;
const FILE = /^\/@([\w-]+)\/([\w-]+)\/([\w.+-]+)(\/.+)$/;

/** Starts a registry on a free loopback port. */
export function startRegistry(): Registry {
  const published = new Map<string, Version>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      let match: RegExpMatchArray | null;
      if (request.method === "POST" && (match = path.match(UPLOAD))) {
        const [, scope, name, version] = match;
        const tarball = request.body!.pipeThrough(new DecompressionStream("gzip"));
        const files = untar(new Uint8Array(await new Response(tarball).arrayBuffer()));
        const config = JSON.parse(new TextDecoder().decode(files.get("/deno.json")));
        published.set(`@${scope}/${name}@${version}`, { files, exports: config.exports });
        return Response.json({ id: `${scope}-${name}-${version}`, status: "success" });
      }
      if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
      if ((match = path.match(PACKAGE))) return Response.json({ scope: match[1], name: match[2] });
      if ((match = path.match(PACKAGE_META))) {
        const prefix = `@${match[1]}/${match[2]}@`;
        const versions = [...published.keys()].filter((key) => key.startsWith(prefix));
        if (versions.length === 0) return new Response("not found", { status: 404 });
        return Response.json({
          versions: Object.fromEntries(versions.map((key) => [key.slice(prefix.length), {}])),
        });
      }
      if ((match = path.match(VERSION_META))) {
        const version = published.get(`@${match[1]}/${match[2]}@${match[3]}`);
        if (!version) return new Response("not found", { status: 404 });
        const manifest: Record<string, { size: number; checksum: string }> = {};
        for (const [file, bytes] of version.files) {
          manifest[file] = { size: bytes.length, checksum: `sha256-${await sha256Hex(bytes)}` };
        }
        return Response.json({ exports: version.exports, manifest });
      }
      if ((match = path.match(FILE))) {
        const bytes = published.get(`@${match[1]}/${match[2]}@${match[3]}`)?.files.get(match[4]);
        if (bytes) return new Response(bytes);
      }
      return new Response("not found", { status: 404 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    published,
    close: () => server.shutdown(),
  };
}

/** The regular files of a tar archive, by path with a leading slash ("./a/b.ts" → "/a/b.ts"). */
export function untar(archive: Uint8Array<ArrayBuffer>): Map<string, Uint8Array<ArrayBuffer>> {
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  const text = (from: number, length: number) =>
    new TextDecoder().decode(archive.subarray(from, from + length)).replace(/\0.*$/s, "");
  let longName: string | null = null;
  for (let offset = 0; offset + 512 <= archive.length;) {
    if (archive.subarray(offset, offset + 512).every((byte) => byte === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || "0", 8);
    const type = text(offset + 156, 1) || "0";
    const prefix = text(offset + 345, 155);
    const data = archive.slice(offset + 512, offset + 512 + size);
    let name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    longName = null;
    if (type === "L") longName = new TextDecoder().decode(data).replace(/\0.*$/s, "");
    else if (type === "0") {
      name = name.replace(/^\.?\/?/, "/");
      files.set(name, data);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
