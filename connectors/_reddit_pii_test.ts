import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { hashNormalized, phoneE164 } from "../core/pii/mod.ts";
import { redditAdId, redditEmail, redditIp } from "./_reddit_pii.ts";

Deno.test("redditEmail() cuts the +alias and non-alphanumerics on every domain", () => {
  assert.equal(redditEmail("Al.ice$+Apple@Example.Com"), "alice@example.com");
  assert.equal(redditEmail("  first.last@mail.example.co.uk "), "firstlast@mail.example.co.uk");
  assert.equal(redditEmail("x_y-z@gmail.com"), "xyz@gmail.com");
  assert.equal(redditEmail("José.Núñez@Example.es"), "josénúñez@example.es");
  assert.equal(redditEmail("+only@example.com"), undefined);
  assert.equal(redditEmail("not an email"), undefined);
});

Deno.test("redditEmail() hashes Reddit's documented example to its documented digest", () => {
  const digest = "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976";
  assert.equal(hashNormalized("Al.ice$+Apple@Example.Com", redditEmail), digest);
  assert.equal(hashNormalized("alice@example.com", redditEmail), digest);
});

Deno.test("Reddit phone and external id hash to the documented digests", () => {
  assert.equal(
    hashNormalized("+1 (555) 444-1234 ext. 789", phoneE164),
    "e5b124c58580eb16bd959b8d0cac12b12c952e2ceae0203d416cff94f10b994a",
  );
  assert.equal(
    hashNormalized("customer12345", (v) => v.trim()),
    "a4cc2fc5adf58a029291c1514d273989113a1d05e1d753c1d0c3a848af7109cc",
  );
});

Deno.test("redditIp() gives one canonical text per address, so it hashes the same", () => {
  assert.equal(redditIp(" 192.168.0.1 "), "192.168.0.1");
  assert.equal(redditIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(redditIp("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(redditIp("not-an-ip"), undefined);
  assert.equal(hashNormalized("2001:DB8::1", redditIp), sha256Hex("2001:db8::1"));
});

Deno.test("redditAdId() uppercases IDFAs and lowercases AAIDs, keeping dashes", () => {
  assert.equal(
    redditAdId(" 8a2e4f6d-0852-4b2a-b9d5-79334de14b16 ", "idfa"),
    "8A2E4F6D-0852-4B2A-B9D5-79334DE14B16",
  );
  assert.equal(
    redditAdId("38400000-8CF0-11BD-B23E-10B96E40000D", "aaid"),
    "38400000-8cf0-11bd-b23e-10b96e40000d",
  );
  assert.equal(redditAdId("  ", "aaid"), undefined);
});
