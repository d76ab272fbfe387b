/**
 * `POST /v1/images/edits` used as a real user would: the official `openai` npm client pointed at
 * a loopback server.
 */
import assert from "node:assert/strict";
import OpenAI, { toFile } from "openai";
import { decodeImage, encodeImage } from "../../src/image/mod.ts";
import { OpenAIImagesResponseSchema } from "../../src/server/mod.ts";
import { sourceImage, sourcePng, startServer } from "./helpers.ts";

const png = await sourcePng();
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));

/** The public URL the server is told it has; URLs it returns start with it, whatever the Host. */
const PUBLIC_URL = "https://edits.example/api";

Deno.test("the openai client edits images through the compatible endpoint", async (t) => {
  const server = await startServer({ publicUrl: PUBLIC_URL });
  const keyed = await startServer({ apiKeys: ["secret"], worker: false });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
  try {
    await t.step("b64_json: one edited image of the source size", async () => {
      const response = await client.images.edit({
        model: "gpt-image-1",
        image: await toFile(png, "source.png", { type: "image/png" }),
        prompt: "make the red square blue",
      });
      OpenAIImagesResponseSchema.parse(response);
      assert.equal(response.data?.length, 1);
      const image = await decodeImage(fromBase64(response.data![0].b64_json!));
      assert.deepEqual([image.format, image.width, image.height], ["png", 48, 40]);
      assert.ok(Math.abs(response.created - Date.now() / 1000) < 60);
    });

    await t.step(
      "n, size, output_format and a mask whose transparent pixels are edited",
      async () => {
        const mask = sourceImage();
        for (let i = 0; i < mask.data.length; i += 4) {
          const x = (i / 4) % 48;
          mask.data[i + 3] = x < 24 ? 0 : 255;
        }
        const response = await client.images.edit({
          image: await toFile(png, "source.png", { type: "image/png" }),
          mask: await toFile(await encodeImage(mask), "mask.png", { type: "image/png" }),
          prompt: "make the red square blue",
          n: 2,
          size: "96x80",
          output_format: "webp",
        });
        assert.equal(response.data?.length, 2);
        assert.equal(response.size, "96x80");
        for (const item of response.data!) {
          const image = await decodeImage(fromBase64(item.b64_json!));
          assert.deepEqual([image.format, image.width, image.height], ["webp", 96, 80]);
        }
      },
    );

    await t.step("response_format url: URLs under the public URL serve the images", async () => {
      const response = await client.images.edit({
        image: await toFile(png, "source.png", { type: "image/png" }),
        prompt: "make the red square blue",
        response_format: "url",
      });
      const url = response.data![0].url!;
      assert.ok(url.startsWith(`${PUBLIC_URL}/v1/edits/`), url);
      const image = await fetch(`${server.url}${url.slice(PUBLIC_URL.length)}`);
      assert.equal(image.status, 200);
      assert.equal(image.headers.get("content-type"), "image/png");
      const decoded = await decodeImage(new Uint8Array(await image.arrayBuffer()));
      assert.deepEqual([decoded.width, decoded.height], [48, 40]);
    });

    await t.step("errors reach the client as APIError with our code and status", async () => {
      const error = await client.images.edit({
        image: await toFile(new Uint8Array([1, 2, 3]), "broken.png", { type: "image/png" }),
        prompt: "make the red square blue",
      }).catch((error) => error);
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.equal(error.status, 400);
      assert.match(error.message, /corrupt image|too few/);
    });

    await t.step("n up to 10, as OpenAI allows, and usage with zero counts", async () => {
      const response = await client.images.edit({
        image: await toFile(png, "source.png", { type: "image/png" }),
        prompt: "make the red square blue",
        n: 10,
        // @ts-expect-error: our extension field, as JSON text (few steps keep the test short)
        options: JSON.stringify({ steps: 1, seed: 20 }),
      });
      OpenAIImagesResponseSchema.parse(response);
      assert.equal(response.data?.length, 10);
      assert.deepEqual(response.usage, {
        input_tokens: 0,
        input_tokens_details: { image_tokens: 0, text_tokens: 0 },
        output_tokens: 0,
        total_tokens: 0,
      });
    });

    await t.step("errors carry OpenAI's type and param: n over 10, an opaque mask", async () => {
      const tooMany = await client.images.edit({
        image: await toFile(png, "source.png", { type: "image/png" }),
        prompt: "make the red square blue",
        n: 11,
      }).catch((error) => error);
      assert.ok(tooMany instanceof OpenAI.BadRequestError, String(tooMany));
      assert.equal(tooMany.type, "invalid_request_error");
      assert.equal(tooMany.param, "n");
      assert.equal(tooMany.code, "invalid_option");
      assert.match(tooMany.message, /\[1, 10\]/);

      const opaque = sourceImage();
      for (let i = 3; i < opaque.data.length; i += 4) opaque.data[i] = 255;
      const masked = await client.images.edit({
        image: await toFile(png, "source.png", { type: "image/png" }),
        mask: await toFile(await encodeImage(opaque), "mask.png", { type: "image/png" }),
        prompt: "make the red square blue",
      }).catch((error) => error);
      assert.ok(masked instanceof OpenAI.BadRequestError, String(masked));
      assert.equal(masked.type, "invalid_request_error");
      assert.equal(masked.param, "mask");
      assert.equal(masked.code, "invalid_input");
      assert.match(masked.message, /fully opaque.*transparent pixels \(alpha 0\) mark the area/);

      const unauthorized = await new OpenAI({
        baseURL: `${keyed.url}/v1`,
        apiKey: "wrong",
        maxRetries: 0,
      }).images.edit({
        image: await toFile(png, "source.png", { type: "image/png" }),
        prompt: "make the red square blue",
      }).catch((error) => error);
      assert.ok(unauthorized instanceof OpenAI.AuthenticationError, String(unauthorized));
      assert.equal(unauthorized.type, "authentication_error");
      assert.equal(unauthorized.param, null);
    });

    await t.step(
      "the transparent pixels of the image itself mark the region without a mask",
      async () => {
        const source = sourceImage();
        for (let y = 0; y < 40; y++) {
          for (let x = 0; x < 24; x++) source.data[(y * 48 + x) * 4 + 3] = 0;
        }
        const form = new FormData();
        form.set(
          "image",
          new File([await encodeImage(source) as Uint8Array<ArrayBuffer>], "in.png"),
        );
        form.set("prompt", "fill the left half");
        form.set("options", JSON.stringify({ seed: 4, steps: 3 }));
        const response = await fetch(`${server.url}/v1/images/edits`, {
          method: "POST",
          body: form,
        });
        assert.equal(response.status, 200, await response.clone().text());
        const body = OpenAIImagesResponseSchema.parse(await response.json());
        const edited = await decodeImage(fromBase64(body.data[0].b64_json!));
        for (let y = 0; y < 40; y++) {
          for (let x = 36; x < 48; x++) {
            const at = (y * 48 + x) * 4;
            assert.deepEqual(
              [...edited.data.slice(at, at + 3)],
              [...source.data.slice(at, at + 3)],
              `pixel ${x},${y} is outside the transparent region and kept`,
            );
          }
        }
      },
    );
  } finally {
    await server.close();
    await keyed.close();
  }
});
