/**
 * Sources end to end: Shopify, WooCommerce and Stripe order webhooks in their real wire
 * format (signed with Web Crypto, independently of the server's node:crypto), and the
 * `/v1/sources` management API.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../lib/config.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, countStored, expectJson, expectProblem, jsonWith, storedEvent } from "./_http.ts";
import { expectDuplicate } from "./_ingest.ts";
import { base64BodyHmac, stripeSignature } from "./_signing.ts";

const ORIGIN = "https://shop.example";
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
const SHOPIFY_SECRET = "shpss_0123456789abcdef0123456789abcdef";
const WOO_SECRET = "woo secret with spaces & symbols";
const STRIPE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** A source as `/v1/sources` shows it. */
interface SourceJson {
  id: string;
  type: string;
  name: string;
  url: string;
  created_at: string;
  updated_at: string;
}

/** The 200 a verified delivery that is not a purchase gets. */
interface IgnoredJson {
  success: true;
  ignored: true;
  reason: string;
  trace_id: string;
}

async function createSource(
  s: TestSluice,
  type: string,
  secret: string,
  name = `${type} source`,
): Promise<SourceJson> {
  const res = await s.request(
    "/v1/sources",
    jsonInit({ type, name, signing_secret: secret }, s.workspace.admin_key),
  );
  const text = await res.clone().text();
  assert.ok(!text.includes(secret), "the signing secret is never returned");
  return await expectJson<SourceJson>(res, 201);
}

function post(
  s: TestSluice,
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<Response> {
  return s.request(new URL(url).pathname, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

/** A browser purchase through `/v1/browser/events`, as the pixel sends it. */
async function browserPurchase(s: TestSluice, eventId: string): Promise<Response> {
  return await s.request(
    "/v1/browser/events",
    jsonWith({
      public_id: s.workspace.public_id,
      event_id: eventId,
      event_name: "purchase",
      value: 59.9,
      currency: "EUR",
      page: { url: `${ORIGIN}/thanks` },
    }, { origin: ORIGIN, "user-agent": CHROME }),
  );
}

// ---------------------------------------------------------------------------------- Shopify

function shopifyOrder(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 5940139491234,
    name: "#1001",
    email: "ada@example.com",
    created_at: new Date(Date.now() - 60_000).toISOString(),
    currency: "EUR",
    total_price: "59.90",
    financial_status: "paid",
    browser_ip: "203.0.113.9",
    client_details: { browser_ip: "203.0.113.9", user_agent: CHROME },
    landing_site: "/products/mug?fbclid=IwAR123&utm_source=facebook&utm_medium=paid",
    order_status_url: `${ORIGIN}/1/orders/abc/authenticate?key=k`,
    billing_address: {
      first_name: "Ada",
      last_name: "Lovelace",
      phone: "+44 20 7946 0958",
      city: "London",
      province_code: "LND",
      zip: "N1 9GU",
      country_code: "GB",
    },
    line_items: [{
      id: 1,
      product_id: 7,
      variant_id: 70,
      quantity: 2,
      price: "29.95",
      title: "Mug",
    }],
    note_attributes: [{ name: "_fbp", value: "fb.1.1700000000000.42" }],
    ...extra,
  };
}

async function shopifyPost(
  s: TestSluice,
  url: string,
  body: string,
  options: { topic?: string; secret?: string; signature?: string } = {},
): Promise<Response> {
  const signature = options.signature ??
    await base64BodyHmac(options.secret ?? SHOPIFY_SECRET, body);
  return await post(s, url, body, {
    "x-shopify-topic": options.topic ?? "orders/create",
    "x-shopify-hmac-sha256": signature,
    "x-shopify-webhook-id": crypto.randomUUID(),
    "x-shopify-shop-domain": "shop-example.myshopify.com",
  });
}

Deno.test("Shopify orders/create becomes a purchase keyed by the order id, read back through GET /v1/events/:id", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  assert.match(source.url, new RegExp(`^http://localhost/ingest/shopify/${source.id}$`));
  const res = await shopifyPost(s, source.url, JSON.stringify(shopifyOrder()));
  const body = await expectJson<{ event_id: string }>(res, 202);
  assert.equal(body.event_id, "5940139491234");
  const event = await storedEvent(s, "5940139491234");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.source, "shopify");
  assert.equal(event.action_source, "website");
  assert.equal(event.dialect, "hook");
  assert.equal(event.order_id, "5940139491234");
  assert.equal(event.value, 59.9);
  assert.equal(event.currency, "EUR");
  assert.equal(event.user_data.email, "ada@example.com");
  assert.equal(event.user_data.client_ip, "203.0.113.9");
  assert.equal(event.user_data.user_agent, CHROME);
  assert.equal(event.user_data.country, "GB");
  assert.equal(event.user_data.browser_ids?.fbp, "fb.1.1700000000000.42");
  // The landing page's click id is read as a browser event's page URL is.
  assert.equal(event.user_data.click_ids?.fbclid, "IwAR123");
  assert.match(event.user_data.browser_ids?.fbc ?? "", /^fb\.1\.\d+\.IwAR123$/);
  assert.deepEqual(event.utm, { source: "facebook", medium: "paid" });
  assert.equal(
    event.page?.url,
    `${ORIGIN}/products/mug?fbclid=IwAR123&utm_source=facebook&utm_medium=paid`,
  );
  assert.deepEqual(event.items, [
    { id: "7", quantity: 2, price: 29.95, variant_id: "70", name: "Mug" },
  ]);
  assert.equal(event.properties.shopify_topic, "orders/create");
});

