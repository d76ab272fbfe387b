import assert from "node:assert/strict";
import { EditMGTError } from "../../src/errors/mod.ts";
import {
  assertPixelLimit,
  decodeImage,
  readImageHeader,
  sniffFormat,
} from "../../src/image/mod.ts";
import {
  animatedWebp,
  decompressionBombs,
  jpegClaiming,
  jpegWithPrecision,
  pngHeaderOnly,
  unsupportedFormats,
  zeroByteFile,
} from "../_shared/bad_images.ts";
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
    decodeImage(zeroByteFile()),
    (error) => assertTypedError(error, "invalid_input", "corrupt_image"),
  );
});

Deno.test("GIF, BMP, TIFF, HEIF and unknown bytes are unsupported_format errors", async () => {
  for (const [name, bytes] of Object.entries(unsupportedFormats())) {
    await assert.rejects(decodeImage(bytes), (error) => {
      assertTypedError(error, "unsupported_format");
      assert.match((error as Error).message, new RegExp(name.replace("/", "\\/")));
      return true;
    });
  }
});

Deno.test("an animated WebP is refused as unsupported_format", () => {
  assert.throws(
    () => readImageHeader(animatedWebp()),
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
  for (const [format, bytes] of Object.entries(decompressionBombs())) {
    // The files hold a header and no pixels: a decoder could only fail on them (corrupt_image),
    // so image_too_large comes from the header. The decoders are asynchronous, and the promise
    // is already rejected before any of them could have started.
    const first = await Promise.race([decodeImage(bytes), Promise.resolve("still pending")])
      .catch((error) => error);
    assertTypedError(first, "payload_too_large", "image_too_large");
    assert.throws(
      () => assertPixelLimit(readImageHeader(bytes)),
      (error) => assertTypedError(error, "payload_too_large", "image_too_large"),
      `${format}: the header alone refuses it`,
    );
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
  await assert.rejects(decodeImage(jpegWithPrecision(12)), (error) => {
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
