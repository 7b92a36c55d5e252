import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import {
  connectPlatform,
  deliveriesOf,
  deliveriesWhen,
  DELIVERY_ENV,
  ingestEvent,
  type NewPlatform,
  platformOf,
  settledDelivery,
  testPlatform,
} from "./_delivery.ts";
import { bearer } from "./_http.ts";
import { type MockAnswer, type MockPlatform, mockPlatform } from "./_mock_platform.ts";
import { pause, until } from "./_wait.ts";

/** The body of a request to Meta's /events. */
interface MetaBody {
  data?: { event_id: string }[];
  test_event_code?: string;
}

/** A mock Meta: answers from `script`, else 200 with events_received. */
function mockMeta(script: MockAnswer<MetaBody>) {
  return mockPlatform<MetaBody>(
    script,
    () => Response.json({ events_received: 1, fbtrace_id: "trace" }),
  );
}

function meta(endpoint: string, name?: string): NewPlatform {
  return {
    type: "meta",
    name,
    config: { pixel_id: "1234567890", access_token: "EAAB-token-secret", endpoint },
  };
}

function purchase(eventId: string) {
  return {
    event_id: eventId,
    event_name: "Purchase",
    value: 20,
    currency: "EUR",
    action_source: "website",
    page: { url: "https://shop.example/thanks" },
    user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
  };
}

function eventIdsIn(mock: MockPlatform<MetaBody>): string[] {
  return mock.received.flatMap((r) => (r.json?.data ?? []).map((e) => e.event_id));
}

