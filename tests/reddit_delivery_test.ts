import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { eventually } from "./_wait.ts";

/** One request the mock Reddit received. */
interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: { data: { events: RedditEvent[]; test_id?: string } };
}

interface RedditEvent {
  metadata: { conversion_id: string };
  [field: string]: unknown;
}

/** A loopback Reddit answering each request with `reply` (200 with Reddit's success body when it returns nothing). */
function mockReddit(
  reply: (request: Received, n: number) => Response | undefined = () => undefined,
) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const request = {
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: await req.json(),
    };
    received.push(request);
    const count = request.body.data.events.length;
    return reply(request, received.length) ??
      Response.json({ data: { message: `Successfully processed ${count} conversion events.` } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms,300ms",
  SLUICE_DELIVERY_TIMEOUT: "1s",
};

const admin = (s: TestSluice) => ({
  headers: { authorization: `Bearer ${s.workspace.admin_key}` },
});

async function connectReddit(
  s: TestSluice,
  config: Record<string, unknown>,
): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({ type: "reddit", name: "Reddit", config }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.access_token, "********");
  return body.id;
}

async function ingest(s: TestSluice, events: Record<string, unknown>[]): Promise<void> {
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  assert.equal(res.status, 202, await res.clone().text());
  const body = await res.json();
  assert.equal(body.accepted, events.length, JSON.stringify(body));
}

interface DeliveryJson {
  platform_id: string;
  status: string;
  attempts: number;
  last_status?: number;
  last_error?: string;
}

async function deliveryOf(s: TestSluice, eventId: string): Promise<DeliveryJson | undefined> {
  const res = await s.request(`/v1/events/${eventId}`, admin(s));
  if (res.status !== 200) {
    await res.body?.cancel();
    return undefined;
  }
  return (await res.json()).deliveries[0];
}

/** The delivery row once it has settled (delivered, failed or skipped). */
function settled(s: TestSluice, eventId: string): Promise<DeliveryJson> {
  return eventually(`delivery of ${eventId} to settle`, async () => {
    const row = await deliveryOf(s, eventId);
    return row && ["delivered", "failed", "skipped"].includes(row.status) ? row : undefined;
  });
}

function sentIds(received: Received[]): string[] {
  return received.flatMap((r) => r.body.data.events.map((e) => e.metadata.conversion_id));
}

Deno.test("Reddit delivery: a purchase reaches /api/v3/pixels/{pixel}/conversion_events as Reddit documents it", async () => {
  const reddit = mockReddit();
  const s = await openTestSluice(ENV);
  try {
    const id = await connectReddit(s, {
      pixel_id: "a2_pixel",
      access_token: "conv-token-secret",
      endpoint: reddit.url,
    });
    const seconds = Math.floor(Date.now() / 1000) - 60;
    await ingest(s, [{
      event_id: "order-1001",
      event_name: "Order Completed",
      event_time: seconds,
      action_source: "website",
      value: 100,
      currency: "usd",
      order_id: "1001",
      items: [{ id: "sku-1", quantity: 2, price: 50, name: "Mug" }],
      page: {
        url: "https://shop.example/thanks?rdt_cid=3184742045291813272",
        referrer: "https://www.reddit.com/",
      },
      user_data: {
        email: "Al.ice$+Apple@Example.Com",
        phone: "+1 (555) 444-1234",
        customer_id: "customer12345",
        client_ip: "192.168.0.1",
        user_agent: "Mozilla/5.0 (Macintosh)",
        browser_ids: { rdt_uuid: "1677712978045.b8f7eb7d-b357-437b-8bd3-e1c8166c7132" },
      },
      consent: { ad_user_data: "granted", ad_personalization: "granted" },
    }]);
    const row = await settled(s, "order-1001");
    assert.deepEqual(
      {
        platform: row.platform_id,
        status: row.status,
        attempts: row.attempts,
        http: row.last_status,
      },
      { platform: id, status: "delivered", attempts: 1, http: 200 },
    );
    assert.equal(reddit.received.length, 1);
    const [request] = reddit.received;
    assert.equal(request?.method, "POST");
    assert.equal(request?.path, "/api/v3/pixels/a2_pixel/conversion_events");
    assert.equal(request?.headers.get("authorization"), "Bearer conv-token-secret");
    assert.equal(request?.headers.get("content-type"), "application/json");
    assert.equal(request?.headers.get("user-agent"), "server:sluice:1 (conversions gateway)");
    assert.deepEqual(request?.body, {
      data: {
        events: [{
          event_at: seconds * 1000,
          action_source: "WEBSITE",
          type: { tracking_type: "PURCHASE" },
          click_id: "3184742045291813272",
          event_source_url: "https://shop.example/thanks?rdt_cid=3184742045291813272",
          referrer_url: "https://www.reddit.com/",
          metadata: {
            conversion_id: "order-1001",
            order_id: "1001",
            value: 100,
            currency: "USD",
            item_count: 2,
            products: [{ id: "sku-1", name: "Mug", quantity: 2, item_price: 50 }],
          },
          user: {
            email: "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976",
            phone_number: "e5b124c58580eb16bd959b8d0cac12b12c952e2ceae0203d416cff94f10b994a",
            external_id: "a4cc2fc5adf58a029291c1514d273989113a1d05e1d753c1d0c3a848af7109cc",
            ip_address: sha256Hex("192.168.0.1"),
            user_agent: "Mozilla/5.0 (Macintosh)",
            uuid: "1677712978045.b8f7eb7d-b357-437b-8bd3-e1c8166c7132",
          },
        }],
      },
    });
  } finally {
    await s.close();
    await reddit.close();
  }
});

