import assert from "node:assert/strict";
import { hashNormalized, phoneE164 } from "../core/pii/mod.ts";
import { microsoftEmail } from "./_microsoft_pii.ts";

Deno.test("microsoftEmail() removes every dot and the +alias of the local part, on every domain", () => {
  assert.equal(microsoftEmail("  John.Doe+ads@Contoso.com "), "johndoe@contoso.com");
  assert.equal(microsoftEmail("a.b.c@mail.example.co.uk"), "abc@mail.example.co.uk");
  assert.equal(microsoftEmail("first.last+x+y@gmail.com"), "firstlast@gmail.com");
  assert.equal(microsoftEmail("under_score-dash@example.com"), "under_score-dash@example.com");
  assert.equal(microsoftEmail("+alias@example.com"), undefined);
  assert.equal(microsoftEmail("no-at-sign"), undefined);
});

Deno.test("Microsoft em and ph hash the guide's examples to its documented digests", () => {
  assert.equal(
    hashNormalized("john@contoso.com", microsoftEmail),
    "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602",
  );
  assert.equal(
    hashNormalized("J.O.H.N+newsletter@Contoso.com", microsoftEmail),
    "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602",
  );
  assert.equal(
    hashNormalized("(425) 555-1234", (v) => phoneE164(v, "US")),
    "c59475d96e9f01d7d18d06cfad84dd02333207f02c0c2c5663ef2782cda0390e",
  );
});