Deno.test("delivery retries 429 (Retry-After) and 500, then delivers exactly once", async () => {
  await using mock = mockMeta((n) =>
    n === 1
      ? new Response('{"error":{"code":4,"message":"throttled"}}', {
        status: 429,
        headers: { "retry-after": "0" },
      })
      : n === 2
      ? new Response("oops", { status: 500 })
      : undefined
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  const destination = await connectPlatform(s, meta(mock.url));
  await ingestEvent(s, purchase("order-1"));
  const row = await settledDelivery(s, "order-1", "delivered");
  assert.equal(row.platform_id, destination);
  assert.equal(row.attempts, 3);
  assert.equal(row.last_status, 200);
  assert.deepEqual(eventIdsIn(mock), ["order-1", "order-1", "order-1"]);
  assert.match(
    mock.received[0]!.path,
    /^\/v\d+\.\d+\/1234567890\/events\?access_token=EAAB-token-secret$/,
  );
  await pause(500);
  assert.equal(mock.received.length, 3, "no send after delivery");
});

Deno.test("delivery fails permanently on Meta code 100 and pauses the platform on code 190", async () => {
  await using invalid = mockMeta(() =>
    Response.json({ error: { code: 100, message: "Invalid parameter", error_user_msg: "bad" } }, {
      status: 400,
    })
  );
  await using auth = mockMeta(() =>
    Response.json({ error: { code: 190, message: "token expired" } }, { status: 401 })
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, meta(invalid.url, "Meta invalid"));
  const authId = await connectPlatform(s, meta(auth.url, "Meta auth"));
  await ingestEvent(s, purchase("order-2"));
  const rows = await deliveriesWhen(
    s,
    "order-2",
    (r) => r.length === 2 && r.every((x) => x.status === "failed"),
  );
  assert.ok(rows.every((r) => r.attempts === 1), JSON.stringify(rows));
  assert.equal(invalid.received.length, 1);
  assert.equal(auth.received.length, 1);
  assert.equal((await platformOf(s, authId)).health.status, "unhealthy");
  await ingestEvent(s, purchase("order-3"));
  const paused = await deliveriesWhen(
    s,
    "order-3",
    (r) => r.length === 2 && r.some((x) => x.status === "skipped"),
  );
  assert.match(paused.find((r) => r.platform_id === authId)?.last_error ?? "", /paused/);
});

Deno.test("a platform that never answers does not delay another platform's deliveries", async () => {
  const hanging: ((r: Response) => void)[] = [];
  let hang = true;
  await using slow = mockMeta(() =>
    hang
      ? new Promise<Response>((resolve) => hanging.push(resolve))
      : new Response("", { status: 500 })
  );
  await using fast = mockMeta(() => undefined);
  await using s = await openTestSluice(DELIVERY_ENV);
  // Disposed first: the held requests are answered, so neither Sluice nor the mock waits on them.
  using _release = {
    [Symbol.dispose]() {
      hang = false;
      for (const resolve of hanging) resolve(new Response("late", { status: 500 }));
    },
  };
  await connectPlatform(s, meta(slow.url, "Slow"));
  const fastId = await connectPlatform(s, meta(fast.url, "Fast"));
  const started = Date.now();
  for (let i = 0; i < 5; i++) await ingestEvent(s, purchase(`iso-${i}`));
  for (let i = 0; i < 5; i++) {
    await deliveriesWhen(
      s,
      `iso-${i}`,
      (r) => r.find((x) => x.platform_id === fastId)?.status === "delivered",
    );
  }
  assert.ok(Date.now() - started < 900, `fast deliveries took ${Date.now() - started} ms`);
});

Deno.test("replay, forward and retry-failed send an event again", async () => {
  let failing = true;
  await using mock = mockMeta(() =>
    failing
      ? Response.json({ error: { code: 100, message: "Invalid parameter" } }, { status: 400 })
      : undefined
  );
  await using other = mockMeta(() => undefined);
  await using s = await openTestSluice(DELIVERY_ENV);
  const admin = s.workspace.admin_key;
  const first = await connectPlatform(s, meta(mock.url));
  await ingestEvent(s, purchase("order-9"));
  await settledDelivery(s, "order-9", "failed");
  failing = false;
  const retry = await s.request("/v1/events/order-9/retry-failed", jsonInit({}, admin));
  assert.equal(retry.status, 202);
  await retry.body?.cancel();
  await settledDelivery(s, "order-9", "delivered");
  assert.equal(mock.received.length, 2);

  const replay = await s.request("/v1/events/order-9/replay", jsonInit({}, admin));
  assert.equal(replay.status, 202);
  await replay.body?.cancel();
  await until(() => mock.received.length >= 3, "the replayed send", 5000);
  assert.equal(mock.received.length, 3);

  const second = await connectPlatform(s, meta(other.url, "Other"));
  const forward = await s.request(
    "/v1/events/order-9/forward",
    jsonInit({ platforms: [second] }, admin),
  );
  assert.equal(forward.status, 202);
  await forward.body?.cancel();
  await deliveriesWhen(
    s,
    "order-9",
    (r) => r.find((x) => x.platform_id === second)?.status === "delivered",
  );
  assert.deepEqual(eventIdsIn(other), ["order-9"]);
  assert.equal(
    (await deliveriesOf(s, "order-9")).find((r) => r.platform_id === first)?.status,
    "delivered",
  );
  const unknown = await s.request(
    "/v1/events/order-9/forward",
    jsonInit({ platforms: ["dst_nope"] }, admin),
  );
  assert.equal(unknown.status, 400);
  await unknown.body?.cancel();
});

Deno.test("POST /v1/platforms refuses private endpoints unless SLUICE_ALLOW_PRIVATE_URLS=1", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name: "Meta",
      config: { pixel_id: "1", access_token: "t", endpoint: "http://127.0.0.1:9" },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.errors[0].path, "config.endpoint");
});

Deno.test("a webhook destination receives the event signed with the secret shown once", async () => {
  await using receiver = mockPlatform(() => new Response(null, { status: 204 }));
  await using s = await openTestSluice(DELIVERY_ENV);
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "webhook",
      name: "CRM",
      config: { url: `${receiver.url}/hook` },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201);
  const created = await res.json();
  assert.equal(created.config.secret, "********");
  const secret: string = created.generated_secrets.secret;
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/);
  const listed = await (await s.request("/v1/platforms", {
    headers: bearer(s.workspace.admin_key),
  })).text();
  assert.equal(listed.includes(secret.slice(6)), false, "secret never listed");

  await ingestEvent(s, purchase("hooked-1"));
  await settledDelivery(s, "hooked-1", "delivered");
  const [delivery] = receiver.received;
  assert.ok(delivery);
  const id = delivery.headers.get("webhook-id")!;
  const timestamp = delivery.headers.get("webhook-timestamp")!;
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(secret.slice(6)), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      key,
      new TextEncoder().encode(`${id}.${timestamp}.${delivery.text}`),
    ),
  );
  assert.equal(
    delivery.headers.get("webhook-signature"),
    `v1,${btoa(String.fromCharCode(...mac))}`,
  );
  assert.equal(JSON.parse(delivery.text).data.event_id, "hooked-1");
});

