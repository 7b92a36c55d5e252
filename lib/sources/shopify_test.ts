import assert from "node:assert/strict";
import { base64BodyHmac } from "../../tests/_signing.ts";
import { shopify as shopifySource } from "./shopify.ts";
import type { NativeInput, SourceMapping, SourcePlatform } from "./types.ts";

/** Through the contract, as the ingest route calls it. */
const shopify: SourcePlatform = shopifySource;

const encoder = new TextEncoder();
const SECRET = "shpss_0123456789abcdef";
const BODY_TEXT = '{"id":820982911946154508,"topic":"orders/create"}';
const BODY = encoder.encode(BODY_TEXT);
/** `printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64` */
const OPENSSL_SIGNATURE = "l8SvymV38sLjPJIXB5oAbeS0DARwEVjcqaarYSqyh98=";

const signed = (signature: string) => new Headers({ "x-shopify-hmac-sha256": signature });

Deno.test("shopify.verify() accepts the base64 HMAC-SHA256 of the raw body (openssl and Web Crypto vectors)", async () => {
  assert.equal(await base64BodyHmac(SECRET, BODY_TEXT), OPENSSL_SIGNATURE);
  assert.deepEqual(shopify.verify(BODY, signed(OPENSSL_SIGNATURE), SECRET, Date.now()), {
    ok: true,
  });
  const other = '{"id":1,"total_price":"1.00"}';
  assert.deepEqual(
    shopify.verify(
      encoder.encode(other),
      signed(await base64BodyHmac(SECRET, other)),
      SECRET,
      Date.now(),
    ),
    { ok: true },
  );
});

Deno.test("shopify.verify() refuses a tampered body, another secret and a missing header", () => {
  const tampered = encoder.encode('{"id":820982911946154509,"topic":"orders/create"}');
  for (
    const [body, headers, secret] of [
      [tampered, signed(OPENSSL_SIGNATURE), SECRET],
      [BODY, signed(OPENSSL_SIGNATURE), "shpss_another_secret"],
      [BODY, signed(""), SECRET],
      [BODY, new Headers(), SECRET],
    ] as const
  ) {
    const result = shopify.verify(body, headers, secret, Date.now());
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.reason, /X-Shopify-Hmac-Sha256/);
  }
});

const ORDER = {
  id: 5940139491234,
  email: "ada@example.com",
  created_at: "2026-01-10T10:30:00-05:00",
  currency: "EUR",
  total_price: "59.90",
  financial_status: "paid",
  line_items: [{ id: 1, product_id: 7, variant_id: 70, quantity: 2, price: "29.95", title: "Mug" }],
};

function topic(name: string, extra: Record<string, string> = {}): Headers {
  return new Headers({ "x-shopify-topic": name, ...extra });
}

function purchaseOf(mapping: SourceMapping): NativeInput {
  assert.equal(mapping.kind, "purchase", JSON.stringify(mapping));
  return mapping.kind === "purchase" ? mapping.event : { event_name: "" };
}

Deno.test("shopify.toEvents() makes a purchase keyed by the order id from orders/create and orders/paid", () => {
  for (const name of ["orders/create", "orders/paid"]) {
    const event = purchaseOf(shopify.toEvents(ORDER, topic(name)));
    assert.equal(event.event_id, "5940139491234");
    assert.equal(event.order_id, "5940139491234");
    assert.equal(event.event_name, "purchase");
    assert.equal(event.source, "shopify");
    assert.equal(event.value, 59.9);
    assert.deepEqual(event.items, [
      { id: "7", quantity: 2, price: 29.95, variant_id: "70", name: "Mug" },
    ]);
  }
});

