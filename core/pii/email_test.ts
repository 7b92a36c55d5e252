import assert from "node:assert/strict";
import { googleEmail, normalizeEmail, redditEmail } from "./email.ts";

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

Deno.test("googleEmail() strips local-part dots only for gmail.com and googlemail.com", () => {
  assert.equal(googleEmail(" Jo.Smith@Gmail.com "), "josmith@gmail.com");
  assert.equal(googleEmail("j.o.smith+x@googlemail.com"), "josmith+x@googlemail.com");
  assert.equal(googleEmail("jo.smith@example.com"), "jo.smith@example.com");
  assert.equal(googleEmail("nope"), undefined);
});

Deno.test("redditEmail() cuts the +alias and non-alphanumerics on every domain", () => {
  assert.equal(redditEmail("Al.ice$+Apple@Example.Com"), "alice@example.com");
});
