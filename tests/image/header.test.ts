import assert from "node:assert/strict";
import { EditMGTError } from "../../src/errors/mod.ts";
import {
  assertPixelLimit,
  decodeImage,
  readImageHeader,
  sniffFormat,
} from "../../src/image/mod.ts";
import { assertTypedError, fixture, seededRandom } from "./helpers.ts";

const DECODABLE = [
  "pattern-7x5.png",
  "pattern-rgba-7x5.png",
  "pattern-gray16-7x5.png",
  "pattern-7x5.jpg",
  "pattern-progressive-7x5.jpg",
  "pattern-lossy-7x5.webp",
  "pattern-lossless-7x5.webp",
  "pattern-rgba-lossless-7x5.webp",
];

/** A PNG signature and IHDR claiming `width` x `height`, then an IEND chunk (no pixel data). */
function pngHeaderOnly(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(45);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 6, 0, 0, 0], 24);
  bytes.set([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82], 33);
  return bytes;
}

/** A RIFF/WEBP file with a VP8X chunk claiming `width` x `height`. */
function webpExtendedHeader(width: number, height: number, flags = 0): Uint8Array {
  const bytes = new Uint8Array(30);
  const view = new DataView(bytes.buffer);
  bytes.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  view.setUint32(4, 22, true);
  bytes.set([0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x58], 8); // WEBPVP8X
  view.setUint32(16, 10, true);
  bytes[20] = flags;
  for (const [at, value] of [[24, width - 1], [27, height - 1]]) {
    bytes.set([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff], at);
  }
  return bytes;
}

/** The pattern JPEG with its frame header rewritten to claim `width` x `height`. */
function jpegClaiming(width: number, height: number): Uint8Array {
  const bytes = fixture("pattern-7x5.jpg");
  let sof = 2;
  while (!(bytes[sof] === 0xff && bytes[sof + 1] === 0xc0)) sof++;
  const view = new DataView(bytes.buffer);
  view.setUint16(sof + 5, height);
  view.setUint16(sof + 7, width);
  return bytes;
}

Deno.test("sniffFormat recognises PNG, JPEG and WebP by their magic bytes only", () => {
  assert.equal(sniffFormat(fixture("pattern-7x5.png")), "png");
  assert.equal(sniffFormat(fixture("pattern-7x5.jpg")), "jpeg");
  assert.equal(sniffFormat(fixture("pattern-lossy-7x5.webp")), "webp");
  assert.equal(sniffFormat(fixture("pattern-7x5.gif")), undefined);
  assert.equal(sniffFormat(new Uint8Array()), undefined);
  assert.equal(sniffFormat(new TextEncoder().encode("RIFF....WAVEfmt ")), undefined);
});

Deno.test("readImageHeader reads the stored size of every fixture format", () => {
  for (const name of DECODABLE) {
    const header = readImageHeader(fixture(name));
    assert.equal(header.width, 7, name);
    assert.equal(header.height, 5, name);
    assert.equal(header.orientation, 1, name);
  }
  assert.equal(readImageHeader(fixture("pattern-lossless-7x5.webp")).format, "webp");
});

Deno.test("readImageHeader reads the EXIF orientation and the stored (unrotated) JPEG size", () => {
  for (let orientation = 1; orientation <= 8; orientation++) {
    const header = readImageHeader(fixture(`orientation-${orientation}.jpg`));
    assert.equal(header.orientation, orientation);
    assert.deepEqual(
      [header.width, header.height],
      orientation >= 5 ? [16, 32] : [32, 16],
    );
  }
});

Deno.test("a zero-byte file is a corrupt-image error", async () => {
  await assert.rejects(
    decodeImage(new Uint8Array()),
    (error) => assertTypedError(error, "invalid_input", "corrupt_image"),
  );
});

