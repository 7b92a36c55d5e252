import assert from "node:assert/strict";
import { parseEvent } from "../ingest/event_input.ts";
import {
  canonicalEventSchema,
  catalogueDocument,
  DEFAULT_WEBHOOK_EVENTS,
  messageSchema,
  publishedEvent,
  WEBHOOK_CATALOGUE,
  WEBHOOK_EVENT_TYPES,
} from "./catalogue.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

Deno.test("catalogueDocument() gives every type a JSON Schema its example satisfies", () => {
  const document = catalogueDocument();
  assert.equal(document.length, WEBHOOK_CATALOGUE.length);
  for (const entry of document) {
    const schema = entry.schema as {
      type?: unknown;
      properties?: Record<string, unknown>;
      required?: unknown;
    };
    assert.equal(schema.type, "object", entry.type);
    assert.equal(typeof schema.properties?.data, "object", entry.type);
    assert.deepEqual(schema.properties?.type, { type: "string", const: entry.type });
    assert.ok(Array.isArray(schema.required) && schema.required.includes("data"), entry.type);
    assert.equal(entry.example.type, entry.type);
    assert.equal(typeof entry.description, "string");
    assert.ok(entry.description.length > 0, entry.type);

    const spec = WEBHOOK_CATALOGUE.find((s) => s.type === entry.type);
    assert.ok(spec, entry.type);
    assert.equal(entry.opt_in, spec.opt_in);
    for (const other of WEBHOOK_CATALOGUE) {
      const result = messageSchema(other).safeParse(entry.example);
      assert.equal(
        result.success,
        other.type === entry.type,
        `${entry.type} example against ${other.type}: ${JSON.stringify(result.error?.issues)}`,
      );
    }
    assert.equal(spec.data.safeParse(spec.example).success, true, entry.type);
  }
});

Deno.test("WEBHOOK_CATALOGUE lists each subscribable type once, plus webhook.test", () => {
  const types = WEBHOOK_CATALOGUE.map((spec) => spec.type);
  assert.equal(new Set(types).size, types.length);
  assert.deepEqual([...types].sort(), [...WEBHOOK_EVENT_TYPES, "webhook.test"].sort());
  assert.deepEqual(
    WEBHOOK_CATALOGUE.filter((spec) => spec.opt_in).map((spec) => spec.type),
    ["event.received"],
  );
  assert.equal(DEFAULT_WEBHOOK_EVENTS.includes("event.received"), false);
  assert.deepEqual(
    [...DEFAULT_WEBHOOK_EVENTS].sort(),
    WEBHOOK_EVENT_TYPES.filter((type) => type !== "event.received").sort(),
  );
});

Deno.test("messageSchema() rejects a body whose data does not match its type", () => {
  const spec = WEBHOOK_CATALOGUE.find((s) => s.type === "delivery.failed")!;
  const body = {
    id: "msg_1",
    type: "delivery.failed",
    created_at: "2026-11-23T10:00:00.000Z",
    workspace_id: "ws_1",
    data: { reason: "x", attempts: 1, events: [] },
  };
  assert.equal(messageSchema(spec).safeParse(body).success, false);
  assert.equal(
    messageSchema(spec).safeParse({ ...body, type: "delivery.recovered" }).success,
    false,
  );
});

Deno.test("canonicalEventSchema names every field of an event parseEvent() accepts", () => {
  const result = parseEvent({
    event_id: "order-77",
    event_name: "Order Completed",
    event_time: Math.floor(NOW / 1000) - 60,
    source: "shop",
    action_source: "website",
    user_data: {
      email: " Ada@Example.com ",
      phone: "+1 650 555 1212",
      first_name: "Ada",
      last_name: "Lovelace",
      city: "London",
      country: "GB",
      zip: 12345,
      customer_id: 42,
      external_ids: ["crm-1", 7],
      anonymous_id: "anon-1",
      browser_ids: { fbp: "fb.1.1763800000000.1234567890", ga: "GA1.1.123.456" },
      gclid: "gclid-from-user-data",
      loyalty_tier: "gold",
    },
    value: "129.90",
    currency: "eur",
    order_id: 1001,
    items: [{ id: "SKU-1", quantity: "2", price: 64.95, name: "Widget" }, { id: 7 }],
    page: {
      url:
        "https://shop.example/thanks?fbclid=IwAR123&utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=shoes&utm_content=hero",
      referrer: "https://news.example/",
      title: "Thanks",
    },
    consent: { ad_user_data: true, ad_personalization: "DENIED", analytics_storage: "granted" },
    properties: { plan: "pro", nested: { a: [1, 2] } },
    coupon: "SPRING10",
  }, {
    workspaceId: "ws_rich",
    dialect: "browser",
    receivedAt: NOW,
    traceId: "trace-rich",
    defaultSource: "browser",
    clientIp: "203.0.113.7",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
    cookies: new Map([["_fbp", "fb.1.1763800000000.999"], ["_ga", "GA1.1.1.2"]]),
  });
  if (!result.ok) assert.fail(`expected the event to be accepted: ${JSON.stringify(result)}`);
  const wire = JSON.parse(result.json);
  const published = publishedEvent(wire);
  assert.equal(published.received_at, new Date(NOW).toISOString());

  // The input really exercised every optional top-level field.
  for (
    const field of [
      "original_event_name",
      "action_source",
      "value",
      "currency",
      "order_id",
      "items",
      "page",
      "utm",
      "consent",
    ]
  ) {
    assert.ok(field in wire, `${field} missing from the parsed event`);
  }
  assert.equal(wire.user_data.click_ids.fbclid, "IwAR123");
  assert.equal(wire.user_data.click_ids.gclid, "gclid-from-user-data");
  assert.ok(wire.user_data.browser_ids.fbc);
  assert.equal(wire.user_data.client_ip, "203.0.113.7");
  assert.equal(wire.properties.coupon, "SPRING10");
  assert.equal(wire.properties.plan, "pro");

  assert.deepEqual(canonicalEventSchema.parse(published), published);
  assert.deepEqual(canonicalEventSchema.strict().parse(published), published);
  for (const type of ["conversion.created", "lead.created", "event.received"]) {
    const spec = WEBHOOK_CATALOGUE.find((s) => s.type === type)!;
    const body = {
      id: "msg_1",
      type,
      created_at: new Date(NOW).toISOString(),
      workspace_id: "ws_rich",
      data: published,
    };
    assert.equal(messageSchema(spec).safeParse(body).success, true, type);
  }

  const minimal = parseEvent({ event_name: "page_view" }, {
    workspaceId: "ws_rich",
    dialect: "native",
    receivedAt: NOW,
    traceId: "t",
    defaultSource: "server",
  });
  assert.ok(minimal.ok);
  assert.equal(
    canonicalEventSchema.strict().safeParse(publishedEvent(JSON.parse(minimal.json))).success,
    true,
  );

  assert.equal(canonicalEventSchema.strict().safeParse({ ...wire, extra: 1 }).success, false);
});
