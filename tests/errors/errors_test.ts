import assert from "node:assert/strict";
import { EditMGTError, ERROR_STATUS, isEditMGTError, isErrorCode } from "../../src/errors/mod.ts";

Deno.test("every code carries its HTTP status", () => {
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.ok(isErrorCode(code));
    const error = new EditMGTError(code as keyof typeof ERROR_STATUS, "message");
    assert.equal(error.status, status);
    assert.ok(status >= 400 && status < 600);
  }
  assert.equal(new EditMGTError("invalid_option", "x").status, 400);
  assert.equal(new EditMGTError("model_not_found", "x").status, 404);
  assert.equal(new EditMGTError("queue_full", "x").status, 429);
});

Deno.test("an error survives the JSON round trip that the server and the remote client make", () => {
  const error = new EditMGTError("hash_mismatch", "transformer.onnx differs", {
    details: { file: "transformer.onnx" },
    cause: new Error("low level"),
  });
  const back = EditMGTError.fromJSON(JSON.parse(JSON.stringify(error.toJSON())));
  assert.ok(back instanceof EditMGTError && back instanceof Error);
  assert.equal(back.code, "hash_mismatch");
  assert.equal(back.status, 502);
  assert.equal(back.message, "transformer.onnx differs");
  assert.deepEqual(back.details, { file: "transformer.onnx" });
  assert.equal(back.name, "EditMGTError");
});

Deno.test("an unknown error body becomes an internal error that keeps the text", () => {
  const error = EditMGTError.fromJSON({ error: { code: "teapot", message: "short and stout" } });
  assert.equal(error.code, "internal");
  assert.match(error.message, /teapot/);
  assert.equal(EditMGTError.fromJSON("oops").code, "internal");
});

Deno.test("isEditMGTError narrows by class and optionally by code", () => {
  const error = new EditMGTError("aborted", "stop");
  assert.ok(isEditMGTError(error));
  assert.ok(isEditMGTError(error, "aborted"));
  assert.ok(!isEditMGTError(error, "timeout"));
  assert.ok(!isEditMGTError(new Error("plain")));
  assert.ok(!isErrorCode("toString"));
});
