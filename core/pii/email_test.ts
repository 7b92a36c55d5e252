import assert from "node:assert/strict";
import { normalizeEmail } from "./email.ts";

Deno.test("normalizeEmail() trims and lowercases", () => {
  assert.equal(normalizeEmail("  Joe@Smith.COM\t"), "joe@smith.com");
  assert.equal(normalizeEmail("José.Núñez@Example.es"), "josé.núñez@example.es");
});

Deno.test("normalizeEmail() keeps gmail dots and plus aliases (Meta and most platforms)", () => {
  assert.equal(normalizeEmail("Jo.Smith+shop@Gmail.com"), "jo.smith+shop@gmail.com");
});

Deno.test("normalizeEmail() drops values that are not addresses", () => {
  for (
    const bad of ["", "joe", "joe@", "@smith.com", "joe@smith", "jo e@smith.com", "a..b@x.com"]
  ) {
    assert.equal(normalizeEmail(bad), undefined, bad);
  }
});
