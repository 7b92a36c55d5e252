import assert from "node:assert/strict";
import { identifiersOf } from "./identifiers.ts";

const user = {
  email: "a@example.com",
  phone: " ",
  customer_id: "c-1",
  client_ip: "203.0.113.9",
  user_agent: "UA",
  click_ids: { gclid: "G" },
  browser_ids: { fbp: "fb.1.1.1", ga: "GA1.1.1.1" },
};

Deno.test("identifiersOf() reads the click and browser ids each platform uses", () => {
  const event = { user_data: user };
  assert.deepEqual(identifiersOf(event, "meta"), [
    "email",
    "ip",
    "user_agent",
    "external_id",
    "browser_id",
  ]);
  assert.deepEqual(identifiersOf(event, "ga4"), [
    "email",
    "ip",
    "user_agent",
    "external_id",
    "click_id",
    "browser_id",
  ]);
  assert.deepEqual(identifiersOf(event, "webhook").slice(-2), ["click_id", "browser_id"]);
});

Deno.test("identifiersOf() counts Meta's fbc cookie as its click id, GA4's anonymous id as its browser id", () => {
  assert.ok(
    identifiersOf({ user_data: { browser_ids: { fbc: "fb.1.1.X" } } }, "meta").includes("click_id"),
  );
  assert.deepEqual(identifiersOf({ user_data: { anonymous_id: "v1" } }, "ga4"), ["browser_id"]);
  assert.deepEqual(identifiersOf({ user_data: { external_ids: ["", "x"] } }, "klaviyo"), [
    "external_id",
  ]);
});
