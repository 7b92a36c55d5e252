import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { eventually } from "./_wait.ts";

/** One request the mock Snap received. */
interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: { data?: SnapRow[] };
}

interface SnapRow {
  event_name: string;
  event_id: string;
  [field: string]: unknown;
}

/** A mock Snap on 127.0.0.1: `script` answers the nth request (from 1), else VALID. */
function mockSnap(script: (n: number, body: Received["body"]) => Response | undefined) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.json().catch(() => ({}));
    received.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body,
    });
    return script(received.length, body) ?? Response.json({ status: "VALID" });
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
const PIXEL = "1ec32188-754e-4be2-8e55-c949a984a39f";
const TOKEN = "snap-capi-token-secret";
const EVENT_TIME = Math.floor(Date.now() / 1000) - 60;

async function connectSnap(s: TestSluice, endpoint: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "snapchat",
      name: "Snap",
      config: { pixel_id: PIXEL, access_token: TOKEN, endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.access_token, "********");
  return body.id;
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

async function ingest(s: TestSluice, events: unknown[]): Promise<void> {
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  assert.equal(res.status, 202, await res.clone().text());
  await res.body?.cancel();
}

interface DeliveryJson {
  platform_id: string;
  status: string;
  attempts: number;
  last_error?: string;
}

async function deliveries(s: TestSluice, eventId: string): Promise<DeliveryJson[]> {
  const res = await s.request(`/v1/events/${eventId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).deliveries;
}

function settled(s: TestSluice, eventId: string, status: string): Promise<DeliveryJson> {
  return eventually(`${eventId} ${status}`, async () => {
    const [row] = await deliveries(s, eventId);
    return row?.status === status ? row : undefined;
  });
}

function eventIds(received: Received[]): string[] {
  return received.flatMap((r) => (r.body.data ?? []).map((row) => row.event_id)).sort();
}

Deno.test("Snap: the row an INVALID answer names fails alone, its neighbours are delivered", async () => {
  const mock = mockSnap((n, body) => {
    if (n !== 1) return undefined;
    const bad = (body.data ?? []).findIndex((row) => row.event_id === "bad-1");
    return Response.json({
      status: "INVALID",
      event: bad,
      reason: "Invalid hashed phone number",
      errors: { codes: ["INVALID_PH"], error_msgs: ["ph must be SHA-256 hashed"] },
    }, { status: 400 });
  });
  const s = await openTestSluice(ENV);
  try {
    const id = await connectSnap(s, mock.url);
    await ingest(s, [
      purchase("good-1", "+44 0844 412 4653"),
      purchase("bad-1", "020 7946 0958"),
      purchase("good-2", "07700 900123"),
    ]);
    const failed = await settled(s, "bad-1", "failed");
    assert.equal(failed.platform_id, id);
    assert.equal(failed.attempts, 1);
    assert.equal(
      failed.last_error,
      "Snap INVALID (HTTP 400): Invalid hashed phone number; INVALID_PH: ph must be SHA-256 hashed",
    );
    for (const good of ["good-1", "good-2"]) {
      assert.equal((await settled(s, good, "delivered")).attempts, 2);
    }

    const [first] = mock.received;
    assert.equal(first?.method, "POST");
    assert.equal(first?.path, `/v3/${PIXEL}/events?access_token=${TOKEN}`);
    assert.equal(first?.headers.get("content-type"), "application/json");
    assert.deepEqual(eventIds([first!]), ["bad-1", "good-1", "good-2"]);
    assert.deepEqual(first?.body.data?.find((row) => row.event_id === "good-1"), {
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
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("Snap: a 429 and a 500 are retried, then the event is delivered once", async () => {
  const mock = mockSnap((n) =>
    n === 1
      ? Response.json({ status: "INVALID", reason: "Too many requests" }, {
        status: 429,
        headers: { "retry-after": "0" },
      })
      : n === 2
      ? new Response("upstream error", { status: 500 })
      : undefined
  );
  const s = await openTestSluice(ENV);
  try {
    await connectSnap(s, mock.url);
    await ingest(s, [purchase("order-1", "+44 844 412 4653")]);
    const row = await settled(s, "order-1", "delivered");
    assert.equal(row.attempts, 3);
    assert.deepEqual(eventIds(mock.received), ["order-1", "order-1", "order-1"]);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(mock.received.length, 3, "nothing sent after delivery");
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("Snap: a refused token fails the event and pauses the destination", async () => {
  const mock = mockSnap(() =>
    Response.json({ status: "INVALID", reason: "Unauthorized: invalid access token" }, {
      status: 401,
    })
  );
  const s = await openTestSluice(ENV);
  try {
    const id = await connectSnap(s, mock.url);
    await ingest(s, [purchase("order-2", "+44 844 412 4653")]);
    const row = await settled(s, "order-2", "failed");
    assert.equal(row.attempts, 1);
    assert.equal(row.last_error, "Snap INVALID (HTTP 401): Unauthorized: invalid access token");
    const platform = await (await s.request(`/v1/platforms/${id}`, {
      headers: { authorization: `Bearer ${s.workspace.admin_key}` },
    })).json();
    assert.equal(platform.health.status, "unhealthy");
    await ingest(s, [purchase("order-3", "+44 844 412 4653")]);
    const paused = await settled(s, "order-3", "skipped");
    assert.match(paused.last_error ?? "", /paused/);
    assert.equal(mock.received.length, 1, "nothing sent while paused");
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("Snap: the platform test posts to /events/validate and answers with Snap's verdict", async () => {
  const mock = mockSnap(() =>
    Response.json({
      status: "VALID",
      test_event: true,
      event_logs: [{ event: 0, status: "VALID", warnings: [] }],
    })
  );
  const s = await openTestSluice(ENV);
  const admin = s.workspace.admin_key;
  try {
    const id = await connectSnap(s, mock.url);
    const tested = await (await s.request(`/v1/platforms/${id}/test`, jsonInit({}, admin))).json();
    assert.equal(tested.ok, true, JSON.stringify(tested));
    assert.equal(mock.received[0]?.path, `/v3/${PIXEL}/events/validate?access_token=${TOKEN}`);
    assert.equal(mock.received[0]?.body.data?.[0]?.event_name, "PURCHASE");
  } finally {
    await s.close();
    await mock.close();
  }
});
