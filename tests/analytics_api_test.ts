/**
 * The analytics API end to end: events ingested over HTTP (server and browser), delivered
 * to two loopback Meta mocks (one always accepts; one refuses half the events and answers
 * one 500 that is retried), a replay, duplicates and a rejected event; every report is then
 * checked against numbers worked out by hand below.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, expectJson, expectProblem, jsonWith } from "./_http.ts";
import { mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms",
  SLUICE_DELIVERY_TIMEOUT: "2s",
};
const ORIGIN = "https://shop.example";
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
const SHOP = "https://shop.example/p";
/** The flaky destination refuses these events (Meta code 100), half of what it is sent. */
const FLAKY_FAILS = new Set(["e1", "e3", "e5", "p1"]);

type Json = Record<string, unknown>;

function eventIds(request: ReceivedRequest): string[] {
  const data = (request.json as { data?: { event_id: string }[] } | undefined)?.data ?? [];
  return data.map((event) => event.event_id);
}

async function connect(s: TestSluice, name: string, endpoint: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit(
      { type: "meta", name, config: { pixel_id: "42", access_token: "t", endpoint } },
      s.workspace.admin_key,
    ),
  );
  return (await expectJson<{ id: string }>(res, 201)).id;
}

interface DeliveryJson {
  status: string;
}

/** Waits until the event has a settled row at both destinations. */
async function settled(s: TestSluice, eventId: string): Promise<void> {
  await eventually(`the deliveries of ${eventId}`, async () => {
    const res = await s.request(`/v1/events/${eventId}`, {
      headers: bearer(s.workspace.admin_key),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const rows = (await res.json() as { deliveries: DeliveryJson[] }).deliveries;
    const done = rows.length === 2 &&
      rows.every((r) => ["delivered", "failed", "skipped"].includes(r.status));
    return done || undefined;
  }, 10_000);
}

/** A server event, sent and answered 202, then waited for until delivered or refused. */
async function server(s: TestSluice, event: Json): Promise<void> {
  const res = await s.request("/v1/events", jsonInit(event, s.workspace.ingest_key));
  await expectJson(res, 202);
  await settled(s, String(event.event_id));
}

async function browser(s: TestSluice, event: Json): Promise<void> {
  const res = await s.request(
    "/v1/browser/events",
    jsonWith({ public_id: s.workspace.public_id, ...event }, {
      origin: ORIGIN,
      "user-agent": CHROME,
    }),
    "198.51.100.7",
  );
  await expectJson(res, 202);
  await settled(s, String(event.event_id));
}

const who = (visitor: string, extra: Json = {}) => ({
  anonymous_id: visitor,
  email: `${visitor}@example.com`,
  client_ip: "203.0.113.1",
  user_agent: "UA",
  ...extra,
});

async function report<T = Json>(s: TestSluice, path: string): Promise<T> {
  return await expectJson<T>(
    await s.request(`/v1/analytics/${path}`, { headers: bearer(s.workspace.admin_key) }),
    200,
  );
}

/** The scenario; the expected numbers of every step below follow from it. */
async function seed(s: TestSluice, meta: string, flaky: string): Promise<void> {
  // v1 lands from a Meta ad with a newsletter UTM, comes back through Google, buys order A.
  await server(s, {
    event_id: "e1",
    event_name: "PageView",
    page: { url: `${SHOP}?utm_source=Newsletter&fbclid=FB1` },
    user_data: who("v1"),
  });
  await server(s, {
    event_id: "e2",
    event_name: "add_to_cart",
    page: { url: `${SHOP}?utm_source=google&gclid=G2` },
    user_data: who("v1"),
  });
  await server(s, {
    event_id: "e3",
    event_name: "purchase",
    order_id: "A",
    value: 10.5,
    currency: "EUR",
    page: { url: SHOP },
    user_data: who("v1", { phone: "+1 650 555 1212" }),
  });
  // v2 buys order B in yen with no touch; the flaky platform answers 500 once first.
  await server(s, {
    event_id: "e4",
    event_name: "purchase",
    order_id: "B",
    value: 1000,
    currency: "JPY",
    page: { url: SHOP },
    user_data: who("v2"),
  });
  // v3 buys order C in dollars straight from a Google click.
  await server(s, {
    event_id: "e5",
    event_name: "purchase",
    order_id: "C",
    value: 20,
    currency: "USD",
    page: { url: `${SHOP}?gclid=G5` },
    user_data: who("v3"),
  });
  // A website event without a page URL: Meta's connector skips it (validation).
  await server(s, {
    event_id: "e6",
    event_name: "page_view",
    action_source: "website",
    user_data: who("v2"),
  });
  // Order D without ad consent: skipped for both Meta destinations.
  await server(s, {
    event_id: "e7",
    event_name: "purchase",
    order_id: "D",
    value: 5,
    currency: "EUR",
    page: { url: SHOP },
    consent: { ad_user_data: "denied" },
    user_data: who("v5"),
  });
  // Replayed: every count stays as it was.
  await expectJson(
    await s.request("/v1/events/e3/replay", {
      method: "POST",
      headers: bearer(s.workspace.admin_key),
    }),
    202,
  );
  await settled(s, "e3");
  // The same event id again from the same side: a duplicate, not a pair.
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: "e1", event_name: "page_view" }, s.workspace.ingest_key),
    ),
    409,
  );
  // A browser lead, then the server's copy of it: a merged browser → server pair.
  await browser(s, {
    event_id: "p1",
    event_name: "lead",
    page: { url: SHOP },
    user_data: { anonymous_id: "v4", email: "v4@example.com" },
  });
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: "p1", event_name: "lead" }, s.workspace.ingest_key),
    ),
    409,
  );
  // The browser's copy of order A under its own event id: a mismatched pair, sent again.
  await browser(s, {
    event_id: "b-A",
    event_name: "purchase",
    order_id: "A",
    value: 10.5,
    currency: "EUR",
    page: { url: SHOP },
    user_data: { anonymous_id: "v1", email: "v1@example.com" },
  });
  // Refused at ingest for its currency.
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_id: "bad", event_name: "purchase", value: 1, currency: "EURO" },
        s.workspace.ingest_key,
      ),
    ),
    400,
  );
  // Duplicates and rejections are counted with the next commit or within a second.
  await eventually("the duplicate and rejected counters", async () => {
    const o = await report<{ duplicates: { value: number }; rejected: { value: number } }>(
      s,
      "overview?range=24h",
    );
    return (o.duplicates.value === 2 && o.rejected.value === 1) || undefined;
  }, 5_000);
  assert.ok(meta && flaky);
}

