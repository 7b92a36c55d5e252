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
import { type MockAnswer, mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";

/** The body of a request to Reddit's conversion_events. */
interface RedditBody {
  data: { events: RedditEvent[]; test_id?: string };
}

interface RedditEvent {
  metadata: { conversion_id: string };
  [field: string]: unknown;
}

/** A loopback Reddit answering from `script` (200 with Reddit's success body when it returns nothing). */
function mockReddit(script: MockAnswer<RedditBody> = () => undefined) {
  return mockPlatform<RedditBody>(script, (_, request) => {
    const count = eventsOf(request).length;
    return Response.json({
      data: { message: `Successfully processed ${count} conversion events.` },
    });
  });
}

function eventsOf(request: ReceivedRequest<RedditBody> | undefined): RedditEvent[] {
  return request?.json?.data.events ?? [];
}

/** A purchase with only an email to match on. */
function purchase(eventId: string) {
  return { event_id: eventId, event_name: "purchase", user_data: { email: "a@b.co" } };
}

function sentIds(received: ReceivedRequest<RedditBody>[]): string[] {
  return received.flatMap((r) => eventsOf(r).map((e) => e.metadata.conversion_id));
}

Deno.test("Reddit delivery: a purchase reaches /api/v3/pixels/{pixel}/conversion_events as Reddit documents it", async () => {
  await using mock = mockReddit();
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, {
    type: "reddit",
    config: { pixel_id: "a2_pixel", access_token: "conv-token-secret", endpoint: mock.url },
  });
  const seconds = Math.floor(Date.now() / 1000) - 60;
  await ingestEvents(s, [{
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
  const row = await settledDelivery(s, "order-1001");
  assert.deepEqual(
    {
      platform: row.platform_id,
      status: row.status,
      attempts: row.attempts,
      http: row.last_status,
    },
    { platform: id, status: "delivered", attempts: 1, http: 200 },
  );
  assert.equal(mock.received.length, 1);
  const [request] = mock.received;
  assert.equal(request?.method, "POST");
  assert.equal(request?.path, "/api/v3/pixels/a2_pixel/conversion_events");
  assert.equal(request?.headers.get("authorization"), "Bearer conv-token-secret");
  assert.equal(request?.headers.get("content-type"), "application/json");
  assert.equal(request?.headers.get("user-agent"), "server:sluice:1 (conversions gateway)");
  assert.deepEqual(request?.json, {
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
});

Deno.test("Reddit delivery: the event Reddit's 400 names fails alone, its neighbours are delivered", async () => {
  await using mock = mockReddit((_, request) => {
    const events = eventsOf(request);
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
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, {
    type: "reddit",
    config: { ad_account_id: "t2_account", access_token: "t", endpoint: mock.url },
  });
  const event = (event_id: string) => ({
    event_id,
    event_name: "lead",
    user_data: { email: `${event_id}@example.com` },
  });
  await ingestEvents(s, [event("good-1"), event("bad-2"), event("good-3")]);
  const [good1, bad2, good3] = await Promise.all(
    ["good-1", "bad-2", "good-3"].map((id) => settledDelivery(s, id)),
  );
  assert.equal(good1?.status, "delivered");
  assert.equal(good3?.status, "delivered");
  assert.equal(bad2?.status, "failed");
  assert.equal(
    bad2?.last_error,
    "Reddit refused this event: data.events[1].event_at: event_at is too old",
  );
  assert.equal(mock.received[0]?.path, "/api/v3/pixels/t2_account/conversion_events");
  assert.deepEqual(sentIds(mock.received.slice(0, 1)), ["good-1", "bad-2", "good-3"]);
  assert.deepEqual(sentIds(mock.received.slice(1)).sort(), ["good-1", "good-3"]);
});

Deno.test("Reddit delivery: a 429 is retried after Retry-After, then delivered", async () => {
  await using mock = mockReddit((n) =>
    n === 1
      ? Response.json(
        { error: { code: 429, message: "Too many requests/events within timeframe." } },
        { status: 429, headers: { "retry-after": "0" } },
      )
      : undefined
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, {
    type: "reddit",
    config: { pixel_id: "a2_pixel", access_token: "t", endpoint: mock.url },
  });
  await ingestEvents(s, [purchase("rate-1")]);
  const row = await settledDelivery(s, "rate-1");
  assert.equal(row.status, "delivered");
  assert.equal(row.attempts, 2);
  assert.deepEqual(sentIds(mock.received), ["rate-1", "rate-1"]);
});

Deno.test("Reddit delivery: a refused token pauses the destination", async () => {
  await using mock = mockReddit(() =>
    Response.json({ error: { code: 401, message: "UNAUTHORIZED" } }, { status: 401 })
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, {
    type: "reddit",
    config: { pixel_id: "a2_pixel", access_token: "bad", endpoint: mock.url },
  });
  await ingestEvents(s, [purchase("auth-1")]);
  const row = await settledDelivery(s, "auth-1");
  assert.deepEqual([row.status, row.attempts, row.last_error], [
    "failed",
    1,
    "Reddit HTTP 401: UNAUTHORIZED",
  ]);
  await expectPaused(s, id, purchase("auth-2"));
  assert.equal(mock.received.length, 1);
});

Deno.test("Reddit delivery: POST /v1/platforms/:id/test sends one event with the test_id", async () => {
  await using mock = mockReddit();
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, {
    type: "reddit",
    config: {
      pixel_id: "a2_pixel",
      access_token: "t",
      test_id: "t2_event_testing",
      endpoint: mock.url,
    },
  });
  const tested = await testPlatform(s, id);
  assert.equal(tested.ok, true, JSON.stringify(tested));
  assert.equal(mock.received[0]?.json?.data.test_id, "t2_event_testing");
  assert.equal(eventsOf(mock.received[0]).length, 1);
});
