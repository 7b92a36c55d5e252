import assert from "node:assert/strict";
import { normalizeDateOfBirth } from "./date_of_birth.ts";

Deno.test("normalizeDateOfBirth() reads ISO and compact dates", () => {
  assert.equal(normalizeDateOfBirth("1990-03-07"), "19900307");
  assert.equal(normalizeDateOfBirth("1990/3/7"), "19900307");
  assert.equal(normalizeDateOfBirth("19900307"), "19900307");
  assert.equal(normalizeDateOfBirth("1990-03-07T00:00:00Z"), "19900307");
  assert.equal(normalizeDateOfBirth("1990 03 07"), "19900307");
  assert.equal(normalizeDateOfBirth("1990 / 03 / 07"), "19900307");
  assert.equal(normalizeDateOfBirth("1990\u201003\u201007"), "19900307");
  assert.equal(normalizeDateOfBirth("１９９０-０３-０７"), "19900307");
  assert.equal(normalizeDateOfBirth("1990年3月7日"), "19900307");
  assert.equal(normalizeDateOfBirth("1990년 3월 7일"), "19900307");
});

Deno.test("normalizeDateOfBirth() reads month names", () => {
  assert.equal(normalizeDateOfBirth("March 7 1990"), "19900307");
  assert.equal(normalizeDateOfBirth("Mar 7, 1990"), "19900307");
  assert.equal(normalizeDateOfBirth("7 March 1990"), "19900307");
  assert.equal(normalizeDateOfBirth("7th Sept. 1990"), "19900907");
  assert.equal(normalizeDateOfBirth("Mar. 7, 1990"), "19900307");
  assert.equal(normalizeDateOfBirth("7 mar. 1990"), "19900307");
  assert.equal(normalizeDateOfBirth("Marsh 7 1990"), undefined);
});

Deno.test("normalizeDateOfBirth() resolves unambiguous numeric day/month order", () => {
  assert.equal(normalizeDateOfBirth("25/12/1990"), "19901225");
  assert.equal(normalizeDateOfBirth("12/25/1990"), "19901225");
  assert.equal(normalizeDateOfBirth("07.07.1990"), "19900707");
});

Deno.test("normalizeDateOfBirth() uses the country for ambiguous dates, else drops them", () => {
  assert.equal(normalizeDateOfBirth("07/03/1990", "FR"), "19900307");
  assert.equal(normalizeDateOfBirth("07/03/1990", "GB"), "19900307");
  assert.equal(normalizeDateOfBirth("03/07/1990", "US"), "19900307");
  assert.equal(normalizeDateOfBirth("07 03 1990", "FR"), "19900307");
  assert.equal(normalizeDateOfBirth("07/03/1990"), undefined);
});

Deno.test("normalizeDateOfBirth() drops impossible dates", () => {
  for (
    const bad of [
      "1990-02-30",
      "1990-13-01",
      "32/01/1990",
      "1850-01-01",
      "07/03/90",
      "yesterday",
      "",
    ]
  ) {
    assert.equal(normalizeDateOfBirth(bad, "FR"), undefined, bad);
  }
  assert.equal(normalizeDateOfBirth("2000-02-29"), "20000229");
});