Deno.test("Shopify: a tampered body, another secret or no signature is 401 and nothing is stored", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const body = JSON.stringify(shopifyOrder());
  const signature = await base64BodyHmac(SHOPIFY_SECRET, body);
  const tampered = body.replace('"59.90"', '"0.01"');
  for (
    const res of [
      await shopifyPost(s, source.url, tampered, { signature }),
      await shopifyPost(s, source.url, body, { secret: "shpss_someone_elses_secret" }),
      await post(s, source.url, body, { "x-shopify-topic": "orders/create" }),
    ]
  ) {
    const problem = await expectProblem(res, 401);
    assert.match(problem.detail, /X-Shopify-Hmac-Sha256/);
  }
  assert.equal(await countStored(s), 0);
});

Deno.test("Shopify: a redelivery and the orders/paid of the same order store one purchase", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const body = JSON.stringify(shopifyOrder());
  await expectJson(await shopifyPost(s, source.url, body), 202);
  await expectDuplicate(await shopifyPost(s, source.url, body), "5940139491234");
  await expectDuplicate(
    await shopifyPost(s, source.url, body, { topic: "orders/paid" }),
    "5940139491234",
  );
  assert.equal(await countStored(s), 1);
});

Deno.test("Shopify: the webhook and a browser purchase with the same order id are one conversion", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  await expectJson(await browserPurchase(s, "5940139491234"), 202);
  await expectDuplicate(
    await shopifyPost(s, source.url, JSON.stringify(shopifyOrder())),
    "5940139491234",
  );
  assert.equal(await countStored(s), 1);
  // The other way round: the webhook first, the pixel's purchase is the duplicate (409).
  const second = JSON.stringify(shopifyOrder({ id: 5940139491235 }));
  await expectJson(await shopifyPost(s, source.url, second), 202);
  await expectProblem(await browserPurchase(s, "5940139491235"), 409);
  assert.equal(await countStored(s), 2);
});

Deno.test("Shopify: a 64-bit order id past 2^53 is stored with its exact digits", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const body = JSON.stringify(shopifyOrder({ id: "__ID__" })).replace(
    '"__ID__"',
    "820982911946154508",
  );
  const res = await shopifyPost(s, source.url, body);
  assert.equal((await expectJson<{ event_id: string }>(res, 202)).event_id, "820982911946154508");
  assert.equal((await storedEvent(s, "820982911946154508")).order_id, "820982911946154508");
});

