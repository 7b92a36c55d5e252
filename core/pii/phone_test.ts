import assert from "node:assert/strict";
import { normalizePhone, phoneDigits, phoneE164 } from "./phone.ts";

Deno.test("normalizePhone() keeps international numbers with + or 00", () => {
  assert.equal(normalizePhone("+44 20 7946 0958"), "+442079460958");
  assert.equal(normalizePhone("0044 20 7946 0958"), "+442079460958");
  assert.equal(normalizePhone("+44 (0)20 7946 0958"), "+442079460958");
  assert.equal(normalizePhone("+1 (650) 555-1212"), "+16505551212");
  assert.equal(normalizePhone("+33 6 12 34 56 78", "US"), "+33612345678");
  assert.equal(normalizePhone("+0044 20 7946 0958"), "+442079460958");
  assert.equal(normalizePhone("tel:+1-650-555-1212"), "+16505551212");
});

Deno.test("normalizePhone() uses the default country for national numbers", () => {
  assert.equal(normalizePhone("(650) 555-1212", "US"), "+16505551212");
  assert.equal(normalizePhone("1-650-555-1212", "us"), "+16505551212");
  assert.equal(normalizePhone("650.555.1212", "United States"), "+16505551212");
  assert.equal(normalizePhone("011 44 20 7946 0958", "US"), "+442079460958");
  assert.equal(normalizePhone("06 12 34 56 78", "FR"), "+33612345678");
  assert.equal(normalizePhone("06 12 34 56 78", "France"), "+33612345678");
  assert.equal(normalizePhone("33612345678", "FR"), "+33612345678");
  assert.equal(normalizePhone("020 7946 0958", "GB"), "+442079460958");
  assert.equal(normalizePhone("030 123456789", "DEU"), "+4930123456789");
  assert.equal(normalizePhone("06 1234567", "IT"), "+39061234567");
});

Deno.test("normalizePhone() strips extensions and odd characters", () => {
  assert.equal(normalizePhone("(650) 555-1212 ext. 42", "US"), "+16505551212");
  assert.equal(normalizePhone("+1 650 555 1212 x7"), "+16505551212");
  assert.equal(normalizePhone("＋１ ６５０ ５５５ １２１２"), "+16505551212");
});

Deno.test("normalizePhone() without a country hint keeps only unambiguous numbers", () => {
  assert.equal(normalizePhone("16505551212"), "+16505551212");
  assert.equal(normalizePhone("(650) 555-1212"), undefined);
  assert.equal(normalizePhone("06 12 34 56 78"), undefined);
});

Deno.test("normalizePhone() drops invalid numbers", () => {
  for (const bad of ["", "abc", "call me", "+1 555 12", "+1234567890123456", "12"]) {
    assert.equal(normalizePhone(bad, "US"), undefined, bad);
  }
});

Deno.test("phoneDigits() and phoneE164() derive the platforms' formats from E.164", () => {
  assert.equal(phoneDigits("(650) 555-1212", "US"), "16505551212");
  assert.equal(phoneE164("(650) 555-1212", "US"), "+16505551212");
  assert.equal(phoneDigits("0044 20 7946 0958"), "442079460958");
  assert.equal(phoneE164("06 12 34 56 78", "FR"), "+33612345678");
});
