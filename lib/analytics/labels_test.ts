import assert from "node:assert/strict";
import {
  clickCookiePlatformOf,
  clickPlatformOf,
  nameLabel,
  originOf,
  stepBit,
  utmLabel,
} from "./labels.ts";

Deno.test("nameLabel() keeps canonical names and folds custom ones into other", () => {
  assert.equal(nameLabel("purchase"), "purchase");
  assert.equal(nameLabel("Demo Booked"), "other");
});

Deno.test("originOf() tells browser dialects from server ones", () => {
  assert.equal(originOf({ dialect: "browser" }), "browser");
  assert.equal(originOf({ dialect: "collect" }), "browser");
  assert.equal(originOf({ dialect: "segment" }), "server");
});

Deno.test("stepBit() gives each funnel step one bit, other events none", () => {
  assert.equal(stepBit("page_view"), 1);
  assert.equal(stepBit("purchase"), 1 << 9);
  assert.equal(stepBit("refund"), 0);
});

Deno.test("clickPlatformOf() and clickCookiePlatformOf() name the ad platform", () => {
  assert.equal(clickPlatformOf({ user_data: { click_ids: { wbraid: "w" } } }), "google");
  assert.equal(clickPlatformOf({ user_data: { click_ids: { fbclid: "" } } }), undefined);
  assert.equal(clickCookiePlatformOf({ user_data: { browser_ids: { fbc: "fb.1.1.x" } } }), "meta");
  assert.equal(clickCookiePlatformOf({ user_data: {} }), undefined);
});

Deno.test("utmLabel() lower-cases and keeps a bounded alphabet", () => {
  assert.equal(utmLabel(" Spring Sale! "), "spring_sale");
  assert.equal(utmLabel("???"), undefined);
  assert.equal(utmLabel("x".repeat(100))?.length, 40);
});
