/**
 * Byte blobs (images) in Deno KV, whose values hold at most 64 KiB: a blob is stored as chunks
 * under `[...key, index]` plus a `[...key, "meta"]` entry written last, so a reader sees either
 * the whole blob or none of it.
 *
 * @module
 */

/** Bytes per chunk (under the 64 KiB value limit). */
const CHUNK_BYTES = 60_000;
/** Chunks per atomic write (under the 800 KiB atomic-operation limit). */
const CHUNKS_PER_WRITE = 10;
/** Keys per `getMany` (its limit). */
const KEYS_PER_READ = 10;

interface BlobMeta {
  bytes: number;
  chunks: number;
}

/** Stores `bytes` under `key`, expiring after `expireIn` milliseconds when given. */
export async function writeBlob(
  kv: Deno.Kv,
  key: Deno.KvKey,
  bytes: Uint8Array,
  expireIn?: number,
): Promise<void> {
  const chunks = Math.ceil(bytes.byteLength / CHUNK_BYTES);
  const options = expireIn === undefined ? undefined : { expireIn };
  for (let first = 0; first < chunks; first += CHUNKS_PER_WRITE) {
    const operation = kv.atomic();
    for (let index = first; index < Math.min(chunks, first + CHUNKS_PER_WRITE); index++) {
      const chunk = bytes.slice(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES);
      operation.set([...key, index], chunk, options);
    }
    await commit(operation);
  }
  const meta: BlobMeta = { bytes: bytes.byteLength, chunks };
  await kv.set([...key, "meta"], meta, options);
}

/** The blob under `key`, or null when it is missing or partly expired. */
export async function readBlob(kv: Deno.Kv, key: Deno.KvKey): Promise<Uint8Array | null> {
  const meta = (await kv.get<BlobMeta>([...key, "meta"])).value;
  if (meta === null) return null;
  const bytes = new Uint8Array(meta.bytes);
  for (let first = 0; first < meta.chunks; first += KEYS_PER_READ) {
    const keys: Deno.KvKey[] = [];
    for (let index = first; index < Math.min(meta.chunks, first + KEYS_PER_READ); index++) {
      keys.push([...key, index]);
    }
    const entries = await kv.getMany<Uint8Array[]>(keys);
    for (const [offset, entry] of entries.entries()) {
      if (!(entry.value instanceof Uint8Array)) return null;
      bytes.set(entry.value, (first + offset) * CHUNK_BYTES);
    }
  }
  return bytes;
}

/** Deletes every key under `prefix` (a blob, or all blobs of a job). */
export async function deleteBlobs(kv: Deno.Kv, prefix: Deno.KvKey): Promise<void> {
  let operation = kv.atomic();
  let pending = 0;
  for await (const entry of kv.list({ prefix })) {
    operation.delete(entry.key);
    if (++pending === 100) {
      await commit(operation);
      operation = kv.atomic();
      pending = 0;
    }
  }
  if (pending > 0) await commit(operation);
}

async function commit(operation: Deno.AtomicOperation): Promise<void> {
  const result = await operation.commit();
  if (!result.ok) throw new Error("a KV blob write conflicted (blob keys are never checked)");
}
