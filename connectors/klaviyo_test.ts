import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import {
  klaviyo,
  klaviyoClassification,
  klaviyoProfile,
  klaviyoProperties,
  klaviyoSettings,
  klaviyoUniqueId,
} from "./klaviyo.ts";
import type { MapOptions, OutboundRequest } from "./types.ts";

const NOW = 1_767_225_600_000;
const KEY = "pk_0123456789abcdef0123456789abcdef01";
const settings = klaviyoSettings.parse({ private_api_key: KEY });

/** The bulk entries of a request body: each a profile with its one event. */
interface BulkEntry {
  attributes: {
    profile: { data: { attributes: Record<string, unknown> } };
    events: { data: { attributes: Record<string, unknown> }[] };
  };
}

function entriesOf(request: OutboundRequest | undefined): BulkEntry[] {
  return JSON.parse(request?.body ?? "{}").data.attributes["events-bulk-create"].data;
}

function eventOf(entry: BulkEntry | undefined): Record<string, unknown> {
  return entry?.attributes.events.data[0]?.attributes ?? {};
}

function metricOf(entry: BulkEntry | undefined): unknown {
  const metric = eventOf(entry).metric as { data: { attributes: { name: string } } };
  return metric.data.attributes.name;
}

function mapped(events: SluiceEvent[], options: MapOptions = { now: NOW }) {
  return klaviyo.map(events, settings, options);
}

/** A request of `count` events, for classify() tests. */
function request(count: number): OutboundRequest {
  return { method: "POST", url: "", headers: {}, eventIndexes: [...Array(count).keys()] };
}

Deno.test("klaviyoSettings applies the defaults and refuses a public key", () => {
  assert.equal(settings.endpoint, "https://a.klaviyo.com");
  assert.equal(settings.backfill_after_hours, 24);
  const publicKey = klaviyoSettings.safeParse({ private_api_key: "AbC123" });
  assert.equal(publicKey.success, false);
  assert.match(JSON.stringify(publicKey.error?.issues), /private API key/);
  assert.equal(
    klaviyoSettings.safeParse({ private_api_key: KEY, backfill_after_hours: 0 }).success,
    false,
  );
});

Deno.test("klaviyo.map() posts one bulk job with the pinned revision and the private key", () => {
  const { requests } = mapped([testEvent()]);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.url, "https://a.klaviyo.com/api/event-bulk-create-jobs");
  assert.deepEqual(requests[0]?.headers, {
    authorization: `Klaviyo-API-Key ${KEY}`,
    revision: "2026-07-15",
    "content-type": "application/vnd.api+json",
    accept: "application/vnd.api+json",
  });
  const body = JSON.parse(requests[0]?.body ?? "{}");
  assert.equal(body.data.type, "event-bulk-create-job");
  assert.equal(body.data.attributes["events-bulk-create"].data[0].type, "event-bulk-create");
});

Deno.test("klaviyo.map() names metrics as Klaviyo's guides do, custom names unchanged", () => {
  const names = [
    "purchase",
    "view_content",
    "add_to_cart",
    "initiate_checkout",
    "refund",
    "page_view",
    "view_category",
    "search",
    "lead",
    "Completed Quiz",
  ];
  const { requests } = mapped(
    names.map((event_name, i) => testEvent({ event_name, event_id: `e${i}` })),
  );
  assert.deepEqual(entriesOf(requests[0]).map(metricOf), [
    "Placed Order",
    "Viewed Product",
    "Added to Cart",
    "Started Checkout",
    "Refunded Order",
    "Active on Site",
    "Viewed Category",
    "Searched Site",
    "lead",
    "Completed Quiz",
  ]);
});

Deno.test("klaviyoProfile() sends raw PII: canonical email, E.164 phone, location, IP", () => {
  assert.deepEqual(
    klaviyoProfile({
      email: "  Ada@Example.COM ",
      phone: "06 12 34 56 78",
      country: "FR",
      first_name: " Ada ",
      last_name: "Lovelace",
      city: "Paris",
      state: "Île-de-France",
      zip: "75008",
      customer_id: "cust-42",
      client_ip: "203.0.113.9",
    }),
    {
      email: "ada@example.com",
      phone_number: "+33612345678",
      external_id: "cust-42",
      first_name: "Ada",
      last_name: "Lovelace",
      location: {
        city: "Paris",
        region: "Île-de-France",
        zip: "75008",
        country: "FR",
        ip: "203.0.113.9",
      },
    },
  );
});

