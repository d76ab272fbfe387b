/// <reference lib="deno.worker" />
/** Worker for codec.test.ts: decodes and re-encodes the bytes it is sent, inside a Deno Worker. */
import { decodeImage, encodeImage } from "../../src/image/mod.ts";

self.onmessage = async (event: MessageEvent<Uint8Array>) => {
  try {
    const image = await decodeImage(event.data);
    const png = await encodeImage(image);
    self.postMessage({ width: image.width, height: image.height, png });
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
