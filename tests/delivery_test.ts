import assert from "node:assert/strict";
import { type MockPlatform, mockPlatform } from "./_mock_platform.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";

/** A mock Meta: answers from `script`, else 200 with events_received. */
function mockMeta(script: (n: number) => Response | Promise<Response> | undefined) {
  return mockPlatform(
    (n) => script(n),
    () => Response.json({ events_received: 1, fbtrace_id: "trace" }),
  );
}

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms,300ms",
  SLUICE_DELIVERY_TIMEOUT: "1s",
};

async function connectMeta(s: TestSluice, endpoint: string, name = "Meta"): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name,
      config: { pixel_id: "1234567890", access_token: "EAAB-token-secret", endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.access_token, "********");
  return body.id;
}

async function send(s: TestSluice, eventId: string): Promise<void> {
  const res = await s.request(
    "/v1/events",
    jsonInit({
      event_id: eventId,
      event_name: "Purchase",
      value: 20,
      currency: "EUR",
      action_source: "website",
      page: { url: "https://shop.example/thanks" },
      user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
    }, s.workspace.ingest_key),
  );
  assert.equal(res.status, 202, await res.clone().text());
  await res.body?.cancel();
}

interface DeliveryJson {
  platform_id: string;
  status: string;
  attempts: number;
  last_status?: number;
  last_error?: string;
}

async function deliveries(s: TestSluice, eventId: string): Promise<DeliveryJson[]> {
  const res = await s.request(`/v1/events/${eventId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).deliveries;
}

async function waitFor(
  s: TestSluice,
  eventId: string,
  done: (rows: DeliveryJson[]) => boolean,
  timeoutMs = 8_000,
): Promise<DeliveryJson[]> {
  const until = Date.now() + timeoutMs;
  let rows: DeliveryJson[] = [];
  while (Date.now() < until) {
    rows = await deliveries(s, eventId);
    if (done(rows)) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${eventId}: ${JSON.stringify(rows)}`);
}