Deno.test("Shopify: other topics and unpaid orders answer 200 ignored, and nothing is stored", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const paid = JSON.stringify(shopifyOrder());
  const pending = JSON.stringify(shopifyOrder({ financial_status: "pending" }));
  for (
    const res of [
      await shopifyPost(s, source.url, paid, { topic: "orders/updated" }),
      await shopifyPost(s, source.url, paid, { topic: "app/uninstalled" }),
      await shopifyPost(s, source.url, pending),
    ]
  ) {
    const body = await expectJson<IgnoredJson>(res, 200);
    assert.equal(body.ignored, true);
    assert.ok(body.reason.length > 10);
  }
  assert.equal(await countStored(s), 0);
});

// ------------------------------------------------------------------------------ WooCommerce

function wooOrder(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 727,
    number: "727",
    status: "processing",
    currency: "USD",
    date_created_gmt: new Date(Date.now() - 60_000).toISOString().slice(0, 19),
    total: "29.35",
    customer_id: 0,
    customer_ip_address: "198.51.100.23",
    customer_user_agent: CHROME,
    billing: {
      first_name: "John",
      last_name: "Doe",
      city: "San Francisco",
      state: "CA",
      postcode: "94103",
      country: "US",
      email: "john.doe@example.com",
      phone: "(555) 555-5555",
    },
    meta_data: [
      { id: 1, key: "_wc_order_attribution_session_entry", value: `${ORIGIN}/?gclid=EAIaIQ` },
      { id: 2, key: "_fbp", value: "fb.1.1700000000000.99" },
    ],
    line_items: [{ id: 315, product_id: 93, variation_id: 0, quantity: 2, price: 3 }],
    ...extra,
  };
}

async function wooPost(
  s: TestSluice,
  url: string,
  body: string,
  options: { topic?: string; secret?: string; signature?: string } = {},
): Promise<Response> {
  const signature = options.signature ?? await base64BodyHmac(options.secret ?? WOO_SECRET, body);
  const topic = options.topic ?? "order.created";
  return await post(s, url, body, {
    "x-wc-webhook-source": `${ORIGIN}/`,
    "x-wc-webhook-topic": topic,
    "x-wc-webhook-resource": "order",
    "x-wc-webhook-event": topic.split(".")[1] ?? "",
    "x-wc-webhook-signature": signature,
    "x-wc-webhook-id": "3",
    "x-wc-webhook-delivery-id": crypto.randomUUID(),
  });
}

Deno.test("WooCommerce answers the ping a new webhook sends with 200, storing nothing", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "woocommerce", WOO_SECRET);
  const ping = (path: string) =>
    s.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "webhook_id=3",
    });
  const body = await expectJson<IgnoredJson>(await ping(new URL(source.url).pathname), 200);
  assert.match(body.reason, /ping/);
  // A wrong URL fails the ping, so the mistake shows when the webhook is saved.
  await expectProblem(await ping("/ingest/woocommerce/src_01jf3k8w2qz5m7r9t4v6x8y0ab"), 404);
  assert.equal(await countStored(s), 0);
});

Deno.test("WooCommerce order.created of a paid order becomes a purchase keyed by the order id", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "woocommerce", WOO_SECRET);
  const res = await wooPost(s, source.url, JSON.stringify(wooOrder()));
  assert.equal((await expectJson<{ event_id: string }>(res, 202)).event_id, "727");
  const event = await storedEvent(s, "727");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.source, "woocommerce");
  assert.equal(event.value, 29.35);
  assert.equal(event.currency, "USD");
  assert.equal(event.user_data.email, "john.doe@example.com");
  assert.equal(event.user_data.client_ip, "198.51.100.23");
  assert.equal(event.user_data.click_ids?.gclid, "EAIaIQ");
  assert.equal(event.user_data.browser_ids?.fbp, "fb.1.1700000000000.99");
  assert.equal(event.page?.url, `${ORIGIN}/?gclid=EAIaIQ`);
});