Deno.test("a send that times out is retried, and GET /v1/events filters by delivery status and platform", async () => {
  const stalled: ((r: Response) => void)[] = [];
  let first = true;
  await using mock = mockMeta(() => {
    if (!first) return undefined;
    first = false;
    return new Promise<Response>((resolve) => stalled.push(resolve));
  });
  await using s = await openTestSluice({ ...DELIVERY_ENV, SLUICE_DELIVERY_TIMEOUT: "300ms" });
  // Disposed first: the stalled request is answered, so neither Sluice nor the mock waits on it.
  using _release = {
    [Symbol.dispose]() {
      for (const resolve of stalled) resolve(new Response("late"));
    },
  };
  const admin = { headers: bearer(s.workspace.admin_key) };
  const id = await connectPlatform(s, meta(mock.url));
  await ingestEvent(s, purchase("slow-1"));
  const row = await settledDelivery(s, "slow-1", "delivered");
  assert.equal(row.attempts, 2);
  assert.deepEqual(eventIdsIn(mock), ["slow-1", "slow-1"]);
  const delivered = await (await s.request(`/v1/events?status=delivered&platform=${id}`, admin))
    .json();
  assert.deepEqual(delivered.data.map((e: { event_id: string }) => e.event_id), ["slow-1"]);
  const byType = await (await s.request("/v1/events?platform=meta", admin)).json();
  assert.equal(byType.data.length, 1);
  const failed = await (await s.request("/v1/events?status=failed", admin)).json();
  assert.deepEqual(failed.data, []);
});

Deno.test("POST /v1/platforms/:id/test sends in test mode and answers with what the platform said", async () => {
  await using metaMock = mockMeta(() => undefined);
  await using ga4 = mockMeta(() => Response.json({ validationMessages: [] }));
  await using s = await openTestSluice(DELIVERY_ENV);
  const metaId = await connectPlatform(s, {
    type: "meta",
    config: {
      pixel_id: "42",
      access_token: "tok",
      test_event_code: "TEST123",
      endpoint: metaMock.url,
    },
  });
  const tested = await testPlatform(s, metaId);
  assert.equal(tested.ok, true);
  assert.equal(tested.status, 200);
  assert.equal(metaMock.received[0]?.json?.test_event_code, "TEST123");

  const ga4Id = await connectPlatform(s, {
    type: "ga4",
    config: { measurement_id: "G-TEST", api_secret: "sec", endpoint: ga4.url },
  });
  const ga4Tested = await testPlatform(s, ga4Id);
  assert.equal(ga4Tested.ok, true, JSON.stringify(ga4Tested));
  assert.match(ga4.received[0]?.path ?? "", /^\/debug\/mp\/collect\?/);
});

Deno.test("delivery works the same over the kv-outbox queue adapter", async () => {
  await using mock = mockMeta((n) => n === 1 ? new Response("busy", { status: 503 }) : undefined);
  await using s = await openTestSluice({ ...DELIVERY_ENV, SLUICE_QUEUE: "kv-outbox" });
  assert.equal(s.rt.queue.kind, "kv-outbox");
  await connectPlatform(s, meta(mock.url));
  await ingestEvent(s, purchase("outbox-1"));
  const row = await settledDelivery(s, "outbox-1", "delivered");
  assert.equal(row.attempts, 2);
  assert.deepEqual(eventIdsIn(mock), ["outbox-1", "outbox-1"]);
});
