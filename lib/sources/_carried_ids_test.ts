import assert from "node:assert/strict";
import { carriedIds } from "./_carried_ids.ts";

Deno.test("carriedIds() reads cookie names as the browser endpoints read cookies", () => {
  assert.deepEqual(
    carriedIds([
      ["_fbp", "fb.1.1700000000000.1"],
      ["_fbc", "fb.1.1700000000000.IwAR"],
      ["_ga", "GA1.1.123.456"],
      ["_ga_ABC123", "GS1.1.1700000000.1.1.1700000100.0.0.0"],
      ["_uetmsclkid", "_uet123"],
      ["_ttp", "ttp-1"],
    ]),
    {
      browser_ids: {
        fbp: "fb.1.1700000000000.1",
        fbc: "fb.1.1700000000000.IwAR",
        ga: "GA1.1.123.456",
        ga_session_id: "1700000000",
        uet_msclkid: "_uet123",
        ttp: "ttp-1",
      },
      click_ids: {},
    },
  );
});

Deno.test("carriedIds() matches plain names in any case, with or without a leading underscore", () => {
  assert.deepEqual(
    carriedIds([
      ["FBP", "fb.1.1.2"],
      ["gclid", "Cj0K"],
      ["_ttclid", "E.C.P"],
      ["anonymousId", "anon-1"],
      ["event_id", "order-9"],
      ["order_id", 1001],
      ["page_url", "https://shop.example/checkout"],
    ]),
    {
      browser_ids: { fbp: "fb.1.1.2" },
      click_ids: { gclid: "Cj0K", ttclid: "E.C.P" },
      anonymous_id: "anon-1",
      event_id: "order-9",
      order_id: "1001",
      page_url: "https://shop.example/checkout",
    },
  );
});

Deno.test("carriedIds() skips empty and non-text values and keeps the first value of a name", () => {
  assert.deepEqual(
    carriedIds([
      ["fbp", ""],
      ["fbp", { nested: true }],
      ["fbp", "first"],
      ["fbp", "second"],
      ["custom engraving", "Happy Birthday"],
      ["gclid", "x".repeat(300)],
    ]),
    { browser_ids: { fbp: "first" }, click_ids: { gclid: "x".repeat(256) } },
  );
});
