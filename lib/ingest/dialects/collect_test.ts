import assert from "node:assert/strict";
import { parseEvent } from "../event_input.ts";
import { collectToNative } from "./collect.ts";

Deno.test("collectToNative() renames aliases and moves url and referrer into page", () => {
  assert.deepEqual(
    collectToNative({
      event: "Purchase",
      eventId: "c-1",
      timestamp: 1_795_435_000,
      user: { email: "ada@example.com" },
      url: "https://shop.example/thanks?gclid=Cj0",
      referrer: "https://ref.example/",
      orderId: "1001",
      products: [{ id: "p-1" }],
      actionSource: "website",
      value: 10,
      custom: "kept",
    }),
    {
      event_name: "Purchase",
      event_id: "c-1",
      event_time: 1_795_435_000,
      user_data: { email: "ada@example.com" },
      page: { url: "https://shop.example/thanks?gclid=Cj0", referrer: "https://ref.example/" },
      order_id: "1001",
      items: [{ id: "p-1" }],
      action_source: "website",
      value: 10,
      custom: "kept",
    },
  );
});

Deno.test("collectToNative() keeps the first of a native name and its alias", () => {
  assert.deepEqual(collectToNative({ event_name: "first", name: "second", eventName: "third" }), {
    event_name: "first",
  });
});

Deno.test("collectToNative() keeps prototype-named keys and drops __proto__", () => {
  const native = collectToNative(JSON.parse('{"event":"x","constructor":"c","__proto__":{"a":1}}'));
  assert.deepEqual(native, { event_name: "x", constructor: "c" });
  assert.equal(Object.getPrototypeOf(native), Object.prototype);
});

Deno.test("collectToNative() returns non-objects unchanged", () => {
  assert.equal(collectToNative("x"), "x");
  assert.equal(collectToNative(null), null);
  const array = [1];
  assert.equal(collectToNative(array), array);
});

Deno.test("collectToNative() output passes parseEvent with unknown fields in properties", () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const result = parseEvent(
    collectToNative({
      name: "AddToCart",
      url: "https://shop.example/p?utm_source=x",
      sku_count: 2,
    }),
    { workspaceId: "ws", dialect: "collect", receivedAt: now, traceId: "t", defaultSource: "web" },
  );
  if (!result.ok) assert.fail(JSON.stringify(result.errors));
  assert.equal(result.event.event_name, "add_to_cart");
  assert.deepEqual(result.event.page, { url: "https://shop.example/p?utm_source=x", path: "/p" });
  assert.deepEqual(result.event.utm, { source: "x" });
  assert.deepEqual(result.event.properties, { sku_count: 2 });
});

// Regression (fixed): lib/dialects/collect.ts merges `url` into an existing `page`, but when
// `url` comes before `page` in the object, the native `page` is dropped because "page" is
// already set (`!(native in event)`): {url, page: {title}} loses the title, while
// {page: {title}, url} keeps both. The result depends on key order.
Deno.test({
  name: "collectToNative() merges url with a page object whatever the key order",
  fn() {
    assert.deepEqual(collectToNative({ url: "https://a.example/", page: { title: "T" } }), {
      page: { title: "T", url: "https://a.example/" },
    });
  },
});
