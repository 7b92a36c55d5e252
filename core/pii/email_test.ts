import assert from "node:assert/strict";
import { normalizeEmail } from "./email.ts";

Deno.test("normalizeEmail() trims and lowercases", () => {
  assert.equal(normalizeEmail("  Joe@Smith.COM\t"), "joe@smith.com");
  assert.equal(normalizeEmail("José.Núñez@Example.es"), "josé.núñez@example.es");
});

Deno.test("normalizeEmail() keeps gmail dots and plus aliases (Meta and most platforms)", () => {
  assert.equal(normalizeEmail("Jo.Smith+shop@Gmail.com"), "jo.smith+shop@gmail.com");
});

Deno.test("normalizeEmail() folds fullwidth letters and ligatures (NFKC)", () => {
  assert.equal(normalizeEmail("ｊｏｅ@ｅｘａｍｐｌｅ.com"), "joe@example.com");
  assert.equal(normalizeEmail("ﬁnn@example.com"), "finn@example.com");
});

Deno.test("normalizeEmail() takes every RFC 5322 atom character and internationalised addresses", () => {
  for (
    const good of [
      "o'brien@example.ie",
      "x!#$%&'*+/=?^_`{|}~@example.org",
      "user@xn--bcher-kva.de",
      "user@bücher.de",
      "пользователь@пример.рф",
      "user@example.xn--p1ai",
      `${"a".repeat(64)}@example.com`,
    ]
  ) {
    assert.equal(normalizeEmail(good), good, good);
  }
});

Deno.test("normalizeEmail() drops values that are not addresses", () => {
  for (
    const bad of [
      "",
      "joe",
      "joe@",
      "@smith.com",
      "joe@smith",
      "jo e@smith.com",
      "a..b@x.com",
      ".joe@example.com",
      "joe.@example.com",
      "joe@-example.com",
      "joe@example-.com",
      "joe@exam_ple.com",
      "joe@example.com,",
      "joe@example.com.",
      "joe@example.123",
      "joe@example.c",
      "joe@[192.168.0.1]",
      "mailto:joe@example.com",
      "<joe@example.com>",
      '"joe"@example.com',
      "joe@smith.com\u200b",
      `${"a".repeat(65)}@example.com`,
      `joe@${"a".repeat(64)}.com`,
      `x@${"a".repeat(250)}.com`,
    ]
  ) {
    assert.equal(normalizeEmail(bad), undefined, bad);
  }
});
