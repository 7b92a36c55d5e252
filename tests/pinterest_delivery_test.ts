/**
 * Pinterest end to end: connect through the API, ingest through /v1/events, deliver to a
 * loopback mock of `POST /v5/ad_accounts/{id}/events`, read the delivery rows.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";
import { eventually, pause } from "./_wait.ts";

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms,300ms",
  SLUICE_DELIVERY_TIMEOUT: "2s",
};
const AD_ACCOUNT = "549755885175";
const TOKEN = "pina_conversion-token";

interface DeliveryJson {
  platform_id: string;
  status: string;
  attempts: number;
  last_status?: number;
  last_error?: string;
}

interface PinterestBody {
  data: { event_id: string; [field: string]: unknown }[];
}

async function connect(s: TestSluice, endpoint: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "pinterest",
      name: "Pinterest",
      config: { ad_account_id: AD_ACCOUNT, access_token: TOKEN, endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.access_token, "********");
  return body.id;
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

async function ingest(s: TestSluice, events: unknown[]): Promise<void> {
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  assert.equal(res.status, 202, await res.clone().text());
  assert.equal((await res.json()).accepted, events.length);
}

async function deliveries(s: TestSluice, eventId: string): Promise<DeliveryJson[]> {
  const res = await s.request(`/v1/events/${eventId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).deliveries;
}

function settled(s: TestSluice, eventId: string, status = /delivered|failed|skipped/) {
  return eventually(`${eventId} settled`, async () => {
    const [row] = await deliveries(s, eventId);
    return row && status.test(row.status) ? row : undefined;
  });
}

function eventIds(request: ReceivedRequest | undefined): string[] {
  return ((request?.json ?? { data: [] }) as PinterestBody).data.map((e) => e.event_id);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000) - 60;
}

Deno.test("Pinterest receives the mapped batch; a row it fails fails alone", async () => {
  await using mock = mockPlatform((_, request) => {
    const events = (request.json as PinterestBody).data;
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
  const id = await connect(s, mock.url);
  const time = nowSeconds();
  await ingest(s, [
    purchase("order-1", time),
    purchase("order-bad", time),
    { event_id: "lead-phone", event_name: "lead", user_data: { phone: "+16505551212" } },
    purchase("order-2", time, "grace@example.com"),
  ]);

  const ok = await settled(s, "order-1");
  assert.deepEqual([ok.platform_id, ok.status, ok.attempts, ok.last_status], [
    id,
    "delivered",
    1,
    200,
  ]);
  assert.equal((await settled(s, "order-2")).status, "delivered");
  const bad = await settled(s, "order-bad");
  assert.equal(bad.status, "failed");
  assert.equal(bad.last_error, "Pinterest refused the event: Invalid currency parameter.");
  const skipped = await settled(s, "lead-phone");
  assert.equal(skipped.status, "skipped");
  assert.match(skipped.last_error ?? "", /email, a mobile ad id, or both the IP address/);

  assert.equal(mock.received.length, 1);
  const [sent] = mock.received;
  assert.equal(sent?.method, "POST");
  assert.equal(sent?.path, `/v5/ad_accounts/${AD_ACCOUNT}/events`);
  assert.equal(sent?.headers.get("authorization"), `Bearer ${TOKEN}`);
  assert.equal(sent?.headers.get("content-type"), "application/json");
  assert.deepEqual(eventIds(sent).sort(), ["order-1", "order-2", "order-bad"]);
  const first = (sent?.json as PinterestBody).data.find((e) => e.event_id === "order-1");
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
  await using mock = mockPlatform((n, request) =>
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
  await connect(s, mock.url);
  await ingest(s, [purchase("order-429", nowSeconds())]);
  const row = await settled(s, "order-429", /delivered|failed/);
  assert.deepEqual([row.status, row.attempts, row.last_status], ["delivered", 2, 200]);
  await pause(300);
  assert.deepEqual(mock.received.map(eventIds), [["order-429"], ["order-429"]]);
  assert.deepEqual(mock.received[1]?.json, mock.received[0]?.json, "the same body is resent");
});

Deno.test("Pinterest's 401 (code 2) fails the event and pauses the destination", async () => {
  await using mock = mockPlatform(() =>
    Response.json({ code: 2, message: "Authentication failed." }, { status: 401 })
  );
  await using s = await openTestSluice(ENV);
  const id = await connect(s, mock.url);
  await ingest(s, [purchase("order-auth", nowSeconds())]);
  const row = await settled(s, "order-auth");
  assert.deepEqual([row.status, row.attempts], ["failed", 1]);
  assert.equal(row.last_error, "Pinterest error 2 (HTTP 401): Authentication failed.");
  const platform = await (await s.request(`/v1/platforms/${id}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  })).json();
  assert.equal(platform.health.status, "unhealthy");

  await ingest(s, [purchase("order-paused", nowSeconds())]);
  const paused = await settled(s, "order-paused");
  assert.equal(paused.status, "skipped");
  assert.match(paused.last_error ?? "", /paused/);
  assert.equal(mock.received.length, 1, "nothing is sent while paused");
});

Deno.test("POST /v1/platforms/:id/test sends to Pinterest with ?test=true", async () => {
  await using mock = mockPlatform(() =>
    Response.json({
      num_events_received: 1,
      num_events_processed: 1,
      events: [{ status: "processed", error_message: "", warning_message: "" }],
    })
  );
  await using s = await openTestSluice(ENV);
  const id = await connect(s, mock.url);
  const res = await s.request(`/v1/platforms/${id}/test`, jsonInit({}, s.workspace.admin_key));
  const tested = await res.json();
  assert.equal(tested.ok, true, JSON.stringify(tested));
  assert.equal(mock.received[0]?.path, `/v5/ad_accounts/${AD_ACCOUNT}/events?test=true`);
  assert.equal(eventIds(mock.received[0])[0]?.startsWith("sluice-test-"), true);
});
