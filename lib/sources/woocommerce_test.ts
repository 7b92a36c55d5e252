import assert from "node:assert/strict";
import { base64BodyHmac } from "../../tests/_signing.ts";
import type { NativeInput, SourceMapping, SourcePlatform } from "./types.ts";
import { woocommerce as woocommerceSource } from "./woocommerce.ts";

/** Through the contract, as the ingest route calls it. */
const woocommerce: SourcePlatform = woocommerceSource;

const encoder = new TextEncoder();
/** WooCommerce secrets are free text; this one has what HTML escaping would change. */
const SECRET = "wc-secret-&-more";
const BODY_TEXT = '{"id":727,"status":"processing"}';
/** `printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64` */
const OPENSSL_SIGNATURE = "HPazFjRgkQv8xP+N+SqNxA8E/I0iAScv75tqSVPUdZ8=";

const signed = (signature: string) => new Headers({ "x-wc-webhook-signature": signature });

Deno.test("woocommerce.verify() accepts the base64 HMAC-SHA256 of the raw body (openssl and Web Crypto vectors)", async () => {
  assert.equal(await base64BodyHmac(SECRET, BODY_TEXT), OPENSSL_SIGNATURE);
  const body = encoder.encode(BODY_TEXT);
  assert.deepEqual(woocommerce.verify(body, signed(OPENSSL_SIGNATURE), SECRET, 0), { ok: true });
});

Deno.test("woocommerce.verify() refuses a tampered body, another secret and a missing header", () => {
  for (
    const [text, headers, secret] of [
      ['{"id":727,"status":"completed"}', signed(OPENSSL_SIGNATURE), SECRET],
      [BODY_TEXT, signed(OPENSSL_SIGNATURE), "wc-secret-&amp;-more"],
      [BODY_TEXT, new Headers(), SECRET],
    ] as const
  ) {
    const result = woocommerce.verify(encoder.encode(text), headers, secret, 0);
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.reason, /X-WC-Webhook-Signature/);
  }
});

Deno.test("woocommerce.isPing() is true only for the unsigned webhook_id=<n> body", () => {
  assert.equal(woocommerce.isPing(encoder.encode("webhook_id=12"), new Headers()), true);
  assert.equal(woocommerce.isPing(encoder.encode("webhook_id=12\n"), new Headers()), true);
  assert.equal(woocommerce.isPing(encoder.encode("webhook_id=12"), signed("x")), false);
  assert.equal(woocommerce.isPing(encoder.encode("webhook_id=abc"), new Headers()), false);
  assert.equal(woocommerce.isPing(encoder.encode(BODY_TEXT), new Headers()), false);
});

const ORDER = {
  id: 4750,
  number: "4750",
  status: "processing",
  currency: "EUR",
  total: "19.90",
  date_created_gmt: "2026-01-10T15:30:00",
  billing: { email: "ada@example.com", first_name: "Ada", country: "GB" },
  line_items: [{ product_id: 93, variation_id: 0, quantity: 1, price: 19.9, name: "Mug" }],
};

function topic(name: string): Headers {
  return new Headers({
    "x-wc-webhook-topic": name,
    "x-wc-webhook-source": "https://shop.example/",
  });
}

function purchaseOf(mapping: SourceMapping): NativeInput {
  assert.equal(mapping.kind, "purchase", JSON.stringify(mapping));
  return mapping.kind === "purchase" ? mapping.event : { event_name: "" };
}

Deno.test("woocommerce.toEvents() makes a paid order a purchase keyed by the order id, time in UTC", () => {
  for (const status of ["processing", "completed"]) {
    for (const name of ["order.created", "order.updated"]) {
      const event = purchaseOf(woocommerce.toEvents({ ...ORDER, status }, topic(name)));
      assert.equal(event.event_id, "4750");
      assert.equal(event.order_id, "4750");
      assert.equal(event.source, "woocommerce");
      assert.equal(event.event_time, "2026-01-10T15:30:00Z");
      assert.equal(event.value, 19.9);
      assert.equal(event.page?.url, "https://shop.example/");
      assert.deepEqual(event.items, [{ id: "93", quantity: 1, price: 19.9, name: "Mug" }]);
    }
  }
});

Deno.test("woocommerce.toEvents() ignores orders not paid yet and topics it does not map", () => {
  for (
    const status of ["pending", "on-hold", "failed", "cancelled", "refunded", "checkout-draft"]
  ) {
    const mapped = woocommerce.toEvents({ ...ORDER, status }, topic("order.updated"));
    assert.equal(mapped.kind, "ignored", status);
  }
  for (const headers of [topic("order.deleted"), topic("product.updated"), new Headers()]) {
    assert.equal(woocommerce.toEvents(ORDER, headers).kind, "ignored");
  }
});

Deno.test("woocommerce.toEvents() names the legacy API format and unreadable fields", () => {
  const legacy = woocommerce.toEvents({ order: { id: 1 } }, topic("order.created"));
  assert.equal(legacy.kind, "invalid");
  assert.match(legacy.kind === "invalid" ? legacy.errors[0]!.message : "", /WP REST API/);
  const { total: _total, ...rest } = ORDER;
  const missing = woocommerce.toEvents(rest, topic("order.created"));
  assert.deepEqual(missing.kind === "invalid" ? missing.errors.map((e) => e.path) : [], ["total"]);
});

Deno.test("woocommerce.toEvents() keeps a registered customer's id and drops a guest's 0", () => {
  assert.equal(
    purchaseOf(woocommerce.toEvents({ ...ORDER, customer_id: 26 }, topic("order.created")))
      .user_data?.customer_id,
    "26",
  );
  assert.equal(
    purchaseOf(woocommerce.toEvents({ ...ORDER, customer_id: 0 }, topic("order.created")))
      .user_data?.customer_id,
    undefined,
  );
});
