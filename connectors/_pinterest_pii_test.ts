import assert from "node:assert/strict";
import { pinterestGender, pinterestMaid, pinterestZip } from "./_pinterest_pii.ts";

Deno.test("pinterestGender() gives f, m, or n for non-binary, and drops anything else", () => {
  const vectors: [string, string | undefined][] = [
    ["Female", "f"],
    [" M ", "m"],
    ["woman", "f"],
    ["Non-binary", "n"],
    ["non binary", "n"],
    ["NB", "n"],
    ["n", "n"],
    ["unknown", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of vectors) assert.equal(pinterestGender(input), expected, input);
});

Deno.test("pinterestZip() keeps digits-only zips and drops alphanumeric postcodes", () => {
  const vectors: [string, string | undefined, string | undefined][] = [
    ["94025-1234", "US", "94025"],
    ["94025", undefined, "94025"],
    ["75008", "FR", "75008"],
    ["100-0001", "JP", "1000001"],
    ["SW1A 1AA", "GB", undefined],
    ["K1A 0B1", "CA", undefined],
    ["9402", "US", undefined],
  ];
  for (const [input, country, expected] of vectors) {
    assert.equal(pinterestZip(input, country), expected, `${input} ${country}`);
  }
});

Deno.test("pinterestMaid() lowercases ad ids, keeps hyphens, and drops zeroed ones", () => {
  assert.equal(
    pinterestMaid(" 6D92078A-8246-4BA4-AE5B-76104861E7DC "),
    "6d92078a-8246-4ba4-ae5b-76104861e7dc",
  );
  assert.equal(pinterestMaid("00000000-0000-0000-0000-000000000000"), undefined);
  assert.equal(pinterestMaid("  "), undefined);
});