Deno.test("WooCommerce: a tampered body, another secret or no signature is 401 and nothing is stored", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "woocommerce", WOO_SECRET);
  const body = JSON.stringify(wooOrder());
  const signature = await base64BodyHmac(WOO_SECRET, body);
  for (
    const res of [
      await wooPost(s, source.url, body.replace('"29.35"', '"0.01"'), { signature }),
      await wooPost(s, source.url, body, { secret: "another woo secret" }),
      await post(s, source.url, body, { "x-wc-webhook-topic": "order.created" }),
    ]
  ) {
    const problem = await expectProblem(res, 401);
    assert.match(problem.detail, /X-WC-Webhook-Signature/);
  }
  assert.equal(await countStored(s), 0);
});

Deno.test("WooCommerce: a pending order is ignored; the update that pays it is the purchase; later updates are duplicates", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "woocommerce", WOO_SECRET);
  const pending = await wooPost(s, source.url, JSON.stringify(wooOrder({ status: "pending" })));
  assert.equal((await expectJson<IgnoredJson>(pending, 200)).ignored, true);
  assert.equal(await countStored(s), 0);
  const paid = JSON.stringify(wooOrder({ status: "processing" }));
  await expectJson(await wooPost(s, source.url, paid, { topic: "order.updated" }), 202);
  await expectDuplicate(await wooPost(s, source.url, paid, { topic: "order.updated" }), "727");
  const completed = JSON.stringify(wooOrder({ status: "completed" }));
  await expectDuplicate(await wooPost(s, source.url, completed, { topic: "order.updated" }), "727");
  assert.equal(await countStored(s), 1);
});

Deno.test("WooCommerce: the webhook and a browser purchase with the same order id are one conversion", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "woocommerce", WOO_SECRET);
  await expectJson(await browserPurchase(s, "727"), 202);
  await expectDuplicate(await wooPost(s, source.url, JSON.stringify(wooOrder())), "727");
  assert.equal(await countStored(s), 1);
});

// ----------------------------------------------------------------------------------- Stripe

function stripeEvent(
  type = "checkout.session.completed",
  object: Record<string, unknown> = {},
  createdS = Math.floor(Date.now() / 1000) - 5,
): Record<string, unknown> {
  return {
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2024-06-20",
    created: createdS,
    livemode: true,
    type,
    data: {
      object: type.startsWith("checkout.session")
        ? {
          object: "checkout.session",
          id: "cs_live_a1b2",
          mode: "payment",
          payment_status: "paid",
          amount_total: 4500,
          currency: "jpy",
          payment_intent: "pi_3Pq",
          customer: "cus_9",
          customer_details: {
            email: "hanako@example.com",
            name: "Hanako Yamada",
            phone: "+81 3-1234-5678",
            address: { city: "Tokyo", country: "JP", postal_code: "150-0043", state: null },
          },
          success_url: `${ORIGIN}/thanks?session_id={CHECKOUT_SESSION_ID}`,
          metadata: { order_id: "1001", _fbp: "fb.1.1700000000000.7", gclid: "Cj0K" },
          ...object,
        }
        : {
          object: "payment_intent",
          id: "pi_3Pq",
          amount: 4500,
          amount_received: 4500,
          currency: "jpy",
          metadata: { order_id: "1001" },
          ...object,
        },
    },
  };
}

async function stripePost(
  s: TestSluice,
  url: string,
  body: string,
  options: { secret?: string; timestampS?: number; header?: string } = {},
): Promise<Response> {
  const header = options.header ?? await stripeSignature(
    options.secret ?? STRIPE_SECRET,
    body,
    options.timestampS ?? Math.floor(Date.now() / 1000),
  );
  return await post(s, url, body, { "stripe-signature": header });
}

Deno.test("Stripe checkout.session.completed becomes a purchase keyed by metadata order_id, value in major units", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "stripe", STRIPE_SECRET);
  const res = await stripePost(s, source.url, JSON.stringify(stripeEvent()));
  assert.equal((await expectJson<{ event_id: string }>(res, 202)).event_id, "1001");
  const event = await storedEvent(s, "1001");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.source, "stripe");
  assert.equal(event.value, 4500);
  assert.equal(event.currency, "JPY");
  assert.equal(event.user_data.email, "hanako@example.com");
  assert.equal(event.user_data.first_name, "Hanako");
  assert.equal(event.user_data.browser_ids?.fbp, "fb.1.1700000000000.7");
  assert.equal(event.user_data.click_ids?.gclid, "Cj0K");
  assert.equal(event.page?.url, `${ORIGIN}/thanks`);
  assert.equal(event.properties.checkout_session_id, "cs_live_a1b2");
});