Deno.test("klaviyoProfile() leaves out what Klaviyo would refuse", () => {
  assert.deepEqual(
    klaviyoProfile({
      email: "not an address",
      phone: "(650) 555-1212",
      external_ids: [" crm-7 ", "crm-8"],
    }),
    { external_id: "crm-7" },
    "no email, and a national phone without a country has no E.164 form",
  );
  assert.deepEqual(klaviyoProfile({ phone: "+1 (650) 555-1212" }), {
    phone_number: "+16505551212",
  });
});

Deno.test("klaviyo.map() skips events without an email, phone or external id, saying why", () => {
  const { requests, skipped } = mapped([
    testEvent({ user_data: { anonymous_id: "anon-1" } }),
    testEvent({ user_data: { email: "a".repeat(64), phone: "call me" } }),
    testEvent({ user_data: { email: "ada@example.com" } }),
  ]);
  assert.deepEqual(requests[0]?.eventIndexes, [2]);
  assert.deepEqual(skipped.map((s) => s.index), [0, 1]);
  assert.match(skipped[0]?.reason ?? "", /^no Klaviyo profile identifier/);
  assert.match(skipped[1]?.reason ?? "", /email is hashed.*phone "call me" has no E\.164 form/);
});

Deno.test("klaviyo.map() skips identify, alias and group calls", () => {
  const { requests, skipped } = mapped(
    ["identify", "alias", "group"].map((event_name) => testEvent({ event_name })),
  );
  assert.deepEqual(requests, []);
  assert.match(skipped[0]?.reason ?? "", /"identify" is not a Klaviyo event/);
});

Deno.test("klaviyoUniqueId() is the order id for orders and refunds, else the event id", () => {
  assert.equal(klaviyoUniqueId(testEvent({ event_id: "e1", order_id: "1001" })), "1001");
  assert.equal(
    klaviyoUniqueId(testEvent({ event_name: "refund", event_id: "e2", order_id: "1001" })),
    "1001",
  );
  assert.equal(klaviyoUniqueId(testEvent({ event_id: "e3" })), "e3");
  assert.equal(
    klaviyoUniqueId(testEvent({ event_name: "add_to_cart", event_id: "e4", order_id: "1001" })),
    "e4",
  );
});

Deno.test("klaviyo.map() sends time to the second, value and value_currency", () => {
  const { requests } = mapped([
    testEvent({ event_time: NOW - 1_234, value: 49.9, currency: "EUR" }),
    testEvent({ event_id: "e2", event_time: NOW - 5_000 }),
  ]);
  const [paid, free] = entriesOf(requests[0]).map(eventOf);
  assert.equal(paid?.time, "2025-12-31T23:59:58Z");
  assert.equal(paid?.value, 49.9);
  assert.equal(paid?.value_currency, "EUR");
  assert.equal(free?.time, "2025-12-31T23:59:55Z");
  assert.equal("value" in (free ?? {}), false);
  assert.equal("value_currency" in (free ?? {}), false);
});

Deno.test("klaviyo.map() marks events older than backfill_after_hours as backfill", () => {
  const late = klaviyo.map(
    [
      testEvent({ event_id: "fresh", event_time: NOW - 2 * 3_600_000 }),
      testEvent({ event_id: "late", event_time: NOW - 3 * 3_600_000 - 1 }),
    ],
    klaviyoSettings.parse({ private_api_key: KEY, backfill_after_hours: 3 }),
    { now: NOW },
  );
  assert.deepEqual(entriesOf(late.requests[0]).map((e) => eventOf(e).backfill), [
    undefined,
    true,
  ]);
});

