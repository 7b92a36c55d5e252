import assert from "node:assert/strict";
import { parseEvent, RejectedInput, type RequestContext } from "../event_input.ts";
import { segmentInput, segmentToNative } from "./segment.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const CTX: RequestContext = {
  workspaceId: "ws_test",
  dialect: "segment",
  receivedAt: NOW,
  traceId: "trace-seg",
  defaultSource: "server",
};

const ORDER_COMPLETED = {
  type: "track",
  messageId: "ajs-msg-1",
  event: "Order Completed",
  userId: "user-42",
  anonymousId: "anon-7",
  timestamp: "2026-11-23T11:00:00Z",
  properties: {
    order_id: "1001",
    revenue: 49.9,
    total: 59.9,
    currency: "eur",
    coupon: "BF",
    products: [
      { product_id: "p-1", sku: "SKU-1", name: "Shoe", price: 24.95, quantity: 2 },
      { sku: "SKU-2", price: "10", quantity: "1" },
    ],
  },
  context: {
    ip: "203.0.113.9",
    userAgent: "Mozilla/5.0 Seg",
    library: { name: "analytics.js", version: "2.11.1" },
    traits: {
      email: "ada@example.com",
      phone: "+44 20 7946 0958",
      firstName: "Ada",
      lastName: "Lovelace",
      address: { city: "London", postalCode: "N1 9GU", country: "GB", street: "1 Way" },
    },
    page: { url: "https://shop.example/thanks", title: "Thanks", path: "/thanks" },
  },
};

Deno.test("segmentToNative() maps an Order Completed track call field by field", () => {
  assert.deepEqual(segmentToNative(ORDER_COMPLETED), {
    event_name: "Order Completed",
    event_id: "ajs-msg-1",
    event_time: "2026-11-23T11:00:00Z",
    source: "web",
    value: 49.9,
    currency: "eur",
    order_id: "1001",
    items: [
      {
        product_id: "p-1",
        sku: "SKU-1",
        name: "Shoe",
        id: "p-1",
        price: 24.95,
        quantity: 2,
      },
      { sku: "SKU-2", id: "SKU-2", price: "10", quantity: "1" },
    ],
    page: { url: "https://shop.example/thanks", path: "/thanks", title: "Thanks" },
    user_data: {
      email: "ada@example.com",
      phone: "+44 20 7946 0958",
      first_name: "Ada",
      last_name: "Lovelace",
      city: "London",
      zip: "N1 9GU",
      country: "GB",
      customer_id: "user-42",
      anonymous_id: "anon-7",
      client_ip: "203.0.113.9",
      user_agent: "Mozilla/5.0 Seg",
      traits: ORDER_COMPLETED.context.traits,
    },
    properties: ORDER_COMPLETED.properties,
  });
});

Deno.test("segmentToNative() output passes parseEvent as a canonical purchase", () => {
  const result = parseEvent(segmentToNative(ORDER_COMPLETED), CTX);
  if (!result.ok) assert.fail(JSON.stringify(result.errors));
  const event = result.event;
  assert.equal(event.event_id, "ajs-msg-1");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.original_event_name, "Order Completed");
  assert.equal(event.event_time, Date.UTC(2026, 10, 23, 11, 0, 0));
  assert.equal(event.source, "web");
  assert.equal(event.dialect, "segment");
  assert.equal(event.value, 49.9);
  assert.equal(event.currency, "EUR");
  assert.equal(event.order_id, "1001");
  assert.deepEqual(event.items, [
    { product_id: "p-1", sku: "SKU-1", name: "Shoe", id: "p-1", price: 24.95, quantity: 2 },
    { sku: "SKU-2", id: "SKU-2", price: 10, quantity: 1 },
  ]);
  assert.equal(event.user_data.email, "ada@example.com");
  assert.equal(event.user_data.customer_id, "user-42");
  assert.equal(event.user_data.anonymous_id, "anon-7");
  assert.equal(event.user_data.zip, "N1 9GU");
  assert.equal(event.user_data.client_ip, "203.0.113.9");
  assert.deepEqual(event.user_data.traits, ORDER_COMPLETED.context.traits);
  assert.equal(event.properties.coupon, "BF");
  assert.equal("traits" in event.properties, false);
});