Deno.test("Stripe: a replayed old timestamp, a tampered body, another secret or no header is 401 and nothing is stored", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "stripe", STRIPE_SECRET);
  const body = JSON.stringify(stripeEvent());
  const nowS = Math.floor(Date.now() / 1000);
  const replayed = await stripePost(s, source.url, body, { timestampS: nowS - 600 });
  assert.match((await expectProblem(replayed, 401)).detail, /timestamp/);
  const header = await stripeSignature(STRIPE_SECRET, body, nowS);
  for (
    const res of [
      await stripePost(s, source.url, body.replace("4500", "1"), { header }),
      await stripePost(s, source.url, body, { secret: "whsec_someone_elses" }),
      await post(s, source.url, body, {}),
    ]
  ) {
    const problem = await expectProblem(res, 401);
    assert.match(problem.detail, /Stripe-Signature/);
  }
  assert.equal(await countStored(s), 0);
});

Deno.test("Stripe: a redelivery and the payment_intent.succeeded of the same payment store one purchase", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "stripe", STRIPE_SECRET);
  const body = JSON.stringify(stripeEvent());
  await expectJson(await stripePost(s, source.url, body), 202);
  await expectDuplicate(await stripePost(s, source.url, body), "1001");
  const intent = JSON.stringify(stripeEvent("payment_intent.succeeded"));
  await expectDuplicate(await stripePost(s, source.url, intent), "1001");
  const other = JSON.stringify(stripeEvent("customer.created", {}));
  assert.equal(
    (await expectJson<IgnoredJson>(await stripePost(s, source.url, other), 200)).ignored,
    true,
  );
  assert.equal(await countStored(s), 1);
});

Deno.test("Stripe: the webhook and a browser purchase with the same order id are one conversion", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "stripe", STRIPE_SECRET);
  await expectJson(await browserPurchase(s, "1001"), 202);
  await expectDuplicate(await stripePost(s, source.url, JSON.stringify(stripeEvent())), "1001");
  assert.equal(await countStored(s), 1);
});

// --------------------------------------------------------------------------- ingest errors

Deno.test("/ingest answers 404 for an unknown, over-long or mistyped source, never reading KV with an over-long id", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const body = JSON.stringify(shopifyOrder());
  const reads: Deno.KvKey[] = [];
  const get = s.rt.kv.get.bind(s.rt.kv);
  Object.assign(s.rt.kv, {
    get(key: Deno.KvKey) {
      reads.push(key);
      return get(key);
    },
  });
  try {
    for (
      const path of [
        "/ingest/shopify/src_01jf3k8w2qz5m7r9t4v6x8y0ab",
        `/ingest/shopify/${"s".repeat(3000)}`,
        `/ingest/stripe/${source.id}`,
        `/ingest/paypal/${source.id}`,
      ]
    ) {
      await expectProblem(await shopifyPost(s, `http://localhost${path}`, body), 404);
    }
  } finally {
    Reflect.deleteProperty(s.rt.kv, "get");
  }
  assert.deepEqual(reads.filter((key) => key.some((part) => String(part).length > 64)), []);
  assert.equal(await countStored(s), 0);
});

Deno.test("/ingest answers 415 for a body that is not JSON, 413 past 512 KiB, 400 for signed malformed JSON", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const path = new URL(source.url).pathname;
  const body = JSON.stringify(shopifyOrder());
  const form = await s.request(path, {
    method: "POST",
    headers: {
      "content-type": "text/plain",
      "x-shopify-hmac-sha256": await base64BodyHmac(SHOPIFY_SECRET, body),
    },
    body,
  });
  await expectProblem(form, 415);
  const huge = JSON.stringify(shopifyOrder({ note: "x".repeat(600 * 1024) }));
  await expectProblem(await shopifyPost(s, source.url, huge), 413);
  await expectProblem(await shopifyPost(s, source.url, "{not json"), 400);
  assert.equal(await countStored(s), 0);
});