Deno.test("klaviyoProperties() uses Klaviyo's ecommerce names; the event's own properties win", () => {
  const properties = klaviyoProperties(testEvent({
    order_id: "1001",
    items: [
      { id: "sku-1", name: "Tea", quantity: 2, price: 4.5, brand: "Leaf", category: "Drinks" },
      { id: "sku-2", price: 3 },
    ],
    page: { url: "https://shop.example/thanks", referrer: "https://google.com/" },
    utm: { source: "mail", campaign: "fall" },
    properties: { coupon: "TEA10", OrderId: "custom-1001" },
  }));
  assert.deepEqual(properties, {
    OrderId: "custom-1001",
    Items: [
      {
        ProductID: "sku-1",
        ProductName: "Tea",
        Quantity: 2,
        ItemPrice: 4.5,
        RowTotal: 9,
        Categories: ["Drinks"],
        Brand: "Leaf",
      },
      { ProductID: "sku-2", ItemPrice: 3, RowTotal: 3 },
    ],
    ItemNames: ["Tea"],
    page_url: "https://shop.example/thanks",
    referrer: "https://google.com/",
    utm_source: "mail",
    utm_campaign: "fall",
    coupon: "TEA10",
  });
});

Deno.test("klaviyoProperties() adds Viewed Product and Added to Cart product fields", () => {
  const item = { id: "sku-1", name: "Tea", quantity: 1, price: 4.5, url: "https://s.example/tea" };
  const viewed = klaviyoProperties(testEvent({ event_name: "view_content", items: [item] }));
  assert.equal(viewed.ProductID, "sku-1");
  assert.equal(viewed.ProductName, "Tea");
  assert.equal(viewed.Price, 4.5);
  assert.equal(viewed.URL, "https://s.example/tea");
  const added = klaviyoProperties(testEvent({ event_name: "add_to_cart", items: [item] }));
  assert.equal(added.AddedItemProductID, "sku-1");
  assert.equal(added.AddedItemPrice, 4.5);
  assert.equal(added.AddedItemQuantity, 1);
  assert.equal(added.ProductID, undefined);
});

Deno.test("klaviyo.map() skips events with more than 400 properties", () => {
  const properties = Object.fromEntries([...Array(401).keys()].map((i) => [`p${i}`, i]));
  const { skipped } = mapped([testEvent({ properties })]);
  assert.match(skipped[0]?.reason ?? "", /401 properties: Klaviyo takes at most 400/);
});

Deno.test("klaviyo.map() splits more than 1,000 events into several requests", () => {
  const events = Array.from({ length: 2001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests, skipped } = mapped(events);
  assert.deepEqual(skipped, []);
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [1000, 1000, 1]);
  assert.equal(requests[2]?.eventIndexes[0], 2000);
});

Deno.test("klaviyo.map() keeps each request under Klaviyo's 5 MB", () => {
  const note = "x".repeat(30_000);
  const events = Array.from(
    { length: 200 },
    (_, i) => testEvent({ event_id: `e${i}`, properties: { note } }),
  );
  const { requests } = mapped(events);
  assert.equal(requests.length, 2);
  for (const r of requests) assert.ok(new TextEncoder().encode(r.body).length <= 5_000_000);
  assert.deepEqual(requests.flatMap((r) => r.eventIndexes), [...Array(200).keys()]);
});

Deno.test("klaviyo.map() never repeats a metric and unique_id in one request", () => {
  const order = { event_name: "purchase", order_id: "1001" };
  const { requests, skipped } = mapped([
    testEvent({ ...order, event_id: "web", user_data: { email: "ada@example.com" } }),
    testEvent({ ...order, event_id: "shop", user_data: { email: "ada@example.com" } }),
    testEvent({ ...order, event_id: "gift", user_data: { email: "bob@example.com" } }),
    testEvent({ event_id: "web", event_name: "lead", user_data: { email: "ada@example.com" } }),
  ]);
  assert.deepEqual(skipped, [{
    index: 1,
    reason: "duplicate of event web in the same batch (same profile, metric and unique_id): " +
      "Klaviyo keeps only one",
  }]);
  assert.deepEqual(requests.map((r) => r.eventIndexes), [[0, 3], [2]]);
});

Deno.test("klaviyo.map() sends nothing in test mode: Klaviyo has none", () => {
  const { requests, skipped } = mapped([testEvent(), testEvent({ event_id: "e2" })], {
    now: NOW,
    test: true,
  });
  assert.deepEqual(requests, []);
  assert.equal(skipped.length, 2);
  assert.match(skipped[0]?.reason ?? "", /no test mode.*sandbox/);
  assert.equal(klaviyo.testMode, null);
  assert.equal(klaviyo.consent, "ads");
});