Deno.test("segmentToNative() takes value from total, then value, when revenue is absent", () => {
  assert.equal(
    segmentToNative({ event: "x", properties: { total: 59.9, value: 1 } }).value,
    59.9,
  );
  assert.equal(segmentToNative({ event: "x", properties: { value: 7 } }).value, 7);
  assert.equal("value" in segmentToNative({ event: "x", properties: {} }), false);
});

Deno.test("segmentToNative() prefers top-level traits over context.traits", () => {
  const native = segmentToNative({
    type: "track",
    event: "Signed Up",
    traits: { email: "top@example.com", first_name: "Top", birthday: "1990-01-02" },
    context: { traits: { email: "ctx@example.com", gender: "f" } },
  });
  assert.deepEqual(native.user_data, {
    email: "top@example.com",
    first_name: "Top",
    gender: "f",
    date_of_birth: "1990-01-02",
    traits: {
      email: "top@example.com",
      first_name: "Top",
      birthday: "1990-01-02",
      gender: "f",
    },
  });
});

Deno.test("segmentToNative() maps a page call to page_view with url and title in page", () => {
  const message = {
    type: "page",
    messageId: "m-page",
    anonymousId: "anon-7",
    name: "Home",
    properties: {
      url: "https://shop.example/?gclid=Cj0_Seg",
      title: "Shop",
      referrer: "https://search.example/",
      path: "/",
    },
  };
  const native = segmentToNative(message);
  assert.deepEqual(native, {
    event_name: "page_view",
    event_id: "m-page",
    source: "server",
    user_data: { anonymous_id: "anon-7" },
    page: {
      url: "https://shop.example/?gclid=Cj0_Seg",
      path: "/",
      referrer: "https://search.example/",
      title: "Shop",
    },
    properties: { ...message.properties, name: "Home" },
  });
  const result = parseEvent(native, CTX);
  if (!result.ok) assert.fail(JSON.stringify(result.errors));
  assert.equal(result.event.event_name, "page_view");
  assert.deepEqual(result.event.user_data.click_ids, { gclid: "Cj0_Seg" });
});

Deno.test("segmentToNative() uses the endpoint's call type when the message has none", () => {
  assert.equal(
    segmentToNative({ properties: { url: "https://a.example/" } }, "page").event_name,
    "page_view",
  );
  assert.equal(segmentToNative({ name: "Home" }, "screen").event_name, "screen_view");
  assert.equal(segmentToNative({ event: "Clicked" }).event_name, "Clicked");
  assert.equal(segmentToNative({}, "track").event_name, "");
  assert.equal(segmentToNative({ type: "track", event: "A" }, "page").event_name, "A");
});

Deno.test('segmentToNative() maps identify to "identify" and keeps the traits in user_data', () => {
  const traits = { email: "ada@example.com", plan: "pro", address: { country: "GB" } };
  const native = segmentToNative({ type: "identify", userId: 42, traits });
  assert.deepEqual(native, {
    event_name: "identify",
    source: "server",
    user_data: { email: "ada@example.com", country: "GB", customer_id: 42, traits },
    properties: {},
  });
  const result = parseEvent(native, CTX);
  if (!result.ok) assert.fail(JSON.stringify(result.errors));
  assert.equal(result.event.event_name, "identify");
  assert.equal(result.event.user_data.customer_id, "42");
  assert.deepEqual(result.event.user_data.traits, traits);
  assert.deepEqual(result.event.properties, {});
});

Deno.test("segmentToNative() keeps group and alias ids in properties", () => {
  const group = segmentToNative({ type: "group", groupId: "g-1", traits: { name: "Acme" } });
  assert.equal(group.event_name, "group");
  assert.deepEqual(group.properties, { group_id: "g-1" });
  assert.deepEqual(group.user_data, { traits: { name: "Acme" } });
  const alias = segmentToNative({ type: "alias", previousId: "anon-1", userId: "u-1" });
  assert.equal(alias.event_name, "alias");
  assert.deepEqual(alias.properties, { previous_id: "anon-1" });
});

