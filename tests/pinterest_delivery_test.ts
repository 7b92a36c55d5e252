/**
 * Pinterest end to end: connect through the API, ingest through /v1/events, deliver to a
 * loopback mock of `POST /v5/ad_accounts/{id}/events`, read the delivery rows.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { openTestSluice } from "./_harness.ts";
import {
  connectPlatform,
  DELIVERY_ENV,
  expectPaused,
  ingestEvents,
  settledDelivery,
  testPlatform,
} from "./_delivery.ts";
import { mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";
import { pause } from "./_wait.ts";

const ENV = { ...DELIVERY_ENV, SLUICE_DELIVERY_TIMEOUT: "2s" };
const AD_ACCOUNT = "549755885175";
const TOKEN = "pina_conversion-token";

interface PinterestBody {
  data: { event_id: string; [field: string]: unknown }[];
}

function pinterest(endpoint: string) {
  return {
    type: "pinterest",
    config: { ad_account_id: AD_ACCOUNT, access_token: TOKEN, endpoint },
  };
}

/** A purchase as a shop's server posts it. */
function purchase(eventId: string, eventTime: number, email = "Ada@Example.com") {
  return {
    event_id: eventId,
    event_name: "Order Completed",
    event_time: eventTime,
    action_source: "website",
    value: 49.9,
    currency: "EUR",
    order_id: eventId,
    items: [{ id: "sku-1", quantity: 2, price: 24.95 }],
    page: { url: "https://shop.example/thanks?epik=dj0yJnU9epik" },
    user_data: {
      email,
      phone: "+33 6 12 34 56 78",
      client_ip: "203.0.113.9",
      user_agent: "Mozilla/5.0",
    },
  };
}

function eventIds(request: ReceivedRequest<PinterestBody> | undefined): string[] {
  return (request?.json?.data ?? []).map((e) => e.event_id);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000) - 60;
}

Deno.test("Pinterest receives the mapped batch; a row it fails fails alone", async () => {
  await using mock = mockPlatform<PinterestBody>((_, request) => {
    const events = request.json?.data ?? [];
    return Response.json({
      num_events_received: events.length,
      num_events_processed: events.filter((e) => e.event_id !== "order-bad").length,
      events: events.map((e) =>
        e.event_id === "order-bad"
          ? { status: "failed", error_message: "Invalid currency parameter.", warning_message: "" }
          : { status: "processed", error_message: "", warning_message: "" }
      ),
    });
  });
  await using s = await openTestSluice(ENV);
  const id = await connectPlatform(s, pinterest(mock.url));
  const time = nowSeconds();
  await ingestEvents(s, [
    purchase("order-1", time),
    purchase("order-bad", time),
    { event_id: "lead-phone", event_name: "lead", user_data: { phone: "+16505551212" } },
    purchase("order-2", time, "grace@example.com"),
  ]);

  const ok = await settledDelivery(s, "order-1");
  assert.deepEqual([ok.platform_id, ok.status, ok.attempts, ok.last_status], [
    id,
    "delivered",
    1,
    200,
  ]);
  assert.equal((await settledDelivery(s, "order-2")).status, "delivered");
  const bad = await settledDelivery(s, "order-bad");
  assert.equal(bad.status, "failed");
  assert.equal(bad.last_error, "Pinterest refused the event: Invalid currency parameter.");
  const skipped = await settledDelivery(s, "lead-phone");
  assert.equal(skipped.status, "skipped");
  assert.match(skipped.last_error ?? "", /email, a mobile ad id, or both the IP address/);

  assert.equal(mock.received.length, 1);
  const [sent] = mock.received;
  assert.equal(sent?.method, "POST");
  assert.equal(sent?.path, `/v5/ad_accounts/${AD_ACCOUNT}/events`);
  assert.equal(sent?.headers.get("authorization"), `Bearer ${TOKEN}`);
  assert.equal(sent?.headers.get("content-type"), "application/json");
  assert.deepEqual(eventIds(sent).sort(), ["order-1", "order-2", "order-bad"]);
  const first = sent?.json?.data.find((e) => e.event_id === "order-1");
  assert.deepEqual(first, {
    event_name: "checkout",
    action_source: "web",
    event_time: time,
    event_id: "order-1",
    event_source_url: "https://shop.example/thanks?epik=dj0yJnU9epik",
    user_data: {
      em: [sha256Hex("ada@example.com")],
      ph: [sha256Hex("33612345678")],
      client_ip_address: "203.0.113.9",
      client_user_agent: "Mozilla/5.0",
      click_id: "dj0yJnU9epik",
    },
    custom_data: {
      currency: "EUR",
      value: "49.9",
      content_ids: ["sku-1"],
      contents: [{ id: "sku-1", item_price: "24.95", quantity: 2 }],
      num_items: 2,
      order_id: "order-1",
    },
  });
});

Deno.test("Pinterest's 429 is retried after Retry-After, then delivered once", async () => {
  await using mock = mockPlatform<PinterestBody>((n, request) =>
    n === 1
      ? Response.json({ code: 8, message: "This request exceeded a rate limit." }, {
        status: 429,
        headers: { "retry-after": "0" },
      })
      : Response.json({
        num_events_received: 1,
        num_events_processed: 1,
        events: eventIds(request).map(() => ({ status: "processed" })),
      })
  );
  await using s = await openTestSluice(ENV);
  await connectPlatform(s, pinterest(mock.url));
  await ingestEvents(s, [purchase("order-429", nowSeconds())]);
  const row = await settledDelivery(s, "order-429", /delivered|failed/);
  assert.deepEqual([row.status, row.attempts, row.last_status], ["delivered", 2, 200]);
  await pause(300);
  assert.deepEqual(mock.received.map(eventIds), [["order-429"], ["order-429"]]);
  assert.deepEqual(mock.received[1]?.json, mock.received[0]?.json, "the same body is resent");
});

Deno.test("Pinterest's 401 (code 2) fails the event and pauses the destination", async () => {
  await using mock = mockPlatform<PinterestBody>(() =>
    Response.json({ code: 2, message: "Authentication failed." }, { status: 401 })
  );
  await using s = await openTestSluice(ENV);
  const id = await connectPlatform(s, pinterest(mock.url));
  await ingestEvents(s, [purchase("order-auth", nowSeconds())]);
  const row = await settledDelivery(s, "order-auth");
  assert.deepEqual([row.status, row.attempts], ["failed", 1]);
  assert.equal(row.last_error, "Pinterest error 2 (HTTP 401): Authentication failed.");
  await expectPaused(s, id, purchase("order-paused", nowSeconds()));
  assert.equal(mock.received.length, 1, "nothing is sent while paused");
});

Deno.test("POST /v1/platforms/:id/test sends to Pinterest with ?test=true", async () => {
  await using mock = mockPlatform<PinterestBody>(() =>
    Response.json({
      num_events_received: 1,
      num_events_processed: 1,
      events: [{ status: "processed", error_message: "", warning_message: "" }],
    })
  );
  await using s = await openTestSluice(ENV);
  const id = await connectPlatform(s, pinterest(mock.url));
  const tested = await testPlatform(s, id);
  assert.equal(tested.ok, true, JSON.stringify(tested));
  assert.equal(mock.received[0]?.path, `/v5/ad_accounts/${AD_ACCOUNT}/events?test=true`);
  assert.equal(eventIds(mock.received[0])[0]?.startsWith("sluice-test-"), true);
});