Deno.test("GIF, BMP, TIFF, HEIF and unknown bytes are unsupported_format errors", async () => {
  const inputs: Record<string, Uint8Array> = {
    GIF: fixture("pattern-7x5.gif"),
    BMP: fixture("pattern-7x5.bmp"),
    TIFF: new Uint8Array([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    "HEIF/AVIF": new Uint8Array([
      0,
      0,
      0,
      24,
      0x66,
      0x74,
      0x79,
      0x70,
      0x61,
      0x76,
      0x69,
      0x66,
      0,
      0,
      0,
      0,
    ]),
    "unknown format": new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"),
  };
  for (const [name, bytes] of Object.entries(inputs)) {
    await assert.rejects(decodeImage(bytes), (error) => {
      assertTypedError(error, "unsupported_format");
      assert.match((error as Error).message, new RegExp(name.replace("/", "\\/")));
      return true;
    });
  }
});

Deno.test("an animated WebP is refused as unsupported_format", () => {
  assert.throws(
    () => readImageHeader(webpExtendedHeader(10, 10, 0x02)),
    (error) => assertTypedError(error, "unsupported_format"),
  );
});

Deno.test("every truncation of every fixture is a typed error, never a crash", async () => {
  for (const name of DECODABLE) {
    const bytes = fixture(name);
    for (let length = 0; length < bytes.length; length++) {
      await assert.rejects(
        decodeImage(bytes.subarray(0, length)),
        (error) => assertTypedError(error, "invalid_input", "corrupt_image"),
        `${name} cut to ${length} bytes`,
      );
    }
  }
});

Deno.test("headers claiming 100000x100000 pixels are refused before decoding", async () => {
  const claims = [
    pngHeaderOnly(100_000, 100_000),
    webpExtendedHeader(100_000, 100_000),
    jpegClaiming(65_000, 65_000), // JPEG sizes are 16-bit
  ];
  for (const bytes of claims) {
    const started = performance.now();
    await assert.rejects(
      decodeImage(bytes),
      (error) => assertTypedError(error, "payload_too_large", "image_too_large"),
    );
    assert.ok(performance.now() - started < 1000, "refused from the header, not by decoding");
  }
});

Deno.test("the pixel limit is an option, and exactly the limit is allowed", async () => {
  const png = fixture("pattern-7x5.png");
  await assert.rejects(
    decodeImage(png, { maxPixels: 34 }),
    (error) => assertTypedError(error, "payload_too_large", "image_too_large"),
  );
  assert.equal((await decodeImage(png, { maxPixels: 35 })).width, 7);
  assert.doesNotThrow(() => assertPixelLimit({ width: 4096, height: 4096 }));
  assert.throws(() => assertPixelLimit({ width: 4097, height: 4096 }));
});

Deno.test("zero-size headers are corrupt-image errors", () => {
  for (const bytes of [pngHeaderOnly(0, 10), jpegClaiming(7, 0)]) {
    assert.throws(
      () => readImageHeader(bytes),
      (error) => assertTypedError(error, "invalid_input", "corrupt_image"),
    );
  }
});

Deno.test("a JPEG whose header has a 12-bit precision fails in the codec as a typed error, and the decoder still works afterwards", async () => {
  const bytes = fixture("pattern-7x5.jpg");
  let sof = 2;
  while (!(bytes[sof] === 0xff && bytes[sof + 1] === 0xc0)) sof++;
  bytes[sof + 4] = 12;
  await assert.rejects(decodeImage(bytes), (error) => {
    assertTypedError(error, "invalid_input", "corrupt_image");
    assert.match((error as Error).message, /precision 12/);
    return true;
  });
  const good = await decodeImage(fixture("pattern-7x5.jpg"));
  assert.equal(good.width, 7);
});

Deno.test("random byte corruption gives a decoded image or a typed error, never anything else", async () => {
  const random = seededRandom(7);
  for (const name of DECODABLE) {
    const original = fixture(name);
    for (let trial = 0; trial < 60; trial++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      try {
        const image = await decodeImage(bytes);
        assert.equal(image.data.length, image.width * image.height * 4);
      } catch (error) {
        assert.ok(error instanceof EditMGTError, `${name} trial ${trial}: ${String(error)}`);
      }
    }
  }
});
