import assert from "node:assert/strict";
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
import { pause } from "./_wait.ts";

/** The body of a request to TikTok's event/track. */
interface TiktokBody {
  event_source?: string;
  event_source_id?: string;
  test_event_code?: string;
  data?: TiktokRow[];
}

interface TiktokRow {
  event: string;
  event_id: string;
  [field: string]: unknown;
}

/** A mock TikTok on 127.0.0.1: `script` answers the nth request (from 1), else code 0. */
function mockTiktok(script: MockAnswer<TiktokBody>) {
  return mockPlatform<TiktokBody>(
    script,
    (n) => Response.json({ code: 0, message: "OK", request_id: `req-${n}`, data: {} }),
  );
}

const TOKEN = "tt-access-token-secret";
const PIXEL = "CAB1234567890ABCDEFG";
const EVENT_TIME = Math.floor(Date.now() / 1000) - 60;

function tiktok(endpoint: string, extra: Record<string, string> = {}) {
  return {
    type: "tiktok",
    config: { pixel_code: PIXEL, access_token: TOKEN, endpoint, ...extra },
  };
}

function purchase(eventId: string, email: string) {
  return {
    event_id: eventId,
    event_name: "Purchase",
    event_time: EVENT_TIME,
    action_source: "website",
    value: 20,
    currency: "EUR",
    page: { url: `https://shop.example/thanks?ttclid=click-${eventId}` },
    user_data: { email, client_ip: "203.0.113.9", user_agent: "UA" },
  };
}

function rowsOf(request: ReceivedRequest<TiktokBody> | undefined): TiktokRow[] {
  return request?.json?.data ?? [];
}

function eventIds(received: ReceivedRequest<TiktokBody>[]): string[] {
  return received.flatMap((r) => rowsOf(r).map((row) => row.event_id)).sort();
}

Deno.test("TikTok: a row TikTok refuses (40002 in an HTTP 200) fails alone, its neighbours are delivered", async () => {
  await using mock = mockTiktok((n, request) => {
    if (n !== 1) return undefined;
    const bad = rowsOf(request).findIndex((row) => row.event_id === "bad-1");
    return Response.json({
      code: 40002,
      message: `data.${bad}.user.email: Not a valid SHA256 value`,
      request_id: "req-bad",
      data: {},
    });
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, tiktok(mock.url));
  await ingestEvents(s, [
    purchase("good-1", "ada@example.com"),
    purchase("bad-1", "grace@example.com"),
    purchase("good-2", "alan@example.com"),
  ]);
  const failed = await settledDelivery(s, "bad-1", "failed");
  assert.equal(failed.platform_id, id);
  assert.equal(failed.attempts, 1);
  const badRow = rowsOf(mock.received[0]).findIndex((r) => r.event_id === "bad-1");
  assert.equal(
    failed.last_error,
    `TikTok code 40002: data.${badRow}.user.email: Not a valid SHA256 value (request_id req-bad)`,
  );
  for (const good of ["good-1", "good-2"]) {
    const row = await settledDelivery(s, good, "delivered");
    assert.equal(row.attempts, 2);
  }

  const [first] = mock.received;
  assert.equal(first?.method, "POST");
  assert.equal(first?.path, "/open_api/v1.3/event/track/");
  assert.equal(first?.headers.get("access-token"), TOKEN);
  assert.equal(first?.headers.get("content-type"), "application/json");
  assert.equal(first?.json?.event_source, "web");
  assert.equal(first?.json?.event_source_id, PIXEL);
  assert.equal(first?.json?.test_event_code, undefined);
  assert.deepEqual(eventIds([first!]), ["bad-1", "good-1", "good-2"]);
  assert.deepEqual(rowsOf(first).find((row) => row.event_id === "good-1"), {
    event: "Purchase",
    event_time: EVENT_TIME,
    event_id: "good-1",
    user: {
      email: ["b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"],
      ttclid: "click-good-1",
      ip: "203.0.113.9",
      user_agent: "UA",
    },
    properties: { value: 20, currency: "EUR" },
    page: { url: "https://shop.example/thanks?ttclid=click-good-1" },
  });
  assert.deepEqual(
    eventIds(mock.received.slice(1)),
    ["good-1", "good-2"],
    "only the neighbours again",
  );
});

Deno.test("TikTok: an HTTP 429 and a 40100 throttle are retried, then the event is delivered once", async () => {
  await using mock = mockTiktok((n) =>
    n === 1
      ? new Response("", { status: 429, headers: { "retry-after": "0" } })
      : n === 2
      ? Response.json({ code: 40100, message: "Too many requests. Please retry in some time." })
      : undefined
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, tiktok(mock.url));
  await ingestEvents(s, [purchase("order-1", "ada@example.com")]);
  const row = await settledDelivery(s, "order-1", "delivered");
  assert.equal(row.attempts, 3);
  assert.deepEqual(eventIds(mock.received), ["order-1", "order-1", "order-1"]);
  await pause(400);
  assert.equal(mock.received.length, 3, "nothing sent after delivery");
});

Deno.test("TikTok: a refused token (40105 in an HTTP 200) fails the event and pauses the destination", async () => {
  await using mock = mockTiktok(() =>
    Response.json({ code: 40105, message: "Access token is incorrect or has been revoked." })
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, tiktok(mock.url));
  await ingestEvents(s, [purchase("order-2", "ada@example.com")]);
  const row = await settledDelivery(s, "order-2", "failed");
  assert.equal(row.attempts, 1);
  assert.equal(
    row.last_error,
    "TikTok code 40105: Access token is incorrect or has been revoked.",
  );
  await expectPaused(s, id, purchase("order-3", "ada@example.com"));
  assert.equal(mock.received.length, 1, "nothing sent while paused");
});

Deno.test("TikTok: the platform test sends one event with the test_event_code, and nothing without one", async () => {
  await using mock = mockTiktok(() => undefined);
  await using s = await openTestSluice(DELIVERY_ENV);
  const withCode = await connectPlatform(s, tiktok(mock.url, { test_event_code: "TEST04030" }));
  const tested = await testPlatform(s, withCode);
  assert.equal(tested.ok, true, JSON.stringify(tested));
  assert.equal(mock.received.length, 1);
  assert.equal(mock.received[0]?.json?.test_event_code, "TEST04030");
  assert.equal(mock.received[0]?.json?.data?.length, 1);
  assert.equal(mock.received[0]?.json?.data?.[0]?.event, "Purchase");

  const withoutCode = await connectPlatform(s, tiktok(mock.url));
  const answer = await testPlatform(s, withoutCode);
  assert.deepEqual([answer.ok, answer.sent], [false, false]);
  assert.match(answer.outcome.reason ?? "", /test_event_code/);
  assert.equal(mock.received.length, 1, "no test sent as a real conversion");
});
