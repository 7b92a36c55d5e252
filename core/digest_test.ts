import assert from "node:assert/strict";
import { base64ToBytes, bytesToBase64, sha256Hex } from "./digest.ts";

Deno.test("sha256Hex() matches the FIPS 180-2 test vectors", () => {
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

Deno.test("sha256Hex() hashes the UTF-8 bytes of the text", () => {
  assert.equal(sha256Hex("é"), sha256Hex("\u00e9"));
  assert.notEqual(sha256Hex("é"), sha256Hex("e\u0301"));
});

Deno.test("bytesToBase64() and base64ToBytes() round-trip large byte arrays", () => {
  const bytes = new Uint8Array(100_000).map((_, i) => i % 256);
  const text = bytesToBase64(bytes);
  assert.equal(text.slice(0, 8), "AAECAwQF");
  assert.deepEqual(base64ToBytes(text), bytes);
});