Deno.test("segmentToNative() maps consent categoryPreferences to Google-style consent", () => {
  const native = segmentToNative({
    event: "x",
    context: { consent: { categoryPreferences: { Advertising: false, Analytics: true } } },
  });
  assert.deepEqual(native.consent, {
    ad_user_data: false,
    ad_personalization: false,
    analytics_storage: true,
  });
  const result = parseEvent(native, CTX);
  if (!result.ok) assert.fail(JSON.stringify(result.errors));
  assert.deepEqual(result.event.consent, {
    ad_user_data: "denied",
    ad_personalization: "denied",
    analytics_storage: "granted",
  });
  const lower = segmentToNative({
    event: "x",
    context: { consent: { categoryPreferences: { ads: true } } },
  });
  assert.deepEqual(lower.consent, { ad_user_data: true, ad_personalization: true });
  const unrelated = segmentToNative({
    event: "x",
    context: { consent: { categoryPreferences: { Functional: true } } },
  });
  assert.equal("consent" in unrelated, false);
});

Deno.test("segmentToNative() maps the device advertising id and campaign context", () => {
  const native = segmentToNative({
    event: "App Opened",
    context: {
      device: { advertisingId: "6D92078A-8246-4BA4-AE5B-76104861E7DC" },
      campaign: { name: "bf", source: "news" },
    },
  });
  assert.deepEqual(native.user_data, { madid: "6D92078A-8246-4BA4-AE5B-76104861E7DC" });
  assert.deepEqual(native.properties, { campaign: { name: "bf", source: "news" } });
});

Deno.test("segmentToNative() keeps an unknown call type as the name, even a prototype key", () => {
  assert.equal(segmentToNative({ type: "constructor" }).event_name, "constructor");
  assert.equal(segmentToNative({ type: "toString" }).event_name, "toString");
});

Deno.test("segmentToNative() tolerates a message that is not an object", () => {
  assert.deepEqual(segmentToNative(null), {
    event_name: "",
    source: "server",
    user_data: {},
    properties: {},
  });
});

// Regression (fixed): lib/dialects/segment.ts decides `source` with
// `String(context.library.name).includes("analytics")`, which matches every Segment
// library ("analytics-node", "analytics-python", "analytics-ruby", "analytics-go", …),
// so events sent from a backend are labelled `source: "web"` instead of `"server"`.
Deno.test({
  name: "segmentToNative() labels events from server-side Segment libraries as server",
  fn() {
    for (const name of ["analytics-node", "analytics-python", "analytics-ruby"]) {
      const native = segmentToNative({ event: "x", context: { library: { name } } });
      assert.equal(native.source, "server", name);
    }
  },
});

Deno.test("segmentToNative() labels analytics.js events as web", () => {
  const native = segmentToNative({ event: "x", context: { library: { name: "analytics.js" } } });
  assert.equal(native.source, "web");
  assert.equal(segmentToNative({ event: "x" }).source, "server");
});

Deno.test("segmentInput() rejects a message whose type is not a Segment call, naming type", () => {
  for (
    const [type, shown] of [["nuke", '"nuke"'], ["Track", '"Track"'], [5, "5"], [null, "null"]]
  ) {
    const input = segmentInput({ type, messageId: "m-1", event: "x" });
    assert.ok(input instanceof RejectedInput, `type ${shown}`);
    assert.equal(input.event_id, "m-1");
    assert.deepEqual(input.errors, [{
      path: "type",
      message: `must be one of track, identify, page, screen, group, alias, not ${shown}`,
    }]);
  }
});

Deno.test("segmentInput() maps every Segment call, and messages without a type, like segmentToNative()", () => {
  for (const type of ["track", "identify", "page", "screen", "group", "alias"]) {
    const message = { type, messageId: `m-${type}`, event: "Clicked" };
    assert.deepEqual(segmentInput(message), segmentToNative(message), type);
  }
  assert.deepEqual(
    segmentInput({ name: "Home" }, "screen"),
    segmentToNative({ name: "Home" }, "screen"),
  );
  for (const notAnObject of [null, "x", [1]]) assert.equal(segmentInput(notAnObject), notAnObject);
});