function eventIdsIn(mock: MockPlatform): string[] {
  return mock.received.flatMap((r) =>
    (((r.json as { data?: unknown[] })?.data ?? []) as { event_id: string }[]).map((e) =>
      e.event_id
    )
  );
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
  await using s = await openTestSluice(ENV);
  const destination = await connectMeta(s, mock.url);
  await send(s, "order-1");
  const [row] = await waitFor(s, "order-1", (r) => r[0]?.status === "delivered");
  assert.equal(row?.platform_id, destination);
  assert.equal(row?.attempts, 3);
  assert.equal(row?.last_status, 200);
  assert.deepEqual(eventIdsIn(mock), ["order-1", "order-1", "order-1"]);
  assert.match(
    mock.received[0]!.path,
    /^\/v\d+\.\d+\/1234567890\/events\?access_token=EAAB-token-secret$/,
  );
  await new Promise((r) => setTimeout(r, 500));
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
  await using s = await openTestSluice(ENV);
  await connectMeta(s, invalid.url, "Meta invalid");
  const authId = await connectMeta(s, auth.url, "Meta auth");
  await send(s, "order-2");
  const rows = await waitFor(
    s,
    "order-2",
    (r) => r.length === 2 && r.every((x) => x.status === "failed"),
  );
  assert.ok(rows.every((r) => r.attempts === 1), JSON.stringify(rows));
  assert.equal(invalid.received.length, 1);
  assert.equal(auth.received.length, 1);
  const platform = await (await s.request(`/v1/platforms/${authId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  })).json();
  assert.equal(platform.health.status, "unhealthy");
  await send(s, "order-3");
  const paused = await waitFor(
    s,
    "order-3",
    (r) => r.length === 2 && r.some((x) => x.status === "skipped"),
  );
  assert.match(paused.find((r) => r.platform_id === authId)?.last_error ?? "", /paused/);
});

Deno.test("a platform that never answers does not delay another platform's deliveries", async () => {
  const hanging: ((r: Response) => void)[] = [];
  let hang = true;
  const slow = mockMeta(() =>
    hang
      ? new Promise<Response>((resolve) => hanging.push(resolve))
      : new Response("", { status: 500 })
  );
  const fast = mockMeta(() => undefined);
  const s = await openTestSluice(ENV);
  try {
    await connectMeta(s, slow.url, "Slow");
    const fastId = await connectMeta(s, fast.url, "Fast");
    const started = Date.now();
    for (let i = 0; i < 5; i++) await send(s, `iso-${i}`);
    for (let i = 0; i < 5; i++) {
      await waitFor(
        s,
        `iso-${i}`,
        (r) => r.find((x) => x.platform_id === fastId)?.status === "delivered",
      );
    }
    assert.ok(Date.now() - started < 900, `fast deliveries took ${Date.now() - started} ms`);
  } finally {
    hang = false;
    for (const resolve of hanging) resolve(new Response("late", { status: 500 }));
    await s.close();
    for (const resolve of hanging) resolve(new Response("late", { status: 500 }));
    await slow.close();
    await fast.close();
  }
});

Deno.test("replay, forward and retry-failed send an event again", async () => {
  let failing = true;
  await using mock = mockMeta(() =>
    failing
      ? Response.json({ error: { code: 100, message: "Invalid parameter" } }, { status: 400 })
      : undefined
  );
  await using other = mockMeta(() => undefined);
  await using s = await openTestSluice(ENV);
  const admin = s.workspace.admin_key;
  const first = await connectMeta(s, mock.url);
  await send(s, "order-9");
  await waitFor(s, "order-9", (r) => r[0]?.status === "failed");
  failing = false;
  const retry = await s.request("/v1/events/order-9/retry-failed", jsonInit({}, admin));
  assert.equal(retry.status, 202);
  await retry.body?.cancel();
  await waitFor(s, "order-9", (r) => r[0]?.status === "delivered");
  assert.equal(mock.received.length, 2);

  const replay = await s.request("/v1/events/order-9/replay", jsonInit({}, admin));
  assert.equal(replay.status, 202);
  await replay.body?.cancel();
  const until = Date.now() + 5000;
  while (mock.received.length < 3 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(mock.received.length, 3);

  const second = await connectMeta(s, other.url, "Other");
  const forward = await s.request(
    "/v1/events/order-9/forward",
    jsonInit({ platforms: [second] }, admin),
  );
  assert.equal(forward.status, 202);
  await forward.body?.cancel();
  await waitFor(
    s,
    "order-9",
    (r) => r.find((x) => x.platform_id === second)?.status === "delivered",
  );
  assert.deepEqual(eventIdsIn(other), ["order-9"]);
  assert.equal(
    (await deliveries(s, "order-9")).find((r) => r.platform_id === first)?.status,
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
  const received: { headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ headers: req.headers, body: await req.text() });
    return new Response(null, { status: 204 });
  });
  const s = await openTestSluice(ENV);
  try {
    const res = await s.request(
      "/v1/platforms",
      jsonInit({
        type: "webhook",
        name: "CRM",
        config: { url: `http://127.0.0.1:${server.addr.port}/hook` },
      }, s.workspace.admin_key),
    );
    assert.equal(res.status, 201);
    const created = await res.json();
    assert.equal(created.config.secret, "********");
    const secret: string = created.generated_secrets.secret;
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/);
    const listed = await (await s.request("/v1/platforms", {
      headers: { authorization: `Bearer ${s.workspace.admin_key}` },
    })).text();
    assert.equal(listed.includes(secret.slice(6)), false, "secret never listed");

    await send(s, "hooked-1");
    await waitFor(s, "hooked-1", (r) => r[0]?.status === "delivered");
    const [delivery] = received;
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
        new TextEncoder().encode(`${id}.${timestamp}.${delivery.body}`),
      ),
    );
    assert.equal(
      delivery.headers.get("webhook-signature"),
      `v1,${btoa(String.fromCharCode(...mac))}`,
    );
    assert.equal(JSON.parse(delivery.body).data.event_id, "hooked-1");
  } finally {
    await s.close();
    await server.shutdown();
  }
});

