import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { hashNormalized, normalizeEmail, phoneE164 } from "../core/pii/mod.ts";
import { tiktokName, tiktokZip } from "./_tiktok_pii.ts";

Deno.test("tiktokName() lowercases, drops punctuation and every space, keeps accents", () => {
  assert.equal(tiktokName("Mary Ann"), "maryann");
  assert.equal(tiktokName("  O'Brien "), "obrien");
  assert.equal(tiktokName("Valéry"), "valéry");
  assert.equal(tiktokName("Jean-Luc"), "jeanluc");
  assert.equal(tiktokName(" ... "), undefined);
});

Deno.test("tiktokZip() removes spaces and dashes and keeps every digit", () => {
  assert.equal(tiktokZip("94025-1234"), "940251234");
  assert.equal(tiktokZip(" SW1A 1AA "), "sw1a1aa");
  assert.equal(tiktokZip("42 000"), "42000");
  assert.equal(tiktokZip(" - "), undefined);
});

Deno.test("TikTok's documented examples hash to TikTok's digests on the canonical forms", () => {
  // Events API 2.0 parameter examples: email trimmed and lowercased, phone E.164 with +.
  assert.equal(
    hashNormalized(" ALICE_abc@gmail.com ", normalizeEmail),
    "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f",
  );
  assert.equal(phoneE164("(+1)2133734253"), "+12133734253");
  assert.equal(
    hashNormalized("(+1)2133734253", (v) => phoneE164(v)),
    "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd",
  );
  assert.equal(
    sha256Hex("user_123"),
    "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b",
  );
});