Deno.test("/ingest answers 422 naming the fields of a verified payload that cannot become a purchase", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const noTotal = JSON.stringify(shopifyOrder({ total_price: null }));
  await expectProblem(await shopifyPost(s, source.url, noTotal), 422, ["total_price"]);
  const tooOld = JSON.stringify(shopifyOrder({
    created_at: new Date(Date.now() - 120 * 86_400_000).toISOString(),
  }));
  await expectProblem(await shopifyPost(s, source.url, tooOld), 422, ["event_time"]);
  assert.equal(await countStored(s), 0);
});

Deno.test("/ingest answers 503 with Retry-After when the purchase cannot be stored", async () => {
  await using s = await openTestSluice();
  const source = await createSource(s, "stripe", STRIPE_SECRET);
  s.rt.ingestor.ingest = () => Promise.reject(new Error("KV is down"));
  const original = console.error;
  console.error = () => {};
  try {
    const res = await stripePost(s, source.url, JSON.stringify(stripeEvent()));
    assert.equal(res.headers.get("retry-after"), "5");
    await expectProblem(res, 503);
  } finally {
    console.error = original;
  }
});

// -------------------------------------------------------------------------- /v1/sources

Deno.test("/v1/sources lists, reads, renames, rotates the secret of and deletes a source, never showing the secret", async () => {
  await using s = await openTestSluice();
  const admin = s.workspace.admin_key;
  const shop = await createSource(s, "shopify", SHOPIFY_SECRET, "Main shop");
  const pay = await createSource(s, "stripe", STRIPE_SECRET, "Payments");
  assert.deepEqual(Object.keys(shop).sort(), [
    "created_at",
    "id",
    "name",
    "type",
    "updated_at",
    "url",
  ]);

  const list = await s.request("/v1/sources", { headers: bearer(admin) });
  const listText = await list.clone().text();
  assert.ok(!listText.includes(SHOPIFY_SECRET) && !listText.includes(STRIPE_SECRET));
  const listed = await expectJson<{ data: SourceJson[] }>(list, 200);
  assert.deepEqual(listed.data.map((x) => x.id), [shop.id, pay.id]);

  const one = await expectJson<SourceJson>(
    await s.request(`/v1/sources/${shop.id}`, { headers: bearer(admin) }),
    200,
  );
  assert.deepEqual(one, shop);

  const newSecret = "shpss_rotated_secret_0000000000";
  const patched = await expectJson<SourceJson>(
    await s.request(
      `/v1/sources/${shop.id}`,
      jsonInit({ name: "Renamed", signing_secret: newSecret }, admin, "PATCH"),
    ),
    200,
  );
  assert.equal(patched.name, "Renamed");
  assert.equal(patched.url, shop.url);
  const body = JSON.stringify(shopifyOrder());
  await expectProblem(await shopifyPost(s, shop.url, body), 401);
  await expectJson(await shopifyPost(s, shop.url, body, { secret: newSecret }), 202);

  const deleted = await s.request(`/v1/sources/${shop.id}`, {
    method: "DELETE",
    headers: bearer(admin),
  });
  assert.equal(deleted.status, 204);
  await expectProblem(await s.request(`/v1/sources/${shop.id}`, { headers: bearer(admin) }), 404);
  await expectProblem(await shopifyPost(s, shop.url, body, { secret: newSecret }), 404);
});

Deno.test("/v1/sources answers 404 for unknown and over-long ids", async () => {
  await using s = await openTestSluice();
  const admin = s.workspace.admin_key;
  for (const id of ["src_01jf3k8w2qz5m7r9t4v6x8y0ab", "s".repeat(2100)]) {
    await expectProblem(await s.request(`/v1/sources/${id}`, { headers: bearer(admin) }), 404);
    await expectProblem(
      await s.request(`/v1/sources/${id}`, jsonInit({ name: "x" }, admin, "PATCH")),
      404,
    );
    await expectProblem(
      await s.request(`/v1/sources/${id}`, { method: "DELETE", headers: bearer(admin) }),
      404,
    );
  }
});

