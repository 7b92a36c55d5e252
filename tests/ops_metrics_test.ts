import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import { awayFromMinuteEdge, bearer, jsonWith, patchSettings } from "./_http.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { connectMeta, ingest, parsePrometheus, sample, scrape, settled } from "./_observability.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";
import { eventually } from "./_wait.ts";
import { Metrics } from "../lib/metrics/metrics.ts";
import { outboxProbe } from "../lib/metrics/outbox_probe.ts";
import { KvOutbox } from "../lib/queue/kv_outbox.ts";

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms",
  SLUICE_WEBHOOK_RETRY_SCHEDULE: "100ms",
  SLUICE_DELIVERY_TIMEOUT: "2s",
};

const purchase = (eventId: string) => ({
  event_id: eventId,
  event_name: "purchase",
  value: 10,
  currency: "EUR",
  user_data: { email: "ada@example.com" },
});

Deno.test("GET /metrics counts a known workload exactly: ingest, commits, deliveries, retries, webhooks, limits, bots", async () => {
  // Meta refuses the first request that carries "retry-me" with a 500, then accepts it.
  let refused = false;
  await using meta = mockPlatform((_, request) => {
    if (!refused && request.text.includes("retry-me")) {
      refused = true;
      return new Response("{}", { status: 500 });
    }
    return undefined;
  }, () => Response.json({ events_received: 1, fbtrace_id: "t" }));
  await using receiver = webhookReceiver();
  await using s = await openTestSluice(ENV);
  await connectMeta(s, meta.url);
  const hook = await s.request(
    "/v1/webhooks",
    jsonInit({ url: receiver.url, events: ["conversion.created"] }, s.workspace.admin_key),
  );
  assert.equal(hook.status, 201);
  await hook.body?.cancel();

  // Four single events and a batch of one valid and one invalid event, each settled in turn.
  for (const id of ["m-1", "m-2", "m-3", "retry-me"]) {
    assert.equal(await ingest(s, purchase(id)), 202);
    await settled(s, id);
  }
  assert.equal(await ingest(s, { events: [purchase("m-5"), { event_name: 5 }] }), 202);
  await settled(s, "m-5");
  assert.equal(await ingest(s, purchase("m-1")), 409);
  await eventually("five webhooks", () => receiver.received.length === 5 || undefined);

  // A bot's browser requests are dropped; the third from its IP meets the per-IP limit.
  await patchSettings(s, { browser_rate_limit_per_minute: 2 });
  await awayFromMinuteEdge();
  const browser = (id: string) =>
    s.request(
      "/v1/browser/events",
      jsonWith({ public_id: s.workspace.public_id, event_name: "page_view", event_id: id }, {
        origin: "https://shop.example",
        "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)",
      }),
    );
  for (const [id, status] of [["b-1", 202], ["b-2", 202], ["b-3", 429]] as const) {
    const res = await browser(id);
    assert.equal(res.status, status);
    await res.body?.cancel();
  }

  const m = await eventually("the last webhook attempt counted", async () => {
    const samples = await scrape(s);
    return sample(samples, "sluice_webhook_attempts_total", { outcome: "delivered" }) === 5
      ? samples
      : undefined;
  });
  const route = "/v1/events";
  assert.equal(sample(m, "sluice_ingest_requests_total", { route, status: "202" }), 5);
  assert.equal(sample(m, "sluice_ingest_requests_total", { route, status: "409" }), 1);
  assert.equal(sample(m, "sluice_ingest_events_total", { route, status: "accepted" }), 5);
  assert.equal(sample(m, "sluice_ingest_events_total", { route, status: "duplicate" }), 1);
  assert.equal(sample(m, "sluice_ingest_events_total", { route, status: "rejected" }), 1);
  assert.equal(sample(m, "sluice_ingest_request_duration_seconds_count", { route }), 6);
  assert.equal(
    sample(m, "sluice_ingest_request_duration_seconds_bucket", { route, le: "+Inf" }),
    6,
  );
  assert.equal(sample(m, "sluice_group_commit_events_count"), 5);
  assert.equal(sample(m, "sluice_group_commit_events_sum"), 5);
  assert.equal(sample(m, "sluice_group_commit_duration_seconds_count"), 5);
  assert.equal(
    sample(m, "sluice_queue_messages_handled_total", { type: "ingested", outcome: "ok" }),
    5,
  );
  assert.equal(sample(m, "sluice_fanout_lag_seconds_count"), 5);
  assert.equal(sample(m, "sluice_deliveries_total", { type: "meta", outcome: "delivered" }), 5);
  assert.equal(sample(m, "sluice_deliveries_total", { type: "meta", outcome: "retrying" }), 1);
  assert.equal(sample(m, "sluice_delivery_retries_total", { type: "meta" }), 1);
  assert.equal(sample(m, "sluice_delivery_duration_seconds_count", { type: "meta" }), 6);
  assert.equal(meta.received.length, 6);
  assert.equal(sample(m, "sluice_webhook_duration_seconds_count"), 5);
  assert.equal(sample(m, "sluice_ingest_bot_dropped_events_total"), 2);
  assert.equal(sample(m, "sluice_rate_limit_rejections_total", { scope: "ip" }), 1);
  assert.equal(
    sample(m, "sluice_ingest_requests_total", { route: "/v1/browser/events", status: "429" }),
    1,
  );
  assert.equal(sample(m, "sluice_kv_commit_failures_total", { site: "group_commit" }), 0);
  // A request is counted once answered: the next scrape shows the last one.
  const scrapes = sample(m, "sluice_http_requests_total", {
    method: "GET",
    route: "/metrics",
    status: "200",
  });
  assert.equal(
    sample(await scrape(s), "sluice_http_requests_total", {
      method: "GET",
      route: "/metrics",
      status: "200",
    }),
    scrapes + 1,
  );
});

