import assert from "node:assert/strict";
import { hashNormalized, hashValue, looksHashed } from "./hash.ts";
import { normalizeEmail } from "./email.ts";

const JOE = "d77d57003c971d3d887fdb894643e384b4a95456683a6d3d6474d15e5b176d50";

Deno.test("hashValue() gives lowercase SHA-256 hex of the UTF-8 bytes", () => {
  assert.equal(hashValue("joe@smith.com"), JOE);
  assert.equal(
    hashValue("valéry"),
    "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c",
  );
});

Deno.test("hashValue() passes an already-hashed value through, lowercased", () => {
  assert.equal(hashValue(JOE.toUpperCase()), JOE);
  assert.equal(hashValue(` ${JOE} `), JOE);
  assert.equal(looksHashed(JOE), true);
  assert.equal(looksHashed(JOE.slice(1)), false);
});

Deno.test("hashValue() drops empty values", () => {
  assert.equal(hashValue(""), undefined);
  assert.equal(hashValue("   "), undefined);
  assert.equal(hashValue(undefined), undefined);
});

Deno.test("hashNormalized() normalises, hashes once, and skips normalising hashed input", () => {
  assert.equal(hashNormalized("  Joe@Smith.COM ", normalizeEmail), JOE);
  assert.equal(hashNormalized(JOE.toUpperCase(), normalizeEmail), JOE);
  assert.equal(hashNormalized("not an email", normalizeEmail), undefined);
  assert.equal(hashNormalized(undefined, normalizeEmail), undefined);
});