Deno.test("/v1/sources validation errors name the fields", async () => {
  await using s = await openTestSluice();
  const admin = s.workspace.admin_key;
  const create = (body: unknown) => s.request("/v1/sources", jsonInit(body, admin));
  await expectProblem(await create({}), 400, ["type", "name", "signing_secret"]);
  await expectProblem(
    await create({ type: "paypal", name: "P", signing_secret: "12345678" }),
    400,
    ["type"],
  );
  await expectProblem(
    await create({ type: "shopify", name: "S", signing_secret: "short" }),
    400,
    ["signing_secret"],
  );
  const notWhsec = await expectProblem(
    await create({ type: "stripe", name: "S", signing_secret: "sk_live_0123456789" }),
    400,
    ["signing_secret"],
  );
  assert.match(JSON.stringify(notWhsec.errors), /whsec_/);
  await expectProblem(
    await create({ type: "shopify", name: "S", signing_secret: "12345678", url: "x" }),
    400,
  );
  const stripe = await createSource(s, "stripe", STRIPE_SECRET);
  await expectProblem(
    await s.request(
      `/v1/sources/${stripe.id}`,
      jsonInit({ signing_secret: "not-a-whsec-secret" }, admin, "PATCH"),
    ),
    400,
    ["signing_secret"],
  );
  await expectProblem(
    await s.request(`/v1/sources/${stripe.id}`, jsonInit({ name: "" }, admin, "PATCH")),
    400,
    ["name"],
  );
});

Deno.test("/v1/sources needs the admin key to change and a read key to read", async () => {
  await using s = await openTestSluice();
  const body = { type: "shopify", name: "S", signing_secret: SHOPIFY_SECRET };
  const reader = await expectJson<{ secret: string }>(
    await s.request(
      "/v1/api-keys",
      jsonInit({ name: "Reporting", scopes: ["read"] }, s.workspace.admin_key),
    ),
    201,
  );
  await expectProblem(await s.request("/v1/sources", jsonInit(body)), 401);
  await expectProblem(await s.request("/v1/sources", jsonInit(body, reader.secret)), 403);
  await expectProblem(await s.request("/v1/sources", jsonInit(body, s.workspace.ingest_key)), 403);
  await expectProblem(
    await s.request("/v1/sources", { headers: bearer(s.workspace.ingest_key) }),
    403,
  );
  const source = await createSource(s, "shopify", SHOPIFY_SECRET);
  const listed = await expectJson<{ data: SourceJson[] }>(
    await s.request("/v1/sources", { headers: bearer(reader.secret) }),
    200,
  );
  assert.deepEqual(listed.data, [source]);
  await expectProblem(
    await s.request(`/v1/sources/${source.id}`, {
      method: "DELETE",
      headers: bearer(reader.secret),
    }),
    403,
  );
});

Deno.test("/v1/sources builds the URL from SLUICE_PUBLIC_URL when it is set", async () => {
  await using s = await openTestSluice({ SLUICE_PUBLIC_URL: "https://track.shop.example/sluice/" });
  const source = await createSource(s, "woocommerce", WOO_SECRET);
  assert.equal(source.url, `https://track.shop.example/sluice/ingest/woocommerce/${source.id}`);
});

Deno.test("parseConfig() refuses a SLUICE_PUBLIC_URL that is not an http(s) URL without query", () => {
  for (const value of ["ftp://sluice.example", "sluice.example", "https://sluice.example/?a=1"]) {
    assert.throws(() => parseConfig({ SLUICE_PUBLIC_URL: value }), /SLUICE_PUBLIC_URL/, value);
  }
  assert.equal(
    parseConfig({ SLUICE_PUBLIC_URL: "https://sluice.example/" }).publicUrl,
    "https://sluice.example",
  );
  assert.equal(parseConfig({}).publicUrl, undefined);
});
