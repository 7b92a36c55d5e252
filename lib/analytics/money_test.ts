import assert from "node:assert/strict";
import { fromMinorUnits, minorDigits, toMinorUnits } from "./money.ts";

Deno.test("toMinorUnits() uses each currency's minor unit and rounds", () => {
  assert.equal(minorDigits("EUR"), 2);
  assert.equal(minorDigits("JPY"), 0);
  assert.equal(minorDigits("KWD"), 3);
  assert.equal(toMinorUnits(10.5, "EUR"), 1050);
  assert.equal(toMinorUnits(0.1 + 0.2, "USD"), 30);
  assert.equal(toMinorUnits(1000, "JPY"), 1000);
  assert.equal(toMinorUnits(1.2345, "KWD"), 1235);
  assert.equal(toMinorUnits(-5, "EUR"), 0, "refunds are not revenue");
  assert.equal(fromMinorUnits(1550, "EUR"), 15.5);
  assert.equal(fromMinorUnits(1000, "JPY"), 1000);
});