Deno.test("shopify.toEvents() waits for orders/paid when the order is not paid at checkout", () => {
  for (const status of ["pending", "voided", "refunded"]) {
    const created = shopify.toEvents(
      { ...ORDER, financial_status: status },
      topic("orders/create"),
    );
    assert.equal(created.kind, "ignored");
    assert.match(created.kind === "ignored" ? created.reason : "", new RegExp(`"${status}"`));
  }
  assert.equal(
    shopify.toEvents({ ...ORDER, financial_status: "authorized" }, topic("orders/create")).kind,
    "purchase",
  );
  // orders/paid is sent when the order is paid, whatever status it was created with.
  assert.equal(
    shopify.toEvents({ ...ORDER, financial_status: "pending" }, topic("orders/paid")).kind,
    "purchase",
  );
  const cancelled = shopify.toEvents(
    { ...ORDER, cancelled_at: "2026-01-11T09:00:00-05:00" },
    topic("orders/paid"),
  );
  assert.equal(cancelled.kind, "ignored");
});

Deno.test("shopify.toEvents() ignores other topics and deliveries without a topic", () => {
  for (const headers of [topic("orders/updated"), topic("products/create"), new Headers()]) {
    const mapped = shopify.toEvents(ORDER, headers);
    assert.equal(mapped.kind, "ignored");
  }
});

Deno.test("shopify.toEvents() names the fields of an order it cannot read", () => {
  const { id: _id, total_price: _total, ...rest } = ORDER;
  const mapped = shopify.toEvents({ ...rest, total_price: "abc" }, topic("orders/paid"));
  assert.equal(mapped.kind, "invalid");
  assert.deepEqual(
    mapped.kind === "invalid" ? mapped.errors.map((e) => e.path).sort() : [],
    ["id", "total_price"],
  );
});

Deno.test("shopify.toEvents() resolves a relative landing_site on the storefront, else the shop domain", () => {
  const landing = "/collections/all?gclid=Cj0K&utm_source=google";
  const withStatusPage = purchaseOf(shopify.toEvents({
    ...ORDER,
    landing_site: landing,
    order_status_url: "https://shop.example/123/orders/abc/authenticate?key=secret",
  }, topic("orders/paid", { "x-shopify-shop-domain": "shop-example.myshopify.com" })));
  assert.equal(withStatusPage.page?.url, `https://shop.example${landing}`);
  const withDomain = purchaseOf(shopify.toEvents(
    { ...ORDER, landing_site: landing },
    topic("orders/paid", { "x-shopify-shop-domain": "shop-example.myshopify.com" }),
  ));
  assert.equal(withDomain.page?.url, `https://shop-example.myshopify.com${landing}`);
  const noLanding = purchaseOf(shopify.toEvents(
    ORDER,
    topic("orders/paid", { "x-shopify-shop-domain": "shop-example.myshopify.com" }),
  ));
  assert.equal(noLanding.page?.url, "https://shop-example.myshopify.com/");
});

Deno.test("shopify.toEvents() maps point-of-sale orders to physical_store without a page", () => {
  const event = purchaseOf(
    shopify.toEvents(
      { ...ORDER, source_name: "pos" },
      topic("orders/paid", {
        "x-shopify-shop-domain": "shop-example.myshopify.com",
      }),
    ),
  );
  assert.equal(event.action_source, "physical_store");
  assert.equal(event.page, undefined);
});

Deno.test("shopify.toEvents() drops a placeholder or loopback browser_ip", () => {
  for (const ip of ["0.0.0.0", "127.0.0.1", "::1", "not-an-ip"]) {
    const event = purchaseOf(shopify.toEvents({ ...ORDER, browser_ip: ip }, topic("orders/paid")));
    assert.equal(event.user_data?.client_ip, undefined, ip);
  }
  const event = purchaseOf(
    shopify.toEvents({ ...ORDER, browser_ip: "2001:db8::7" }, topic("orders/paid")),
  );
  assert.equal(event.user_data?.client_ip, "2001:db8::7");
});

Deno.test("shopify.secretProblem() and isPing() accept any secret and no ping", () => {
  assert.equal(shopify.secretProblem("9f2c0e1b"), undefined);
  assert.equal(shopify.isPing(encoder.encode("webhook_id=1"), new Headers()), false);
});
