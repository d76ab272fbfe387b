/**
 * Reads the safetensors goldens the Python tools write (tools/safetensors.py): an 8-byte
 * little-endian header length, a JSON header, then the little-endian tensor bytes.
 */

/** One tensor of a safetensors file. */
export interface StoredTensor {
  /** safetensors dtype name (F32, I64, U8). */
  dtype: string;
  /** Shape. */
  shape: number[];
  /** Values. */
  data: Float32Array | BigInt64Array | Uint8Array;
}

const ARRAYS: Record<string, (buffer: ArrayBuffer) => StoredTensor["data"]> = {
  F32: (b) => new Float32Array(b),
  I64: (b) => new BigInt64Array(b),
  U8: (b) => new Uint8Array(b),
};

/** Every tensor of the file at `url`, by name, and its `__metadata__` strings. */
export async function readSafetensors(
  url: URL,
): Promise<{ tensors: Map<string, StoredTensor>; metadata: Record<string, string> }> {
  const bytes = await Deno.readFile(url);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const start = 8 + headerLength;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    const read = ARRAYS[dtype];
    if (read === undefined) throw new Error(`${url}: ${name} has an unexpected dtype ${dtype}`);
    tensors.set(name, { dtype, shape, data: read(bytes.slice(start + begin, start + end).buffer) });
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}