Deno.test("GET /v1/analytics/* answer the hand-computed figures of a seeded workspace", async (t) => {
  await using metaMock = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  let busyOnce = false;
  await using flakyMock = mockPlatform((_, request) => {
    const ids = eventIds(request);
    if (ids.includes("e4") && !busyOnce) {
      busyOnce = true;
      return new Response("busy", { status: 500 });
    }
    if (ids.some((id) => FLAKY_FAILS.has(id))) {
      return Response.json({ error: { code: 100, message: "Invalid parameter" } }, { status: 400 });
    }
    return undefined;
  }, () => Response.json({ events_received: 1 }));
  await using s = await openTestSluice(ENV);
  const meta = await connect(s, "Meta", metaMock.url);
  const flaky = await connect(s, "Flaky", flakyMock.url);
  await seed(s, meta, flaky);

  await t.step("overview: events, deliveries, revenue once per order, destinations", async () => {
    const o = await report<
      Json & {
        deliveries: Json;
        revenue: Json[];
        active_destinations: { count: number; ids: string[] };
        latency: {
          average_ms: number | null;
          p95_ms: number | null;
          samples: number;
          destinations: { id: string; average_ms: number; p95_ms: number; samples: number }[];
        };
      }
    >(s, "overview?range=24h");
    // Accepted: e1–e7, p1, b-A. Duplicates: e1, p1. Rejected: the EURO purchase.
    assert.deepEqual(o.events, { value: 9, previous: 0, change_pct: null });
    assert.deepEqual(o.duplicates, { value: 2, previous: 0, change_pct: null });
    assert.deepEqual(o.rejected, { value: 1, previous: 0, change_pct: null });
    // Meta: 7 delivered, 2 skipped (e6, e7). Flaky: 3 delivered (e2, e4, b-A), 4 failed
    // (e1, e3, e5, p1), 2 skipped; e4 was retried once. Rate 10 / 14.
    assert.deepEqual(o.deliveries, {
      delivered: 10,
      failed: 4,
      skipped: 4,
      pending: 0,
      retries: 1,
      rate: 0.7143,
      previous_rate: null,
      change_pts: null,
    });
    assert.deepEqual(o.failed, { value: 4, previous: 0, change_pct: null });
    // Orders A (10.50) and D (5) in euros, B in yen, C in dollars; b-A repeats A.
    assert.deepEqual(o.revenue, [
      { currency: "EUR", amount: 15.5, purchases: 2, previous_amount: 0, change_pct: null },
      { currency: "JPY", amount: 1000, purchases: 1, previous_amount: 0, change_pct: null },
      { currency: "USD", amount: 20, purchases: 1, previous_amount: 0, change_pct: null },
    ]);
    assert.deepEqual(o.active_destinations, { count: 2, previous: 0, ids: [meta, flaky].sort() });
    // First deliveries only: 7 at Meta, 3 at Flaky (the replay records none).
    assert.equal(o.latency.samples, 10);
    assert.ok(o.latency.average_ms !== null && o.latency.average_ms >= 0);
    assert.ok(o.latency.p95_ms !== null && o.latency.p95_ms >= 0);
    const samples = Object.fromEntries(o.latency.destinations.map((d) => [d.id, d.samples]));
    assert.deepEqual(samples, { [meta]: 7, [flaky]: 3 });
    assert.deepEqual(o.latency.destinations.map((d) => d.id), [meta, flaky].sort());
    for (const d of o.latency.destinations) {
      assert.ok(typeof d.p95_ms === "number" && d.p95_ms >= 0, "from the destination's histogram");
    }
  });

  await t.step("volume: by name and source, hourly over 24 hours", async () => {
    const v = await report<{
      interval: string;
      buckets: unknown[];
      events: number[];
      by_name: { name: string; total: number }[];
      by_source: { source: string; total: number }[];
    }>(s, "volume?range=24h");
    assert.equal(v.interval, "hour");
    assert.equal(v.buckets.length, 24);
    assert.equal(v.events.reduce((a, b) => a + b, 0), 9);
    assert.deepEqual(v.by_name.map(({ name, total }) => [name, total]), [
      ["purchase", 5],
      ["page_view", 2],
      ["add_to_cart", 1],
      ["lead", 1],
    ]);
    assert.deepEqual(v.by_source.map(({ source, total }) => [source, total]), [
      ["server", 7],
      ["web", 2],
    ]);
    const daily = await report<{ interval: string; events: number[] }>(
      s,
      "volume?range=7d&interval=day",
    );
    assert.equal(daily.interval, "day");
    assert.equal(daily.events.length, 7);
    assert.equal(daily.events.at(-1), 9);
  });

  await t.step("coverage: per event name and destination, with reasons", async () => {
    const c = await report<{ rows: { event_name: string; cells: Json[] }[] }>(
      s,
      "coverage?range=24h",
    );
    const cell = (name: string, dest: string) =>
      c.rows.find((r) => r.event_name === name)?.cells.find((x) => x.destination_id === dest);
    assert.deepEqual(c.rows.map((r) => r.event_name), [
      "purchase",
      "page_view",
      "add_to_cart",
      "lead",
    ]);
    assert.deepEqual(cell("purchase", meta), {
      destination_id: meta,
      delivered: 4,
      failed: 0,
      skipped: 1,
      pending: 0,
      top_failures: [],
      top_skips: [{ reason: "consent", count: 1 }],
    });
    assert.deepEqual(cell("purchase", flaky), {
      destination_id: flaky,
      delivered: 2,
      failed: 2,
      skipped: 1,
      pending: 0,
      top_failures: [{ reason: "validation", count: 2 }],
      top_skips: [{ reason: "consent", count: 1 }],
    });
    assert.deepEqual(cell("page_view", flaky), {
      destination_id: flaky,
      delivered: 0,
      failed: 1,
      skipped: 1,
      pending: 0,
      top_failures: [{ reason: "validation", count: 1 }],
      top_skips: [{ reason: "validation", count: 1 }],
    });
    assert.equal(cell("add_to_cart", flaky)?.delivered, 1);
    assert.equal(cell("lead", meta)?.delivered, 1);
    assert.equal(cell("lead", flaky)?.failed, 1);
  });

  await t.step("quality: Meta's estimate, shares, what to add next, issues", async () => {
    const q = await report<{
      destinations: (Json & {
        id: string;
        completeness: { identifier: string; events_share: number; purchases_share: number }[];
        next_steps: { identifier: string; expected_gain: number; message: string }[];
        issues: { status: string; reason: string; count: number; example: Json | null }[];
      })[];
      rejected_fields: { field: string; count: number; example: { detail: string } | null }[];
    }>(s, "quality?range=24h");
    const m = q.destinations.find((d) => d.id === meta)!;
    // Sent to Meta: e1, e2, e3, e4, e5, p1, b-A (purchases e3, e4, e5, b-A). All carry email;
    // IP and agent too; e3 a phone; e1 a Meta click (fbclid). Weights: email 30, click 20,
    // phone 15, IP 4, agent 4 of 100: 10 × (30 + 4 + 4 + (20 + 15) / 7) / 100 = 4.3, and
    // for purchases 10 × (30 + 4 + 4 + 15 / 4) / 100 = 4.175 → 4.2.
    assert.equal(m.events_sent, 7);
    assert.equal(m.purchases_sent, 4);
    assert.equal(m.score, 4.3);
    assert.equal(m.purchase_score, 4.2);
    const phone = m.completeness.find((c) => c.identifier === "phone")!;
    assert.equal(phone.events_share, 0.1429);
    assert.equal(phone.purchases_share, 0.25);
    assert.deepEqual(m.next_steps.map((n) => [n.identifier, n.expected_gain]), [
      ["click_id", 2],
      ["phone", 1.1],
      ["browser_id", 0.8],
    ]);
    assert.equal(
      m.next_steps[1]!.message,
      "add phone: present on 25 % of purchases; Meta weighs it third, after email and click id; +1.1 points if every purchase carries it",
    );
    assert.deepEqual(m.issues.map(({ status, reason, count }) => [status, reason, count]), [
      ["skipped", "consent", 1],
      ["skipped", "validation", 1],
    ]);
    const skip = m.issues.find((i) => i.reason === "validation")!.example!;
    assert.equal(skip.event_id_sha256, sha256Hex("e6").slice(0, 16));
    assert.equal(skip.detail, "website events need event_source_url (page.url)");
    const f = q.destinations.find((d) => d.id === flaky)!;
    // Sent to Flaky: e2, e4, b-A, each with email, IP and agent: 10 × 38 / 100.
    assert.equal(f.events_sent, 3);
    assert.equal(f.score, 3.8);
    assert.deepEqual(f.issues.map(({ status, reason, count }) => [status, reason, count]), [
      ["failed", "validation", 4],
      ["skipped", "consent", 1],
      ["skipped", "validation", 1],
    ]);
    assert.ok(f.issues[0]!.example, "a failure example");
    assert.deepEqual(q.rejected_fields.map(({ field, count }) => [field, count]), [[
      "currency",
      1,
    ]]);
    assert.match(q.rejected_fields[0]!.example!.detail, /ISO 4217/);
    assert.ok(!JSON.stringify(q).includes("@example.com"), "no raw PII");
  });

  await t.step("dedup: merged event ids, and an order sent under two ids", async () => {
    const d = await report<Json & { destinations: Json[] }>(s, "dedup?range=24h");
    assert.equal(d.duplicates, 2);
    assert.deepEqual(d.merged_pairs, {
      browser_then_server: 1,
      server_then_browser: 0,
      same_side: 0,
    });
    assert.deepEqual(d.mismatched_ids, {
      browser_then_server: 0,
      server_then_browser: 1,
      same_side: 0,
    });
    for (const id of [meta, flaky]) {
      assert.deepEqual(d.destinations.find((x) => x.id === id), {
        id,
        name: id === meta ? "Meta" : "Flaky",
        type: "meta",
        platform_dedup_key: "event_id",
        pairs_seen: 2,
        merged: 1,
        mismatched_ids_sent: 1,
        double_counted: 1,
      });
    }
  });

  await t.step("funnel: visitor-days per step, default and chosen steps", async () => {
    // v1: page_view, add_to_cart, purchase; v2: purchase, page_view; v3, v5: purchase; v4: lead.
    const f = await report<{ unit: string; steps: Json[] }>(s, "funnel?range=24h");
    assert.equal(f.unit, "visitor-days");
    assert.deepEqual(f.steps, [
      { step: "page_view", visitors: 2, from_previous: null, from_first: 1, drop_off: 0 },
      { step: "add_to_cart", visitors: 1, from_previous: 0.5, from_first: 0.5, drop_off: 1 },
      { step: "initiate_checkout", visitors: 0, from_previous: 0, from_first: 0, drop_off: 1 },
      { step: "purchase", visitors: 0, from_previous: null, from_first: 0, drop_off: 0 },
    ]);
    const chosen = await report<{ steps: Json[] }>(s, "funnel?range=24h&steps=purchase,page_view");
    assert.deepEqual(chosen.steps, [
      { step: "purchase", visitors: 4, from_previous: null, from_first: 1, drop_off: 0 },
      { step: "page_view", visitors: 2, from_previous: 0.5, from_first: 0.5, drop_off: 2 },
    ]);
  });

  await t.step("revenue-attribution: first and last touch, by click platform and UTM", async () => {
    const a = await report<Json>(s, "revenue-attribution?range=24h");
    const eur = (amount: number) => ({ currency: "EUR", amount });
    // A: first Meta/newsletter (e1), last Google/google (e2). B, D: no touch. C: Google click.
    assert.deepEqual(a.first_touch, {
      by_click_platform: [
        { label: "none", orders: 2, revenue: [eur(5), { currency: "JPY", amount: 1000 }] },
        { label: "google", orders: 1, revenue: [{ currency: "USD", amount: 20 }] },
        { label: "meta", orders: 1, revenue: [eur(10.5)] },
      ],
      by_utm_source: [
        {
          label: "none",
          orders: 3,
          revenue: [eur(5), { currency: "JPY", amount: 1000 }, { currency: "USD", amount: 20 }],
        },
        { label: "newsletter", orders: 1, revenue: [eur(10.5)] },
      ],
    });
    assert.deepEqual(a.last_touch, {
      by_click_platform: [
        { label: "google", orders: 2, revenue: [eur(10.5), { currency: "USD", amount: 20 }] },
        { label: "none", orders: 2, revenue: [eur(5), { currency: "JPY", amount: 1000 }] },
      ],
      by_utm_source: [
        {
          label: "none",
          orders: 3,
          revenue: [eur(5), { currency: "JPY", amount: 1000 }, { currency: "USD", amount: 20 }],
        },
        { label: "google", orders: 1, revenue: [eur(10.5)] },
      ],
    });
  });

  await t.step("reconciliation: orders once, per destination, missing ones paged", async () => {
    type Page = {
      orders_received: number;
      destinations: Json[];
      missing: { data: Json[]; next_cursor: string | null };
    };
    const r = await report<Page>(s, "reconciliation?range=24h&limit=2");
    assert.equal(r.orders_received, 4);
    const counts = (id: string) => {
      const { accepted, failed, skipped, pending, missing, not_routed } = r.destinations.find((d) =>
        d.id === id
      )!;
      return { accepted, failed, skipped, pending, missing, not_routed };
    };
    assert.deepEqual(counts(meta), {
      accepted: 3,
      failed: 0,
      skipped: 1,
      pending: 0,
      missing: 1,
      not_routed: 0,
    });
    assert.deepEqual(counts(flaky), {
      accepted: 1,
      failed: 2,
      skipped: 1,
      pending: 0,
      missing: 3,
      not_routed: 0,
    });
    const brief = (page: Page) =>
      page.missing.data.map((m) => [m.order_id, m.destination_id, m.status, m.reason]);
    assert.deepEqual(brief(r), [
      ["D", flaky, "skipped", "consent"],
      ["D", meta, "skipped", "consent"],
    ]);
    assert.ok(r.missing.next_cursor);
    const next = await report<Page>(
      s,
      `reconciliation?range=24h&limit=2&cursor=${encodeURIComponent(r.missing.next_cursor!)}`,
    );
    assert.deepEqual(brief(next), [
      ["C", flaky, "failed", "validation"],
      ["A", flaky, "failed", "validation"],
    ]);
    const failed = await report<Page>(s, `reconciliation?range=24h&status=failed`);
    assert.deepEqual(brief(failed).map(([order]) => order), ["C", "A"]);
    assert.equal(failed.missing.next_cursor, null);
    const onlyMeta = await report<Page>(s, `reconciliation?range=24h&destination=${meta}`);
    assert.deepEqual(brief(onlyMeta), [["D", meta, "skipped", "consent"]]);
  });
});

