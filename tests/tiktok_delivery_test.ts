import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { eventually } from "./_wait.ts";

/** One request the mock TikTok received. */
interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: {
    event_source?: string;
    event_source_id?: string;
    test_event_code?: string;
    data?: TiktokRow[];
  };
}

interface TiktokRow {
  event: string;
  event_id: string;
  [field: string]: unknown;
}

/** A mock TikTok on 127.0.0.1: `script` answers the nth request (from 1), else code 0. */
function mockTiktok(script: (n: number, body: Received["body"]) => Response | undefined) {
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
    return script(received.length, body) ??
      Response.json({ code: 0, message: "OK", request_id: `req-${received.length}`, data: {} });
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
const TOKEN = "tt-access-token-secret";
const PIXEL = "CAB1234567890ABCDEFG";
const EVENT_TIME = Math.floor(Date.now() / 1000) - 60;

async function connectTiktok(
  s: TestSluice,
  endpoint: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "tiktok",
      name: "TikTok",
      config: { pixel_code: PIXEL, access_token: TOKEN, endpoint, ...extra },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.access_token, "********");
  return body.id;
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

Deno.test("TikTok: a row TikTok refuses (40002 in an HTTP 200) fails alone, its neighbours are delivered", async () => {
  const mock = mockTiktok((n, body) => {
    if (n !== 1) return undefined;
    const bad = (body.data ?? []).findIndex((row) => row.event_id === "bad-1");
    return Response.json({
      code: 40002,
      message: `data.${bad}.user.email: Not a valid SHA256 value`,
      request_id: "req-bad",
      data: {},
    });
  });
  const s = await openTestSluice(ENV);
  try {
    const id = await connectTiktok(s, mock.url);
    await ingest(s, [
      purchase("good-1", "ada@example.com"),
      purchase("bad-1", "grace@example.com"),
      purchase("good-2", "alan@example.com"),
    ]);
    const failed = await settled(s, "bad-1", "failed");
    assert.equal(failed.platform_id, id);
    assert.equal(failed.attempts, 1);
    const badRow = (mock.received[0]?.body.data ?? []).findIndex((r) => r.event_id === "bad-1");
    assert.equal(
      failed.last_error,
      `TikTok code 40002: data.${badRow}.user.email: Not a valid SHA256 value (request_id req-bad)`,
    );
    for (const good of ["good-1", "good-2"]) {
      const row = await settled(s, good, "delivered");
      assert.equal(row.attempts, 2);
    }

    const [first] = mock.received;
    assert.equal(first?.method, "POST");
    assert.equal(first?.path, "/open_api/v1.3/event/track/");
    assert.equal(first?.headers.get("access-token"), TOKEN);
    assert.equal(first?.headers.get("content-type"), "application/json");
    assert.equal(first?.body.event_source, "web");
    assert.equal(first?.body.event_source_id, PIXEL);
    assert.equal(first?.body.test_event_code, undefined);
    assert.deepEqual(eventIds([first!]), ["bad-1", "good-1", "good-2"]);
    assert.deepEqual(first?.body.data?.find((row) => row.event_id === "good-1"), {
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
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("TikTok: an HTTP 429 and a 40100 throttle are retried, then the event is delivered once", async () => {
  const mock = mockTiktok((n) =>
    n === 1
      ? new Response("", { status: 429, headers: { "retry-after": "0" } })
      : n === 2
      ? Response.json({ code: 40100, message: "Too many requests. Please retry in some time." })
      : undefined
  );
  const s = await openTestSluice(ENV);
  try {
    await connectTiktok(s, mock.url);
    await ingest(s, [purchase("order-1", "ada@example.com")]);
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

Deno.test("TikTok: a refused token (40105 in an HTTP 200) fails the event and pauses the destination", async () => {
  const mock = mockTiktok(() =>
    Response.json({ code: 40105, message: "Access token is incorrect or has been revoked." })
  );
  const s = await openTestSluice(ENV);
  try {
    const id = await connectTiktok(s, mock.url);
    await ingest(s, [purchase("order-2", "ada@example.com")]);
    const row = await settled(s, "order-2", "failed");
    assert.equal(row.attempts, 1);
    assert.equal(
      row.last_error,
      "TikTok code 40105: Access token is incorrect or has been revoked.",
    );
    const platform = await (await s.request(`/v1/platforms/${id}`, {
      headers: { authorization: `Bearer ${s.workspace.admin_key}` },
    })).json();
    assert.equal(platform.health.status, "unhealthy");
    await ingest(s, [purchase("order-3", "ada@example.com")]);
    const paused = await settled(s, "order-3", "skipped");
    assert.match(paused.last_error ?? "", /paused/);
    assert.equal(mock.received.length, 1, "nothing sent while paused");
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("TikTok: the platform test sends one event with the test_event_code, and nothing without one", async () => {
  const mock = mockTiktok(() => undefined);
  const s = await openTestSluice(ENV);
  const admin = s.workspace.admin_key;
  try {
    const withCode = await connectTiktok(s, mock.url, { test_event_code: "TEST04030" });
    const tested = await (await s.request(`/v1/platforms/${withCode}/test`, jsonInit({}, admin)))
      .json();
    assert.equal(tested.ok, true, JSON.stringify(tested));
    assert.equal(mock.received.length, 1);
    assert.equal(mock.received[0]?.body.test_event_code, "TEST04030");
    assert.equal(mock.received[0]?.body.data?.length, 1);
    assert.equal(mock.received[0]?.body.data?.[0]?.event, "Purchase");

    const withoutCode = await connectTiktok(s, mock.url);
    const refused = await s.request(`/v1/platforms/${withoutCode}/test`, jsonInit({}, admin));
    assert.equal(refused.status, 200);
    const answer = await refused.json();
    assert.deepEqual([answer.ok, answer.sent], [false, false]);
    assert.match(answer.outcome.reason, /test_event_code/);
    assert.equal(mock.received.length, 1, "no test sent as a real conversion");
  } finally {
    await s.close();
    await mock.close();
  }
});