Deno.test("Reddit delivery: the event Reddit's 400 names fails alone, its neighbours are delivered", async () => {
  const reddit = mockReddit((request) => {
    const events = request.body.data.events;
    const bad = events.findIndex((e) => e.metadata.conversion_id === "bad-2");
    if (bad < 0) return undefined;
    return Response.json({
      error: {
        code: 400,
        message: "There were 1 invalid conversion events. None were processed.",
        fields: [{ field: `data.events[${bad}].event_at`, message: "event_at is too old" }],
      },
    }, { status: 400 });
  });
  const s = await openTestSluice(ENV);
  try {
    await connectReddit(s, {
      ad_account_id: "t2_account",
      access_token: "t",
      endpoint: reddit.url,
    });
    const event = (event_id: string) => ({
      event_id,
      event_name: "lead",
      user_data: { email: `${event_id}@example.com` },
    });
    await ingest(s, [event("good-1"), event("bad-2"), event("good-3")]);
    const [good1, bad2, good3] = await Promise.all(
      ["good-1", "bad-2", "good-3"].map((id) => settled(s, id)),
    );
    assert.equal(good1?.status, "delivered");
    assert.equal(good3?.status, "delivered");
    assert.equal(bad2?.status, "failed");
    assert.equal(
      bad2?.last_error,
      "Reddit refused this event: data.events[1].event_at: event_at is too old",
    );
    assert.equal(reddit.received[0]?.path, "/api/v3/pixels/t2_account/conversion_events");
    assert.deepEqual(sentIds(reddit.received.slice(0, 1)), ["good-1", "bad-2", "good-3"]);
    assert.deepEqual(sentIds(reddit.received.slice(1)).sort(), ["good-1", "good-3"]);
  } finally {
    await s.close();
    await reddit.close();
  }
});

Deno.test("Reddit delivery: a 429 is retried after Retry-After, then delivered", async () => {
  const reddit = mockReddit((_, n) =>
    n === 1
      ? Response.json(
        { error: { code: 429, message: "Too many requests/events within timeframe." } },
        { status: 429, headers: { "retry-after": "0" } },
      )
      : undefined
  );
  const s = await openTestSluice(ENV);
  try {
    await connectReddit(s, { pixel_id: "a2_pixel", access_token: "t", endpoint: reddit.url });
    await ingest(s, [{
      event_id: "rate-1",
      event_name: "purchase",
      user_data: { email: "a@b.co" },
    }]);
    const row = await settled(s, "rate-1");
    assert.equal(row.status, "delivered");
    assert.equal(row.attempts, 2);
    assert.deepEqual(sentIds(reddit.received), ["rate-1", "rate-1"]);
  } finally {
    await s.close();
    await reddit.close();
  }
});

Deno.test("Reddit delivery: a refused token pauses the destination", async () => {
  const reddit = mockReddit(() =>
    Response.json({ error: { code: 401, message: "UNAUTHORIZED" } }, { status: 401 })
  );
  const s = await openTestSluice(ENV);
  try {
    const id = await connectReddit(s, {
      pixel_id: "a2_pixel",
      access_token: "bad",
      endpoint: reddit.url,
    });
    await ingest(s, [{
      event_id: "auth-1",
      event_name: "purchase",
      user_data: { email: "a@b.co" },
    }]);
    const row = await settled(s, "auth-1");
    assert.deepEqual([row.status, row.attempts, row.last_error], [
      "failed",
      1,
      "Reddit HTTP 401: UNAUTHORIZED",
    ]);
    const platform = await (await s.request(`/v1/platforms/${id}`, admin(s))).json();
    assert.equal(platform.health.status, "unhealthy");
    await ingest(s, [{
      event_id: "auth-2",
      event_name: "purchase",
      user_data: { email: "a@b.co" },
    }]);
    const paused = await settled(s, "auth-2");
    assert.equal(paused.status, "skipped");
    assert.match(paused.last_error ?? "", /paused/);
    assert.equal(reddit.received.length, 1);
  } finally {
    await s.close();
    await reddit.close();
  }
});

Deno.test("Reddit delivery: POST /v1/platforms/:id/test sends one event with the test_id", async () => {
  const reddit = mockReddit();
  const s = await openTestSluice(ENV);
  try {
    const id = await connectReddit(s, {
      pixel_id: "a2_pixel",
      access_token: "t",
      test_id: "t2_event_testing",
      endpoint: reddit.url,
    });
    const res = await s.request(`/v1/platforms/${id}/test`, jsonInit({}, s.workspace.admin_key));
    const tested = await res.json();
    assert.equal(tested.ok, true, JSON.stringify(tested));
    assert.equal(reddit.received[0]?.body.data.test_id, "t2_event_testing");
    assert.equal(reddit.received[0]?.body.data.events.length, 1);
  } finally {
    await s.close();
    await reddit.close();
  }
});
