import assert from "node:assert/strict";
import { normalizeCity, normalizeCountry, normalizeState, normalizeZip } from "./location.ts";

Deno.test("normalizeCountry() gives lowercase alpha-2 from codes, alpha-3 and names", () => {
  assert.equal(normalizeCountry("US"), "us");
  assert.equal(normalizeCountry(" usa "), "us");
  assert.equal(normalizeCountry("United States of America"), "us");
  assert.equal(normalizeCountry("UK"), "gb");
  assert.equal(normalizeCountry("United Kingdom"), "gb");
  assert.equal(normalizeCountry("Deutschland"), "de");
  assert.equal(normalizeCountry("DEU"), "de");
  assert.equal(normalizeCountry("España"), "es");
  assert.equal(normalizeCountry("Türkiye"), "tr");
  assert.equal(normalizeCountry("zw"), "zw");
  assert.equal(normalizeCountry("Narnia"), undefined);
  assert.equal(normalizeCountry("xx"), undefined);
  assert.equal(normalizeCountry("U.K."), "gb");
  assert.equal(normalizeCountry("u.s."), "us");
  assert.equal(normalizeCountry("N/A"), undefined, "not Namibia");
  assert.equal(normalizeCountry(""), undefined);
});

Deno.test("normalizeCity() keeps letters only, accents included", () => {
  assert.equal(normalizeCity("New York"), "newyork");
  assert.equal(normalizeCity(" São Paulo "), "sãopaulo");
  assert.equal(normalizeCity("St. Louis"), "stlouis");
  assert.equal(normalizeCity("10115"), undefined);
});

Deno.test("normalizeState() maps US state names to codes", () => {
  assert.equal(normalizeState("California"), "ca");
  assert.equal(normalizeState("CA", "US"), "ca");
  assert.equal(normalizeState("new york", "US"), "ny");
  assert.equal(normalizeState("District of Columbia"), "dc");
  assert.equal(normalizeState("Québec", "CA"), "qc");
  assert.equal(normalizeState("Bavaria", "DE"), "bavaria");
  assert.equal(normalizeState("Île-de-France", "FR"), "îledefrance");
  assert.equal(normalizeState("Not A State", "US"), undefined);
  assert.equal(normalizeState("東京都", "JP"), "東京都");
  assert.equal(normalizeState("N/A", "US"), undefined);
  assert.equal(normalizeState("N.Y.", "US"), "ny");
  assert.equal(normalizeState("CA 94025", "US"), "ca");
  assert.equal(normalizeState("", "US"), undefined);
});

Deno.test("normalizeState() maps abbreviations and names with State around them", () => {
  assert.equal(normalizeState("Calif.", "US"), "ca");
  assert.equal(normalizeState("Mass."), "ma");
  assert.equal(normalizeState("W.Va.", "US"), "wv");
  assert.equal(normalizeState("New York State", "US"), "ny");
  assert.equal(normalizeState("State of New York"), "ny");
  assert.equal(normalizeState("NY State", "US"), "ny");
  assert.equal(normalizeState("Free State", "ZA"), "freestate");
  assert.equal(normalizeState("Calif.", "DE"), "calif");
});

Deno.test("normalizeZip() applies the US 5-digit rule", () => {
  assert.equal(normalizeZip("94025-1234", "US"), "94025");
  assert.equal(normalizeZip("940251234", "us"), "94025");
  assert.equal(normalizeZip(" 94025 "), "94025");
  assert.equal(normalizeZip("9402", "US"), undefined);
  assert.equal(normalizeZip("M1 1AE", "GB"), "m11ae");
  assert.equal(normalizeZip("K1A 0B1", "CA"), "k1a0b1");
  assert.equal(normalizeZip("75001", "FR"), "75001");
  assert.equal(normalizeZip("1", "FR"), undefined);
  assert.equal(normalizeZip("94025-", "US"), "94025");
  assert.equal(normalizeZip("94 025", "US"), "94025");
  assert.equal(normalizeZip("94025\u20131234"), "94025");
  assert.equal(normalizeZip("94025 USA", "US"), undefined);
});

Deno.test("normalizeZip() keeps both sides of a dash outside the US", () => {
  assert.equal(normalizeZip("00-950", "PL"), "00950");
  assert.equal(normalizeZip("100-0001", "JP"), "1000001");
  assert.equal(normalizeZip("〒100-0001"), "1000001");
  assert.equal(normalizeZip("SW1A-1AA", "GB"), "sw1a1aa");
  assert.equal(normalizeZip("01310-100"), "01310100");
});
