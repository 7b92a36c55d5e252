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

/** The body of a request to Snap's Conversions API. */
interface SnapBody {
  data?: SnapRow[];
}

interface SnapRow {
  event_name: string;
  event_id: string;
  [field: string]: unknown;
}

/** A mock Snap on 127.0.0.1: `script` answers the nth request (from 1), else VALID. */
function mockSnap(script: MockAnswer<SnapBody>) {
  return mockPlatform<SnapBody>(script, () => Response.json({ status: "VALID" }));
}

const PIXEL = "1ec32188-754e-4be2-8e55-c949a984a39f";
const TOKEN = "snap-capi-token-secret";
const EVENT_TIME = Math.floor(Date.now() / 1000) - 60;

function snap(endpoint: string) {
  return { type: "snapchat", config: { pixel_id: PIXEL, access_token: TOKEN, endpoint } };
}

function purchase(eventId: string, phone: string) {
  return {
    event_id: eventId,
    event_name: "Order Completed",
    event_time: EVENT_TIME,
    value: 42.5,
    currency: "USD",
    order_id: eventId,
    page: { url: `https://shop.example/thanks?ScCid=sc-${eventId}` },
    user_data: { phone, country: "GB", client_ip: "203.0.113.9", user_agent: "UA" },
  };
}

function rowsOf(request: ReceivedRequest<SnapBody> | undefined): SnapRow[] {
  return request?.json?.data ?? [];
}

function eventIds(received: ReceivedRequest<SnapBody>[]): string[] {
  return received.flatMap((r) => rowsOf(r).map((row) => row.event_id)).sort();
}

Deno.test("Snap: the row an INVALID answer names fails alone, its neighbours are delivered", async () => {
  await using mock = mockSnap((n, request) => {
    if (n !== 1) return undefined;
    const bad = rowsOf(request).findIndex((row) => row.event_id === "bad-1");
    return Response.json({
      status: "INVALID",
      event: bad,
      reason: "Invalid hashed phone number",
      errors: { codes: ["INVALID_PH"], error_msgs: ["ph must be SHA-256 hashed"] },
    }, { status: 400 });
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, snap(mock.url));
  await ingestEvents(s, [
    purchase("good-1", "+44 0844 412 4653"),
    purchase("bad-1", "020 7946 0958"),
    purchase("good-2", "07700 900123"),
  ]);
  const failed = await settledDelivery(s, "bad-1", "failed");
  assert.equal(failed.platform_id, id);
  assert.equal(failed.attempts, 1);
  assert.equal(
    failed.last_error,
    "Snap INVALID (HTTP 400): Invalid hashed phone number; INVALID_PH: ph must be SHA-256 hashed",
  );
  for (const good of ["good-1", "good-2"]) {
    assert.equal((await settledDelivery(s, good, "delivered")).attempts, 2);
  }

  const [first] = mock.received;
  assert.equal(first?.method, "POST");
  assert.equal(first?.path, `/v3/${PIXEL}/events?access_token=${TOKEN}`);
  assert.equal(first?.headers.get("content-type"), "application/json");
  assert.deepEqual(eventIds([first!]), ["bad-1", "good-1", "good-2"]);
  assert.deepEqual(rowsOf(first).find((row) => row.event_id === "good-1"), {
    event_name: "PURCHASE",
    event_time: EVENT_TIME,
    event_id: "good-1",
    action_source: "WEB",
    event_source_url: "https://shop.example/thanks?ScCid=sc-good-1",
    user_data: {
      // Snap's documented example: +44 844 412 4653 → 448444124653 (trunk 0 dropped here too).
      ph: ["dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"],
      country: "0b407281768f0e833afef47ed464b6571d01ca4d53c12ce5c51d1462f4ad6677",
      client_ip_address: "203.0.113.9",
      client_user_agent: "UA",
      sc_click_id: "sc-good-1",
    },
    custom_data: { value: 42.5, currency: "USD", order_id: "good-1" },
  });
  assert.deepEqual(
    eventIds(mock.received.slice(1)),
    ["good-1", "good-2"],
    "only the neighbours again",
  );
});

Deno.test("Snap: a 429 and a 500 are retried, then the event is delivered once", async () => {
  await using mock = mockSnap((n) =>
    n === 1
      ? Response.json({ status: "INVALID", reason: "Too many requests" }, {
        status: 429,
        headers: { "retry-after": "0" },
      })
      : n === 2
      ? new Response("upstream error", { status: 500 })
      : undefined
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, snap(mock.url));
  await ingestEvents(s, [purchase("order-1", "+44 844 412 4653")]);
  const row = await settledDelivery(s, "order-1", "delivered");
  assert.equal(row.attempts, 3);
  assert.deepEqual(eventIds(mock.received), ["order-1", "order-1", "order-1"]);
  await pause(400);
  assert.equal(mock.received.length, 3, "nothing sent after delivery");
});

Deno.test("Snap: a refused token fails the event and pauses the destination", async () => {
  await using mock = mockSnap(() =>
    Response.json({ status: "INVALID", reason: "Unauthorized: invalid access token" }, {
      status: 401,
    })
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, snap(mock.url));
  await ingestEvents(s, [purchase("order-2", "+44 844 412 4653")]);
  const row = await settledDelivery(s, "order-2", "failed");
  assert.equal(row.attempts, 1);
  assert.equal(row.last_error, "Snap INVALID (HTTP 401): Unauthorized: invalid access token");
  await expectPaused(s, id, purchase("order-3", "+44 844 412 4653"));
  assert.equal(mock.received.length, 1, "nothing sent while paused");
});

Deno.test("Snap: the platform test posts to /events/validate and answers with Snap's verdict", async () => {
  await using mock = mockSnap(() =>
    Response.json({
      status: "VALID",
      test_event: true,
      event_logs: [{ event: 0, status: "VALID", warnings: [] }],
    })
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, snap(mock.url));
  const tested = await testPlatform(s, id);
  assert.equal(tested.ok, true, JSON.stringify(tested));
  assert.equal(mock.received[0]?.path, `/v3/${PIXEL}/events/validate?access_token=${TOKEN}`);
  assert.equal(rowsOf(mock.received[0])[0]?.event_name, "PURCHASE");
});
