import assert from "node:assert/strict";
import { base64ToBytes, bytesToBase64 } from "../core/digest.ts";
import { constantTimeEqual, randomBase62, randomHexId, Sealer } from "./crypto.ts";

const SECRET = "test-master-secret-0123456789abcdef";

Deno.test("Sealer.open() returns what seal() sealed", () => {
  const sealer = new Sealer(SECRET, "events");
  for (
    const text of ["", "hello", '{"email":"ada@example.com","name":"Ädä €"}', "x".repeat(70_000)]
  ) {
    assert.equal(sealer.open(sealer.seal(text)), text);
  }
  const again = new Sealer(SECRET, "events");
  assert.equal(again.open(sealer.seal("stable key")), "stable key");
});

Deno.test("Sealer.seal() uses a fresh IV each time and adds 28 bytes", () => {
  const sealer = new Sealer(SECRET, "events");
  const a = sealer.seal("same");
  const b = sealer.seal("same");
  assert.notEqual(a, b);
  assert.equal(base64ToBytes(a).length, 12 + 4 + 16);
});

Deno.test("Sealer.open() throws when one byte was flipped", () => {
  const sealer = new Sealer(SECRET, "events");
  const bytes = base64ToBytes(sealer.seal("secret value"));
  for (const index of [0, 12, bytes.length - 1]) {
    const tampered = bytes.slice();
    tampered[index] = tampered[index]! ^ 0x01;
    assert.throws(() => sealer.open(bytesToBase64(tampered)));
  }
});

Deno.test("Sealer.open() throws when the value is too short", () => {
  const sealer = new Sealer(SECRET, "events");
  assert.throws(() => sealer.open(bytesToBase64(new Uint8Array(27))), {
    message: "Cannot open sealed value: too short",
  });
});

Deno.test("Sealer.open() throws for a value sealed under another purpose or secret", () => {
  const sealed = new Sealer(SECRET, "events").seal("pii");
  assert.throws(() => new Sealer(SECRET, "platform-config").open(sealed));
  assert.throws(() => new Sealer(SECRET + "x", "events").open(sealed));
});

Deno.test("constantTimeEqual() compares strings exactly", () => {
  assert.equal(constantTimeEqual("sk_abc", "sk_abc"), true);
  assert.equal(constantTimeEqual("sk_abc", "sk_abd"), false);
  assert.equal(constantTimeEqual("sk_abc", "sk_ab"), false);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("é", "e"), false);
});

Deno.test("randomBase62() returns the requested length from the base62 alphabet", () => {
  for (const length of [0, 1, 24, 40, 200]) {
    const value = randomBase62(length);
    assert.equal(value.length, length);
    assert.match(value, /^[0-9A-Za-z]*$/);
  }
  assert.notEqual(randomBase62(40), randomBase62(40));
});

Deno.test("randomBase62() uses every character of the alphabet", () => {
  const seen = new Set(randomBase62(20_000));
  assert.equal(seen.size, 62);
});

Deno.test("randomHexId() returns 16 hex characters", () => {
  assert.match(randomHexId(), /^[0-9a-f]{16}$/);
  assert.notEqual(randomHexId(), randomHexId());
});
