import assert from "node:assert/strict";
import { Sha256 } from "../../sdk/sha256.ts";

async function webCryptoHex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65536)));
  }
  return bytes;
}

Deno.test("sha256 equals WebCrypto on every length from 0 to 300 and around block edges", async () => {
  const lengths = [...Array(301).keys(), 447, 448, 511, 512, 513, 4095, 4096, 65_537, 1_000_003];
  for (const length of lengths) {
    const bytes = randomBytes(length);
    assert.equal(new Sha256().update(bytes).hex(), await webCryptoHex(bytes), `length ${length}`);
  }
});

Deno.test("sha256 fed in uneven pieces equals one update", async () => {
  const bytes = randomBytes(200_000);
  for (const piece of [1, 3, 63, 64, 65, 1000, 77_777]) {
    const hash = new Sha256();
    for (let offset = 0; offset < bytes.length; offset += piece) {
      hash.update(bytes.subarray(offset, offset + piece));
    }
    assert.equal(hash.hex(), await webCryptoHex(bytes), `pieces of ${piece}`);
  }
});

Deno.test("sha256 resumed from a saved state (through JSON) equals hashing at once", async () => {
  const bytes = randomBytes(3 * 4096 + 17);
  const first = new Sha256().update(bytes.subarray(0, 4096));
  assert.equal(new Sha256().update(bytes.subarray(0, 100)).state(), null);
  const saved = JSON.parse(JSON.stringify(first.state()));
  const resumed = new Sha256(saved).update(bytes.subarray(4096));
  assert.equal(resumed.length, bytes.length);
  assert.equal(resumed.hex(), await webCryptoHex(bytes));
  assert.equal(first.hex(), await webCryptoHex(bytes.subarray(0, 4096)));
});