Deno.test("outcomeOf(klaviyo, ) delivers on 202 Accepted with an empty body", () => {
  assert.deepEqual(outcomeOf(klaviyo, answer(202, "")), {
    kind: "delivered",
    detail: "Klaviyo 202: bulk job accepted",
  });
});

Deno.test("outcomeOf(klaviyo, ) retries 429 honouring Retry-After, and 5xx", () => {
  const throttled = outcomeOf(
    klaviyo,
    answer(429, {
      errors: [{
        id: "e4b7",
        status: 429,
        code: "throttled",
        title: "Request was throttled.",
        detail: "Request was throttled. Expected available in 2 seconds.",
      }],
    }, { "retry-after": "2" }),
  );
  assert.deepEqual(throttled, {
    kind: "retry",
    reason: "Klaviyo 429 throttled: Request was throttled. Request was throttled. Expected " +
      "available in 2 seconds.",
    afterMs: 2000,
  });
  assert.equal(outcomeOf(klaviyo, answer(503, "upstream")).kind, "retry");
});

Deno.test("outcomeOf(klaviyo, ) reports refused keys as auth_failed, naming Klaviyo's code", () => {
  const missing = outcomeOf(
    klaviyo,
    answer(401, {
      errors: [{
        id: "a1",
        status: 401,
        code: "not_authenticated",
        title: "Authentication credentials were not provided.",
        detail: "Missing or invalid private key.",
        source: { pointer: "/data/" },
      }],
    }),
  );
  assert.equal(missing.kind, "auth_failed");
  assert.match(missing.kind === "auth_failed" ? missing.reason : "", /401 not_authenticated/);
  const scope = outcomeOf(
    klaviyo,
    answer(403, {
      errors: [{
        id: "a2",
        status: 403,
        code: "permission_denied",
        title: "You do not have permission to perform this action.",
        detail: "These credentials do not have access to this resource.",
      }],
    }),
  );
  assert.equal(scope.kind, "auth_failed");
});

Deno.test("klaviyoClassification() fails the events a 400 points at and retries the others", () => {
  const result = klaviyoClassification(
    answer(400, {
      errors: [
        {
          id: "b1",
          status: 400,
          code: "invalid",
          title: "Invalid input.",
          detail: "Invalid phone number format (Example of a valid format: +13239169023)",
          source: {
            pointer:
              "/data/attributes/events-bulk-create/data/1/attributes/profile/data/attributes/phone_number",
          },
        },
        {
          id: "b2",
          status: 400,
          code: "invalid",
          title: "Invalid input.",
          detail: "Invalid email address",
          source: { pointer: "/data/attributes/events-bulk-create/data/7/attributes/email" },
        },
      ],
    }),
    request(3),
  );
  assert.equal(result.outcome.kind, "retry");
  assert.match(
    result.outcome.kind === "retry" ? result.outcome.reason : "",
    /^not processed: Klaviyo refused the whole bulk request/,
  );
  assert.deepEqual(result.events, [
    undefined,
    {
      kind: "failed",
      reason: "Klaviyo 400 invalid: Invalid input. Invalid phone number format (Example of a " +
        "valid format: +13239169023) (at /data/attributes/events-bulk-create/data/1/attributes/" +
        "profile/data/attributes/phone_number)",
    },
    undefined,
  ]);
});

Deno.test("klaviyoClassification() fails every event when no error points at one", () => {
  const result = klaviyoClassification(
    answer(400, {
      errors: [{
        id: "c1",
        status: 400,
        code: "invalid",
        title: "Invalid revision.",
        detail: "'2099-01-01' is not a valid revision.",
        source: { parameter: "revision" },
      }],
    }),
    request(2),
  );
  assert.deepEqual(result, {
    outcome: {
      kind: "failed",
      reason: "Klaviyo 400 invalid: Invalid revision. '2099-01-01' is not a valid revision. " +
        "(at revision)",
    },
  });
  const bare = klaviyoClassification(answer(413, "Request Entity Too Large"), request(1));
  assert.deepEqual(bare.outcome, {
    kind: "failed",
    reason: "Klaviyo 413: Request Entity Too Large",
  });
});
