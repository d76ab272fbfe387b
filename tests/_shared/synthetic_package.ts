/**
 * The real EditMGT's layout on synthetic weights, converted by the real command: a tiny-dimension
 * snapshot written by `python3 -m tools.convert.synthetic` (CLIP and Gemma-2 text encoders with
 * their tokenizers, the transformer, the VQ) and converted by `python3 -m tools.convert` with every
 * weight variant (`--variants all`: fp16, int8 and q4 of the text encoders and the transformer). The
 * package is cached under `tmp/` by a digest of the Python tools, so a change to the converter
 * converts again and the tests of one run share one conversion.
 */

const ROOT = new URL("../../", import.meta.url);
const PYTHON = "/usr/bin/python3";

/** Pixels the tiny synthetic snapshot works at (`TINY_RESOLUTION` in tools/convert/synthetic.py). */
export const SYNTHETIC_RESOLUTION = 64;

let converted: Promise<string> | null = null;

/** Path of the converted synthetic package (its folder, holding `manifest.json`). */
export function syntheticPackage(): Promise<string> {
  converted ??= convertOnce();
  return converted;
}

async function convertOnce(): Promise<string> {
  const convertArgs = ["--resolution", String(SYNTHETIC_RESOLUTION), "--variants", "all"];
  const digest = await toolsDigest(convertArgs.join(" "));
  const folder = new URL(`tmp/editmgt-synthetic-${digest.slice(0, 16)}/`, ROOT);
  const out = new URL("package/", folder);
  try {
    await Deno.stat(new URL("manifest.json", out));
    return out.pathname;
  } catch {
    // Not converted yet.
  }
  await Deno.remove(folder, { recursive: true }).catch(() => {});
  const snapshot = new URL("snapshot/", folder).pathname;
  await python("tools.convert.synthetic", snapshot);
  await python("tools.convert", snapshot, out.pathname, ...convertArgs);
  return out.pathname;
}

async function python(module: string, ...args: string[]): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: ["-m", module, ...args],
    cwd: ROOT,
    env: { OPENBLAS_NUM_THREADS: "1" },
  }).output();
  if (code !== 0) {
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    throw new Error(`python3 -m ${module} failed (${code}):\n${decode(stdout)}\n${decode(stderr)}`);
  }
}

/** sha256 over every Python source of tools/ (tests excluded), in path order, and `extra`. */
async function toolsDigest(extra: string): Promise<string> {
  const files: string[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory && !["tests", "__pycache__", "checkpoints"].includes(entry.name)) {
        await walk(url);
      } else if (entry.isFile && entry.name.endsWith(".py")) files.push(url.pathname);
    }
  };
  await walk(new URL("tools/", ROOT));
  files.sort();
  const parts = [
    ...await Promise.all(files.map((file) => Deno.readFile(file))),
    new TextEncoder().encode(extra),
  ];
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
