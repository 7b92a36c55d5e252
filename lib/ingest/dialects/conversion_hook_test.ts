import assert from "node:assert/strict";
import { parseEvent } from "../event_input.ts";
import { conversionHookToNative } from "./conversion_hook.ts";

Deno.test("conversionHookToNative() maps a flat conversion onto native fields", () => {
  assert.deepEqual(
    conversionHookToNative({
      k: "sk_secret",
      event: "Purchase",
      event_id: "h-1",
      value: "49.90",
      currency: "EUR",
      order_id: "1001",
      email: "ada@example.com",
      phoneNumber: "+44 20 7946 0958",
      firstName: "Ada",
      lastName: "Lovelace",
      zipCode: "N1",
      country: "GB",
      externalId: "crm-7",
      ip: "203.0.113.9",
      userAgent: "UA",
      fbp: "fb.1.1.2",
      gclid: "Cj0",
      ScCid: "Snap",
      page_url: "https://shop.example/thanks",
      referrer: "https://ref.example/",
      action_source: "system_generated",
    }),
    {
      source: "crm",
      event_name: "Purchase",
      event_id: "h-1",
      value: "49.90",
      currency: "EUR",
      order_id: "1001",
      action_source: "system_generated",
      user_data: {
        email: "ada@example.com",
        phone: "+44 20 7946 0958",
        first_name: "Ada",
        last_name: "Lovelace",
        zip: "N1",
        country: "GB",
        customer_id: "crm-7",
        client_ip: "203.0.113.9",
        user_agent: "UA",
        fbp: "fb.1.1.2",
        gclid: "Cj0",
        sccid: "Snap",
      },
      page: { url: "https://shop.example/thanks", referrer: "https://ref.example/" },
    },
  );
});

Deno.test("conversionHookToNative() drops k, empty strings and nulls", () => {
  assert.deepEqual(
    conversionHookToNative({
      k: "sk_x",
      event: "Lead",
      email: "",
      phone: null,
      lastName: undefined,
      plan: "",
    }),
    { source: "crm", event_name: "Lead" },
  );
});

Deno.test("conversionHookToNative() keeps unknown fields in properties", () => {
  assert.deepEqual(
    conversionHookToNative({ event: "Lead", plan: "pro", score: 7, utm: { a: 1 } }),
    {
      source: "crm",
      event_name: "Lead",
      properties: { plan: "pro", score: 7, utm: { a: 1 } },
    },
  );
});

Deno.test("conversionHookToNative() keeps prototype-named fields in properties and drops __proto__", () => {
  const flat = JSON.parse('{"event":"x","constructor":"c","toString":"t","__proto__":{"a":1}}');
  const native = conversionHookToNative(flat);
  assert.deepEqual(native, {
    source: "crm",
    event_name: "x",
    properties: { constructor: "c", toString: "t" },
  });
  assert.equal(Object.getPrototypeOf(native.properties), Object.prototype);
});

Deno.test("conversionHookToNative() turns a numeric-string timestamp into a number", () => {
  assert.equal(
    conversionHookToNative({ event: "x", timestamp: "1795435000" }).event_time,
    1_795_435_000,
  );
  assert.equal(
    conversionHookToNative({ event: "x", event_time: "1795435000.5" }).event_time,
    1_795_435_000.5,
  );
  assert.equal(
    conversionHookToNative({ event: "x", event_time: "2026-11-23T11:00:00Z" }).event_time,
    "2026-11-23T11:00:00Z",
  );
  assert.equal(conversionHookToNative({ event: "x", value: "12" }).value, "12");
});

Deno.test("conversionHookToNative() output passes parseEvent with click and browser ids placed", () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const result = parseEvent(
    conversionHookToNative({
      k: "sk_x",
      event: "Purchase",
      value: "49.90",
      currency: "eur",
      email: "ada@example.com",
      fbp: "fb.1.1.2",
      fbclid: "IwAR",
      timestamp: "1795435000",
      coupon: "BF",
    }),
    { workspaceId: "ws", dialect: "hook", receivedAt: now, traceId: "t", defaultSource: "crm" },
  );
  if (!result.ok) assert.fail(JSON.stringify(result.errors));
  const event = result.event;
  assert.equal(event.event_name, "purchase");
  assert.equal(event.original_event_name, "Purchase");
  assert.equal(event.value, 49.9);
  assert.equal(event.currency, "EUR");
  assert.equal(event.event_time, 1_795_435_000_000);
  assert.equal(event.source, "crm");
  assert.deepEqual(event.user_data, {
    email: "ada@example.com",
    click_ids: { fbclid: "IwAR" },
    browser_ids: { fbp: "fb.1.1.2", fbc: `fb.1.${now}.IwAR` },
  });
  assert.deepEqual(event.properties, { coupon: "BF" });
});

Deno.test("conversionHookToNative() makes order_id the dedup key when no event_id is sent", () => {
  assert.deepEqual(conversionHookToNative({ event: "Purchase", orderId: "1001", value: 5 }), {
    source: "crm",
    event_name: "Purchase",
    order_id: "1001",
    event_id: "1001",
    value: 5,
  });
  const explicit = conversionHookToNative({ event: "Purchase", eventId: "e-9", order_id: "1001" });
  assert.equal(explicit.event_id, "e-9");
  assert.equal("event_id" in conversionHookToNative({ event: "Lead" }), false);
});
