import assert from "node:assert/strict";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";

const FAST = { N: 1024, r: 8, p: 1 };

Deno.test("hashPassword() stores scrypt parameters and a fresh salt per password", async () => {
  const a = await hashPassword("correct-horse-battery", FAST);
  const b = await hashPassword("correct-horse-battery", FAST);
  assert.match(a, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(a, b);
  assert.ok(!a.includes("correct-horse-battery"));
});

Deno.test("verifyPassword() accepts the password and refuses others and malformed hashes", async () => {
  const stored = await hashPassword("correct-horse-battery", FAST);
  assert.equal(await verifyPassword("correct-horse-battery", stored), true);
  assert.equal(await verifyPassword("correct-horse-batterY", stored), false);
  assert.equal(await verifyPassword("correct-horse-battery", "plain"), false);
});

Deno.test("passwordProblem() asks for 10 to 256 characters", () => {
  assert.match(passwordProblem("short")!, /at least 10/);
  assert.equal(passwordProblem("long enough!"), undefined);
  assert.match(passwordProblem("x".repeat(257))!, /at most 256/);
});