Deno.test("a send that times out is retried, and GET /v1/events filters by delivery status and platform", async () => {
  const stalled: ((r: Response) => void)[] = [];
  let first = true;
  const mock = mockMeta(() => {
    if (!first) return undefined;
    first = false;
    return new Promise<Response>((resolve) => stalled.push(resolve));
  });
  const s = await openTestSluice({ ...ENV, SLUICE_DELIVERY_TIMEOUT: "300ms" });
  const admin = { headers: { authorization: `Bearer ${s.workspace.admin_key}` } };
  try {
    const id = await connectMeta(s, mock.url);
    await send(s, "slow-1");
    const [row] = await waitFor(s, "slow-1", (r) => r[0]?.status === "delivered");
    assert.equal(row?.attempts, 2);
    assert.deepEqual(eventIdsIn(mock), ["slow-1", "slow-1"]);
    const delivered = await (await s.request(`/v1/events?status=delivered&platform=${id}`, admin))
      .json();
    assert.deepEqual(delivered.data.map((e: { event_id: string }) => e.event_id), ["slow-1"]);
    const byType = await (await s.request("/v1/events?platform=meta", admin)).json();
    assert.equal(byType.data.length, 1);
    const failed = await (await s.request("/v1/events?status=failed", admin)).json();
    assert.deepEqual(failed.data, []);
  } finally {
    for (const resolve of stalled) resolve(new Response("late"));
    await s.close();
    await mock.close();
  }
});

Deno.test("POST /v1/platforms/:id/test sends in test mode and answers with what the platform said", async () => {
  await using meta = mockMeta(() => undefined);
  await using ga4 = mockMeta(() => Response.json({ validationMessages: [] }));
  await using s = await openTestSluice(ENV);
  const admin = s.workspace.admin_key;
  const metaRes = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name: "Meta",
      config: {
        pixel_id: "42",
        access_token: "tok",
        test_event_code: "TEST123",
        endpoint: meta.url,
      },
    }, admin),
  );
  const metaId = (await metaRes.json()).id;
  const tested = await (await s.request(`/v1/platforms/${metaId}/test`, jsonInit({}, admin)))
    .json();
  assert.equal(tested.ok, true);
  assert.equal(tested.status, 200);
  assert.equal((meta.received[0]?.json as Record<string, unknown>)?.test_event_code, "TEST123");

  const ga4Res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "ga4",
      name: "GA4",
      config: { measurement_id: "G-TEST", api_secret: "sec", endpoint: ga4.url },
    }, admin),
  );
  assert.equal(ga4Res.status, 201);
  const ga4Id = (await ga4Res.json()).id;
  const ga4Tested = await (await s.request(`/v1/platforms/${ga4Id}/test`, jsonInit({}, admin)))
    .json();
  assert.equal(ga4Tested.ok, true, JSON.stringify(ga4Tested));
  assert.match(ga4.received[0]?.path ?? "", /^\/debug\/mp\/collect\?/);
});

Deno.test("delivery works the same over the kv-outbox queue adapter", async () => {
  await using mock = mockMeta((n) => n === 1 ? new Response("busy", { status: 503 }) : undefined);
  await using s = await openTestSluice({ ...ENV, SLUICE_QUEUE: "kv-outbox" });
  assert.equal(s.rt.queue.kind, "kv-outbox");
  await connectMeta(s, mock.url);
  await send(s, "outbox-1");
  const [row] = await waitFor(s, "outbox-1", (r) => r[0]?.status === "delivered");
  assert.equal(row?.attempts, 2);
  assert.deepEqual(eventIdsIn(mock), ["outbox-1", "outbox-1"]);
});
