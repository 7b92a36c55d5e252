import assert from "node:assert/strict";
import { bearer, expectJson } from "./_http.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { connectPlatform, DELIVERY_ENV, ingestEvent } from "./_delivery.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { type ReceivedWebhook, signedWith, webhookReceiver } from "./_webhook_receiver.ts";
import { eventually, pause } from "./_wait.ts";

const ENV = {
  ...DELIVERY_ENV,
  SLUICE_WEBHOOK_RETRY_SCHEDULE: "100ms,150ms,200ms",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,150ms",
};

interface HookJson {
  id: string;
  secret: string;
}

async function createHook(s: TestSluice, url: string, events?: string[]): Promise<HookJson> {
  const res = await s.request(
    "/v1/webhooks",
    jsonInit({ url, ...(events ? { events } : {}) }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

const purchase = (eventId: string) => ({
  event_id: eventId,
  event_name: "Purchase",
  value: 49.5,
  currency: "EUR",
  user_data: { email: "ada@example.com" },
});

/** One entry of a webhook's delivery log. */
interface HookDeliveryJson {
  id: string;
  message_id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status?: number;
  last_error?: string;
  attempt_log: { attempt: number; status?: number; latency_ms: number; response: string }[];
}

async function hookDeliveries(
  s: TestSluice,
  hookId: string,
  query = "",
): Promise<HookDeliveryJson[]> {
  const res = await s.request(`/v1/webhooks/${hookId}/deliveries${query}`, {
    headers: bearer(s.workspace.admin_key),
  });
  assert.equal(res.status, 200);
  return (await res.json()).data;
}

/** The answer to `POST /v1/webhooks/:id/rotate-secret`. */
interface RotatedJson {
  secret: string;
  previous_secret_expires_at: string;
}

/** Rotates a webhook's secret (asserting 200); the old one keeps signing beside the new. */
async function rotateSecret(s: TestSluice, hookId: string): Promise<RotatedJson> {
  const res = await s.request(
    `/v1/webhooks/${hookId}/rotate-secret`,
    jsonInit({}, s.workspace.admin_key),
  );
  return await expectJson<RotatedJson>(res, 200);
}

async function hook(s: TestSluice, hookId: string) {
  const res = await s.request(`/v1/webhooks/${hookId}`, {
    headers: bearer(s.workspace.admin_key),
  });
  assert.equal(res.status, 200);
  return await res.json();
}

function connectMeta(s: TestSluice, endpoint: string): Promise<string> {
  return connectPlatform(s, {
    type: "meta",
    name: "Meta",
    config: { pixel_id: "1234567890", access_token: "EAAB-token", endpoint },
  });
}

/** A mock Meta answering from `script`, else 200. */
function mockMeta(script: () => Response | undefined) {
  return mockPlatform(script, () => Response.json({ events_received: 1, fbtrace_id: "t" }));
}

for (const queue of ["kv-queue", "kv-outbox"]) {
  Deno.test(`conversion.created (${queue}): signed, retried with the same id and body, then delivered; every attempt logged`, async () => {
    await using receiver = webhookReceiver((n) =>
      n === 1
        ? new Response("receiver is down", { status: 500 })
        : n === 2
        ? new Response("busy", { status: 503, headers: { "retry-after": "0" } })
        : new Response("thanks", { status: 200 })
    );
    await using s = await openTestSluice({ ...ENV, SLUICE_QUEUE: queue });
    const created = await createHook(s, receiver.url);
    await ingestEvent(s, purchase("order-1"));
    await ingestEvent(s, { event_id: "pv-1", event_name: "page_view" });

    const [delivery] = await eventually("the delivery to succeed", async () => {
      const list = await hookDeliveries(s, created.id);
      return list[0]?.status === "delivered" ? list : undefined;
    });
    assert.equal(receiver.received.length, 3);
    const ids = new Set(receiver.received.map((r) => r.id));
    assert.equal(ids.size, 1, "the same webhook-id on every attempt");
    assert.match([...ids][0]!, /^msg_[0-9A-Z]{26}$/);
    assert.equal(new Set(receiver.received.map((r) => r.body)).size, 1, "the same body");
    for (const request of receiver.received) {
      assert.ok(await signedWith(created.secret, request), "signature verifies");
      assert.ok(Math.abs(request.timestamp - Date.now() / 1000) < 30);
    }
    const body = receiver.received[0]!.json;
    assert.equal(body.type, "conversion.created");
    assert.equal(body.id, delivery!.message_id);
    assert.equal(body.workspace_id, s.workspace.id);
    assert.equal(body.data.event_id, "order-1");
    assert.equal(body.data.event_name, "purchase");
    assert.equal(body.data.value, 49.5);
    assert.equal(body.data.user_data.email, "ada@example.com");

    assert.equal(delivery!.event_type, "conversion.created");
    assert.equal(delivery!.attempts, 3);
    assert.deepEqual(delivery!.attempt_log.map((a) => [a.attempt, a.status, a.response]), [
      [1, 500, "receiver is down"],
      [2, 503, "busy"],
      [3, 200, "thanks"],
    ]);
    assert.ok(delivery!.attempt_log.every((a) => a.latency_ms >= 0));
    assert.equal(delivery!.last_error, undefined);
    // The page view raised nothing: event.received is opt-in.
    assert.equal((await hookDeliveries(s, created.id)).length, 1);
    assert.equal((await hook(s, created.id)).status, "active");
  });
}

Deno.test("lead.created and the opt-in event.received reach only webhooks that name them", async () => {
  await using everything = webhookReceiver();
  await using leads = webhookReceiver();
  await using s = await openTestSluice(ENV);
  await createHook(s, everything.url, ["event.received"]);
  await createHook(s, leads.url, ["lead.created"]);
  await ingestEvent(s, { event_id: "lead-1", event_name: "generate_lead" });
  await ingestEvent(s, { event_id: "pv-1", event_name: "page_view" });
  await ingestEvent(s, purchase("order-2"));

  await eventually("three event.received", () => everything.received.length === 3 || undefined);
  await eventually("one lead.created", () => leads.received.length === 1 || undefined);
  await pause(200);
  assert.deepEqual(
    everything.received.map((r) => [r.json.type, r.json.data.event_id]).sort(),
    [["event.received", "lead-1"], ["event.received", "order-2"], [
      "event.received",
      "pv-1",
    ]],
  );
  assert.equal(leads.received.length, 1);
  assert.equal(leads.received[0]!.json.type, "lead.created");
  assert.equal(leads.received[0]!.json.data.event_name, "lead");
});

Deno.test("delivery.failed, delivery.recovered and platform.unhealthy report what platforms said", async () => {
  await using receiver = webhookReceiver();
  let mode = "ok";
  let calls = 0;
  await using meta = mockMeta(() => {
    calls++;
    if (mode === "invalid") {
      return Response.json({ error: { code: 100, message: "Invalid parameter" } }, {
        status: 400,
      });
    }
    if (mode === "flaky" && calls % 2 === 1) return new Response("oops", { status: 500 });
    if (mode === "token") {
      return Response.json({ error: { code: 190, message: "Invalid OAuth access token" } }, {
        status: 401,
      });
    }
    return undefined;
  });
  await using s = await openTestSluice(ENV);
  await createHook(s, receiver.url, [
    "delivery.failed",
    "delivery.recovered",
    "platform.unhealthy",
  ]);
  const platformId = await connectMeta(s, meta.url);

  mode = "invalid";
  await ingestEvent(s, purchase("order-bad"));
  const failed = await eventually(
    "delivery.failed",
    () => receiver.ofType("delivery.failed")[0],
  );
  assert.deepEqual(failed.json.data.platform, { id: platformId, type: "meta", name: "Meta" });
  assert.match(failed.json.data.reason, /Invalid parameter/);
  assert.equal(failed.json.data.attempts, 1);
  assert.equal(failed.json.data.last_status, 400);
  assert.deepEqual(
    failed.json.data.events.map((e: { event_id: string; value: number }) => [
      e.event_id,
      e.value,
    ]),
    [["order-bad", 49.5]],
  );

  mode = "flaky";
  calls = 0;
  await ingestEvent(s, purchase("order-flaky"));
  const recovered = await eventually(
    "delivery.recovered",
    () => receiver.ofType("delivery.recovered")[0],
  );
  assert.equal(recovered.json.data.attempts, 2);
  assert.deepEqual(recovered.json.data.events.map((e: { event_id: string }) => e.event_id), [
    "order-flaky",
  ]);

  mode = "token";
  await ingestEvent(s, purchase("order-token"));
  const unhealthy = await eventually(
    "platform.unhealthy",
    () => receiver.ofType("platform.unhealthy")[0],
  );
  assert.equal(unhealthy.json.data.platform.id, platformId);
  assert.match(unhealthy.json.data.reason, /auth failed/);
  assert.ok(Date.parse(unhealthy.json.data.since) > 0);
  await eventually(
    "the second delivery.failed",
    () => receiver.ofType("delivery.failed").length === 2 || undefined,
  );
  await pause(200);
  assert.equal(receiver.ofType("platform.unhealthy").length, 1);
  for (const request of receiver.received) {
    assert.equal(receiver.received.filter((r) => r.id === request.id).length, 1);
  }
});

Deno.test("rotate-secret: messages carry both signatures during the overlap", async () => {
  await using receiver = webhookReceiver();
  await using s = await openTestSluice(ENV);
  const created = await createHook(s, receiver.url);
  const rotated = await rotateSecret(s, created.id);
  await ingestEvent(s, purchase("order-r"));
  const request = await eventually("a message", () => receiver.received[0]);
  assert.equal(request.signature.split(" ").length, 2);
  assert.ok(await signedWith(rotated.secret, request), "new secret verifies");
  assert.ok(await signedWith(created.secret, request), "old secret verifies");
  assert.equal(await signedWith("whsec_" + btoa("x".repeat(32)), request), false);
});

Deno.test("a webhook failing every send past SLUICE_WEBHOOK_DISABLE_AFTER is disabled; the others hear webhook.disabled", async () => {
  await using broken = webhookReceiver(() => new Response("nope", { status: 500 }));
  await using watcher = webhookReceiver();
  await using s = await openTestSluice({ ...ENV, SLUICE_WEBHOOK_DISABLE_AFTER: "300ms" });
  const bad = await createHook(s, broken.url);
  const watching = await createHook(s, watcher.url, ["webhook.disabled"]);
  await ingestEvent(s, purchase("order-d1"));
  await eventually("the failure streak", async () => {
    const shown = await hook(s, bad.id);
    return shown.status === "failing" ? shown : undefined;
  });
  // Retries keep failing past 300 ms; the attempt that crosses it disables the webhook.
  const disabled = await eventually("the webhook to be disabled", async () => {
    const shown = await hook(s, bad.id);
    return shown.status === "disabled" ? shown : undefined;
  });
  assert.equal(disabled.enabled, false);
  assert.match(disabled.disabled_reason, /every send failed for/);
  const notice = await eventually("webhook.disabled", () => watcher.received[0]);
  assert.equal(notice.json.type, "webhook.disabled");
  assert.deepEqual(notice.json.data.webhook, { id: bad.id, url: broken.url });
  assert.equal(notice.json.data.disabled_at, disabled.disabled_at);
  assert.ok(await signedWith(watching.secret, notice));
  assert.equal(broken.ofType("webhook.disabled").length, 0, "not sent to itself");

  const sent = broken.received.length;
  await ingestEvent(s, purchase("order-d2"));
  await pause(400);
  assert.equal(broken.received.length, sent, "nothing more is sent to a disabled webhook");
  const redeliver = await s.request(
    `/v1/webhooks/${bad.id}/deliveries/${(await hookDeliveries(s, bad.id))[0]!.id}/redeliver`,
    jsonInit({}, s.workspace.admin_key),
  );
  assert.equal(redeliver.status, 422);

  const enabled = await s.request(
    `/v1/webhooks/${bad.id}`,
    jsonInit({ enabled: true }, s.workspace.admin_key, "PATCH"),
  );
  const shown = await enabled.json();
  assert.equal(shown.status, "active");
  assert.equal(shown.disabled_reason, undefined);
});

Deno.test("POST /v1/webhooks/:id/test pings and answers with what the receiver said", async () => {
  await using receiver = webhookReceiver((n) =>
    n === 1 ? new Response("pong", { status: 200 }) : new Response("teapot", { status: 418 })
  );
  await using s = await openTestSluice(ENV);
  const created = await createHook(s, receiver.url);
  const ping = async () =>
    await (await s.request(
      `/v1/webhooks/${created.id}/test`,
      jsonInit({}, s.workspace.admin_key),
    )).json();
  const ok = await ping();
  assert.equal(ok.delivered, true);
  assert.equal(ok.status, 200);
  assert.equal(ok.response, "pong");
  const request = receiver.received[0]!;
  assert.equal(request.json.type, "webhook.test");
  assert.equal(request.json.data.webhook_id, created.id);
  assert.equal(request.id, ok.message_id);
  assert.ok(await signedWith(created.secret, request));

  const refused = await ping();
  assert.equal(refused.delivered, false);
  assert.equal(refused.status, 418);
  assert.equal(refused.response, "teapot");
  assert.equal(refused.error, "HTTP 418");
  const log = await hookDeliveries(s, created.id);
  assert.deepEqual(log.map((d) => [d.event_type, d.status]), [
    ["webhook.test", "failed"],
    ["webhook.test", "delivered"],
  ]);
});

Deno.test("redeliver resends the same message id; the log filters by status and pages with a cursor", async () => {
  await using receiver = webhookReceiver();
  await using s = await openTestSluice(ENV);
  const created = await createHook(s, receiver.url);
  for (const n of [1, 2, 3]) await ingestEvent(s, purchase(`order-p${n}`));
  await eventually("three deliveries", async () => {
    const list = await hookDeliveries(s, created.id, "?status=delivered");
    return list.length === 3 ? list : undefined;
  });

  const first = await s.request(`/v1/webhooks/${created.id}/deliveries?limit=2`, {
    headers: bearer(s.workspace.admin_key),
  });
  const page1 = await first.json();
  assert.equal(page1.data.length, 2);
  assert.ok(page1.next_cursor);
  const page2 = await (await s.request(
    `/v1/webhooks/${created.id}/deliveries?limit=2&cursor=${encodeURIComponent(page1.next_cursor)}`,
    { headers: bearer(s.workspace.admin_key) },
  )).json();
  assert.equal(page2.data.length, 1);
  const all = [...page1.data, ...page2.data].map((d: HookDeliveryJson) => d.id);
  assert.equal(new Set(all).size, 3);
  assert.deepEqual(all, [...all].sort().reverse(), "newest first");
  assert.deepEqual(await hookDeliveries(s, created.id, "?status=failed"), []);
  const badCursor = await s.request(`/v1/webhooks/${created.id}/deliveries?cursor=zzz`, {
    headers: bearer(s.workspace.admin_key),
  });
  assert.equal(badCursor.status, 400);

  const target = page2.data[0] as HookDeliveryJson;
  const res = await s.request(
    `/v1/webhooks/${created.id}/deliveries/${target.id}/redeliver`,
    jsonInit({}, s.workspace.admin_key),
  );
  assert.equal(res.status, 202);
  assert.equal((await res.json()).status, "pending");
  const again = await eventually("the redelivery", async () => {
    const one = await (await s.request(
      `/v1/webhooks/${created.id}/deliveries/${target.id}`,
      { headers: bearer(s.workspace.admin_key) },
    )).json();
    return one.status === "delivered" && one.attempts === 2 ? one : undefined;
  });
  assert.equal(again.attempt_log.length, 2);
  const sameId = receiver.received.filter((r: ReceivedWebhook) => r.id === target.message_id);
  assert.equal(sameId.length, 2);
  assert.equal(sameId[0]!.body, sameId[1]!.body);
  const missing = await s.request(
    `/v1/webhooks/${created.id}/deliveries/01ABCDEFGHJKMNPQRSTVWXYZ00/redeliver`,
    jsonInit({}, s.workspace.admin_key),
  );
  assert.equal(missing.status, 404);
});

Deno.test("the SSRF guard refuses at send time too: a delivery to a private address fails at once, with no traffic", async () => {
  await using receiver = webhookReceiver();
  // Private URLs refused: the webhook is stored directly, as if DNS changed after registration.
  await using s = await openTestSluice({ SLUICE_WEBHOOK_RETRY_SCHEDULE: "100ms" });
  const { webhook } = await s.rt.webhooks.create(s.workspace.id, {
    url: receiver.url.replace("http:", "https:"),
    events: ["conversion.created"],
    description: "",
    enabled: true,
  });
  await ingestEvent(s, purchase("order-ssrf"));
  const [delivery] = await eventually("the refusal", async () => {
    const list = await hookDeliveries(s, webhook.id);
    return list[0]?.status === "failed" ? list : undefined;
  });
  assert.equal(delivery!.attempts, 1, "a refused URL is not retried");
  assert.match(delivery!.last_error!, /loopback|private|not allowed|refused/i);
  assert.equal(receiver.received.length, 0);
});

Deno.test("webhook secrets never appear in API answers or logs", async () => {
  await using receiver = webhookReceiver(() => new Response("no", { status: 500 }));
  const output: string[] = [];
  const originals = { ...console };
  using _restore = { [Symbol.dispose]: () => Object.assign(console, originals) };
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) => output.push(args.map(String).join(" "));
  }
  await using s = await openTestSluice(ENV);
  const created = await createHook(s, receiver.url);
  const rotated = await rotateSecret(s, created.id);
  await ingestEvent(s, purchase("order-s"));
  await eventually("a failed attempt", () => receiver.received[0]);
  await s.request(`/v1/webhooks/${created.id}/test`, jsonInit({}, s.workspace.admin_key));
  const answers = await Promise.all(
    [
      "/v1/webhooks",
      `/v1/webhooks/${created.id}`,
      `/v1/webhooks/${created.id}/deliveries`,
    ].map(async (path) =>
      await (await s.request(path, { headers: bearer(s.workspace.admin_key) })).text()
    ),
  );
  for (const secret of [created.secret, rotated.secret]) {
    const key = secret.slice("whsec_".length);
    for (const text of [...answers, ...output]) assert.ok(!text.includes(key), text);
  }
});