Deno.test("GET /v1/analytics/* refuse bad parameters with 400 problem+json naming each", async () => {
  await using s = await openTestSluice();
  const get = (path: string, key = s.workspace.admin_key) =>
    s.request(`/v1/analytics/${path}`, { headers: bearer(key) });
  const cases: [string, string][] = [
    ["overview?range=3d", "range"],
    ["overview?tz=Mars/Olympus", "tz"],
    ["overview?range=7d&start=2026-01-01", "range"],
    ["overview?end=2026-01-01", "start"],
    ["overview?start=2026-01-02&end=2026-01-01", "end"],
    ["overview?start=yesterday", "start"],
    ["overview?start=2020-01-01&end=2022-01-01", "start"],
    ["volume?range=90d&interval=hour", "interval"],
    ["volume?interval=minute", "interval"],
    ["funnel?steps=page_view,teleport", "steps"],
    ["funnel?steps=page_view,page_view", "steps"],
    ["reconciliation?limit=0", "limit"],
    ["reconciliation?status=delivered", "status"],
    ["reconciliation?cursor=not-a-cursor", "cursor"],
  ];
  for (const [path, field] of cases) {
    const problem = await expectProblem(await get(path), 400);
    assert.equal(problem.type, "https://sluice.dev/problems/invalid-request", path);
    assert.ok(problem.errors?.some((e) => e.path === field), `${path}: ${JSON.stringify(problem)}`);
  }
  // The read scope is needed: the ingest key is refused.
  await expectProblem(await get("overview", s.workspace.ingest_key), 403);
  await expectProblem(await s.request("/v1/analytics/overview"), 401);
});

Deno.test("GET /v1/analytics/* answer zeros for a workspace with no data", async () => {
  await using s = await openTestSluice();
  const o = await expectJson<Json & { revenue: unknown[]; latency: Json }>(
    await s.request("/v1/analytics/overview", { headers: bearer(s.workspace.admin_key) }),
    200,
  );
  assert.deepEqual(o.events, { value: 0, previous: 0, change_pct: null });
  assert.deepEqual(o.revenue, []);
  assert.deepEqual(o.latency, {
    average_ms: null,
    p95_ms: null,
    samples: 0,
    previous_average_ms: null,
    previous_p95_ms: null,
    destinations: [],
  });
  for (
    const path of [
      "volume",
      "coverage",
      "quality",
      "dedup",
      "funnel",
      "revenue-attribution",
      "reconciliation",
    ]
  ) {
    const res = await s.request(`/v1/analytics/${path}?range=30d`, {
      headers: bearer(s.workspace.admin_key),
    });
    await expectJson(res, 200);
  }
});