Deno.test("GET /metrics labels name route patterns, never ids, paths or URLs", async () => {
  await using s = await openTestSluice();
  for (const path of ["/v1/events/some-event-id", "/nope/ada@example.com"]) {
    const res = await s.request(path, { headers: bearer(s.workspace.admin_key) });
    await res.body?.cancel();
  }
  const m = await scrape(s);
  const keys = [...m.keys()].join("\n");
  assert.ok(keys.includes('route="/v1/events/:event_id"'), keys);
  assert.ok(keys.includes('route="unmatched"'), keys);
  assert.ok(!keys.includes("some-event-id"));
  assert.ok(!keys.includes("example.com"));
  assert.ok(!keys.includes(s.workspace.id));
});

Deno.test("GET /metrics asks for SLUICE_METRICS_TOKEN when it is set", async () => {
  const token = "metrics-token-0123456789";
  await using s = await openTestSluice({ SLUICE_METRICS_TOKEN: token });
  for (const headers of [{}, bearer("wrong-token"), bearer(s.workspace.admin_key)]) {
    const res = await s.request("/metrics", { headers });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    await res.body?.cancel();
  }
  const m = await scrape(s, token);
  assert.equal(
    sample(m, "sluice_http_requests_total", { method: "GET", route: "/metrics", status: "401" }),
    3,
  );
});

Deno.test("GET /metrics is open when SLUICE_METRICS_TOKEN is unset", async () => {
  await using s = await openTestSluice();
  const m = await scrape(s);
  assert.ok(m.has("sluice_ingest_bot_dropped_events_total"));
});

Deno.test("outboxProbe() reads the kv-outbox depth by state and the oldest due message's age", async () => {
  using kv = await Deno.openKv(":memory:");
  const outbox = new KvOutbox(kv);
  const message = {
    type: "ingested" as const,
    workspace_id: "ws_1",
    ids: ["01J0000000000000000000000"],
  };
  await outbox.enqueue(message);
  await outbox.enqueue(message);
  await outbox.enqueue(message, { delayMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 30));
  const metrics = new Metrics();
  metrics.addProbe(outboxProbe(kv, metrics));
  const m = parsePrometheus(await metrics.render());
  assert.equal(sample(m, "sluice_queue_depth", { state: "due" }), 2);
  assert.equal(sample(m, "sluice_queue_depth", { state: "scheduled" }), 1);
  assert.equal(sample(m, "sluice_queue_depth", { state: "leased" }), 0);
  assert.ok(sample(m, "sluice_queue_oldest_due_age_seconds") >= 0.02);
  assert.equal(sample(m, "sluice_queue_dead_letters"), 0);
});

Deno.test("a kv-outbox runtime exports the queue depth at /metrics", async () => {
  await using s = await openTestSluice({ SLUICE_QUEUE: "kv-outbox" });
  await s.rt.queue.enqueue(
    { type: "ingested", workspace_id: s.workspace.id, ids: [] },
    { delayMs: 3_600_000 },
  );
  const m = await scrape(s);
  assert.equal(sample(m, "sluice_queue_depth", { state: "scheduled" }), 1);
});
