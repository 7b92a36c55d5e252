/**
 * The JSON API the dashboard draws (issue 14): delivery failures grouped by reason, the
 * per-platform summary, rule previews and the pixel install snippet, over HTTP with real
 * deliveries to loopback mock platforms.
 */
import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, expectJson, expectProblem } from "./_http.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

const ENV = { SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms" };

interface FailureGroupJson {
  platform_id: string;
  type: string;
  name: string | null;
  status: "failed" | "skipped";
  reason_key: string;
  example_reason: string;
  count: number;
  last_at: string;
  event_ids: string[];
}

interface FailureReportJson {
  data: FailureGroupJson[];
  total_groups: number;
  truncated: boolean;
  start: string;
  end: string;
  covered_from: string;
}

interface SummaryJson {
  data: {
    platform_id: string;
    type: string;
    name: string | null;
    counts: Record<string, number>;
    total: number;
    p95_latency_ms: number | null;
    last_error: string | null;
    last_error_at: string | null;
  }[];
  truncated: boolean;
  start: string;
  end: string;
  covered_from: string;
}

interface RulePreviewJson {
  events_checked: number;
  changed: number;
  destinations: {
    platform_id: string;
    name: string;
    sent_before: number;
    sent_after: number;
    renamed: { from: string; to: string; count: number }[];
  }[];
  examples: {
    event_id: string;
    event_name: string;
    before: Record<string, unknown>;
    after: Record<string, unknown>;
  }[];
}

async function readKey(s: TestSluice): Promise<string> {
  const res = await s.request(
    "/v1/api-keys",
    jsonInit({ name: "Dashboard", scopes: ["read"] }, s.workspace.admin_key),
  );
  return (await expectJson<{ secret: string }>(res, 201)).secret;
}

async function connectMeta(s: TestSluice, name: string, endpoint: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name,
      config: { pixel_id: "1234567890", access_token: "EAAB-token", endpoint },
    }, s.workspace.admin_key),
  );
  return (await expectJson<{ id: string }>(res, 201)).id;
}

function purchase(event_id: string, extra: Record<string, unknown> = {}) {
  return {
    event_id,
    event_name: "purchase",
    value: 10,
    currency: "EUR",
    action_source: "website",
    page: { url: "https://shop.example/thanks" },
    user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
    ...extra,
  };
}

async function send(s: TestSluice, events: unknown[]): Promise<void> {
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  assert.equal(res.status, 202, await res.clone().text());
  await res.body?.cancel();
}

/** Waits until every listed event has a row at every platform in one of `statuses`. */
function settled(s: TestSluice, ids: string[], statuses: string[]) {
  return eventually(`${ids.join(", ")} settled`, async () => {
    for (const id of ids) {
      const res = await s.request(`/v1/events/${id}`, { headers: bearer(s.workspace.admin_key) });
      const { deliveries } = await res.json() as { deliveries: { status: string }[] };
      if (deliveries.length === 0 || !deliveries.every((d) => statuses.includes(d.status))) {
        return undefined;
      }
    }
    return true;
  });
}

/**
 * A workspace with two Meta platforms, "Meta bad" (every request refused with error 100
 * and a new fbtrace_id) and "Meta good"; six purchases f-1…f-6 sent in three requests, and
 * two (c-1, c-2) whose consent denies ad_user_data.
 */
async function seeded(s: TestSluice, badUrl: string, goodUrl: string) {
  const bad = await connectMeta(s, "Meta bad", badUrl);
  const good = await connectMeta(s, "Meta good", goodUrl);
  for (const pair of [["f-1", "f-2"], ["f-3", "f-4"], ["f-5", "f-6"]]) {
    await send(s, pair.map((id) => purchase(id)));
    await settled(s, pair, ["failed", "delivered"]);
  }
  const denied = { consent: { ad_user_data: "denied" } };
  await send(s, [purchase("c-1", denied), purchase("c-2", denied)]);
  await settled(s, ["c-1", "c-2"], ["skipped"]);
  return { bad, good };
}

function metaMocks() {
  let trace = 0;
  const bad = mockPlatform(() =>
    Response.json(
      { error: { message: "Invalid parameter", code: 100, fbtrace_id: `Tr${++trace}x` } },
      { status: 400 },
    )
  );
  const good = mockPlatform((_, request) => {
    const data = (request.json as { data: unknown[] }).data;
    return Response.json({ events_received: data.length });
  });
  return { bad, good, traces: () => trace };
}

Deno.test("GET /v1/deliveries/failures groups one platform error on many events into one row, and the summary counts per platform", async () => {
  const mocks = metaMocks();
  await using _bad = mocks.bad;
  await using _good = mocks.good;
  await using s = await openTestSluice(ENV);
  const key = await readKey(s);
  const { bad, good } = await seeded(s, mocks.bad.url, mocks.good.url);
  assert.ok(mocks.traces() >= 2, "the failures carry different fbtrace ids");

  const report = await expectJson<FailureReportJson>(
    await s.request("/v1/deliveries/failures", { headers: bearer(key) }),
    200,
  );
  assert.equal(report.truncated, false);
  assert.equal(report.total_groups, 3);
  assert.equal(report.covered_from, report.start);
  const [first, ...skipped] = report.data;
  assert.ok(first);
  assert.deepEqual(
    { ...first, example_reason: undefined, last_at: undefined },
    {
      platform_id: bad,
      type: "meta",
      name: "Meta bad",
      status: "failed",
      reason_key: "Meta error 100: Invalid parameter (fbtrace_id …)",
      example_reason: undefined,
      count: 6,
      last_at: undefined,
      event_ids: ["f-6", "f-5", "f-4", "f-3", "f-2"],
    },
  );
  assert.match(first.example_reason, /^Meta error 100: Invalid parameter \(fbtrace_id Tr\d+x\)$/);
  assert.ok(Date.now() - Date.parse(first.last_at) < 60_000);
  assert.deepEqual(
    skipped.map((g) => [g.name, g.status, g.reason_key, g.count, [...g.event_ids].sort()]).sort(),
    [
      ["Meta bad", "skipped", "consent: ad_user_data denied", 2, ["c-1", "c-2"]],
      ["Meta good", "skipped", "consent: ad_user_data denied", 2, ["c-1", "c-2"]],
    ],
  );

  const onlyGood = await expectJson<FailureReportJson>(
    await s.request(`/v1/deliveries/failures?platform_id=${good}&limit=1`, {
      headers: bearer(key),
    }),
    200,
  );
  assert.deepEqual(onlyGood.data.map((g) => [g.platform_id, g.count]), [[good, 2]]);
  const past = await expectJson<FailureReportJson>(
    await s.request("/v1/deliveries/failures?start=1700000000&end=2023-11-15T00:00:00Z", {
      headers: bearer(key),
    }),
    200,
  );
  assert.deepEqual(past.data, []);
  assert.equal(past.start, "2023-11-14T22:13:20.000Z");

  const summary = await expectJson<SummaryJson>(
    await s.request("/v1/deliveries/summary", { headers: bearer(key) }),
    200,
  );
  assert.equal(summary.truncated, false);
  const [badRow, goodRow] = summary.data;
  assert.deepEqual(summary.data.map((d) => d.platform_id), [bad, good]);
  assert.deepEqual(badRow?.counts, {
    pending: 0,
    delivered: 0,
    accepted: 0,
    retrying: 0,
    failed: 6,
    skipped: 2,
  });
  assert.equal(badRow?.total, 8);
  assert.match(badRow?.last_error ?? "", /^Meta error 100: Invalid parameter \(fbtrace_id/);
  assert.ok(badRow?.last_error_at);
  assert.deepEqual(goodRow?.counts, {
    pending: 0,
    delivered: 6,
    accepted: 0,
    retrying: 0,
    failed: 0,
    skipped: 2,
  });
  assert.equal(typeof goodRow?.p95_latency_ms, "number");
  assert.equal(goodRow?.last_error, null);
  assert.equal(goodRow?.name, "Meta good");
  const quiet = await expectJson<SummaryJson>(
    await s.request("/v1/deliveries/summary?start=1700000000&end=1700003600", {
      headers: bearer(key),
    }),
    200,
  );
  assert.deepEqual(quiet.data.map((d) => [d.name, d.total, d.p95_latency_ms]), [
    ["Meta bad", 0, null],
    ["Meta good", 0, null],
  ]);
});

Deno.test("GET /v1/deliveries/failures and /summary refuse bad input naming the field", async () => {
  await using s = await openTestSluice(ENV);
  const key = await readKey(s);
  const get = (path: string, headers = bearer(key)) => s.request(path, { headers });
  await expectProblem(await get("/v1/deliveries/failures?start=yesterday&limit=0"), 400, [
    "limit",
    "start",
  ]);
  await expectProblem(await get("/v1/deliveries/failures?start=1700003600&end=1700000000"), 400, [
    "start",
  ]);
  await expectProblem(await get("/v1/deliveries/summary?end=soon"), 400, ["end"]);
  await expectProblem(await get("/v1/deliveries/summary?start=2030-01-01T00:00:00Z"), 400, [
    "start",
  ]);
  await expectProblem(await get("/v1/deliveries/failures?platform_id=dst_nope"), 404, [
    "platform_id",
  ]);
  await expectProblem(await get("/v1/deliveries/failures", {}), 401);
  await expectProblem(await get("/v1/deliveries/summary", bearer(s.workspace.ingest_key)), 403);
});

Deno.test("POST /v1/rules/preview counts what an unsaved rule would change and saves nothing", async () => {
  const mocks = metaMocks();
  await using _bad = mocks.bad;
  await using _good = mocks.good;
  await using s = await openTestSluice(ENV);
  const key = await readKey(s);
  const { bad, good } = await seeded(s, mocks.bad.url, mocks.good.url);
  const rule = {
    name: "Purchases to the good pixel only, renamed",
    match: { event_names: ["purchase"] },
    action: { type: "send", destinations: [good] },
  };
  const preview = await expectJson<RulePreviewJson>(
    await s.request("/v1/rules/preview", jsonInit(rule, key)),
    200,
  );
  assert.equal(preview.events_checked, 8);
  assert.equal(preview.changed, 6, "consent keeps c-1 and c-2 from both either way");
  assert.deepEqual(
    preview.destinations.map((d) => [d.platform_id, d.sent_before, d.sent_after]),
    [[bad, 6, 0], [good, 6, 6]],
  );
  assert.deepEqual(preview.examples[0], {
    event_id: "f-6",
    event_name: "purchase",
    before: { [bad]: { send: true, event_name: "purchase" } },
    after: { [bad]: { send: false, reason: "not routed here by the rules" } },
  });

  const rename = {
    name: "Rename for the good pixel",
    action: { type: "rename", event_name: "Purchase", destinations: [good] },
  };
  const renamed = await expectJson<RulePreviewJson>(
    await s.request("/v1/rules/preview?limit=3", jsonInit(rename, key)),
    200,
  );
  assert.equal(renamed.events_checked, 3);
  assert.deepEqual(renamed.destinations.map((d) => d.renamed), [
    [],
    [{ from: "purchase", to: "Purchase", count: 1 }],
  ]);

  const saved = await expectJson<{ id: string }>(
    await s.request("/v1/rules", jsonInit(rule, s.workspace.admin_key)),
    201,
  );
  const undo = await expectJson<RulePreviewJson>(
    await s.request(
      `/v1/rules/preview?rule_id=${saved.id}`,
      jsonInit({ ...rule, enabled: false }, key),
    ),
    200,
  );
  assert.deepEqual(
    undo.destinations.map((d) => [d.platform_id, d.sent_before, d.sent_after]),
    [[bad, 0, 6], [good, 6, 6]],
    "disabling the saved rule would send purchases to the bad pixel again",
  );
  const rules = await expectJson<{ data: { id: string }[] }>(
    await s.request("/v1/rules", { headers: bearer(key) }),
    200,
  );
  assert.deepEqual(rules.data.map((r) => r.id), [saved.id], "previews save nothing");
});

Deno.test("POST /v1/rules/preview refuses bad input naming the field", async () => {
  await using s = await openTestSluice(ENV);
  const key = await readKey(s);
  const preview = (body: unknown, query = "", k = key) =>
    s.request(`/v1/rules/preview${query}`, jsonInit(body, k));
  const rule = { name: "Drop all", action: { type: "drop" } };
  await expectProblem(await preview({ name: "", action: { type: "drop" }, extra: 1 }), 400, [
    "",
    "name",
  ]);
  await expectProblem(await preview({ name: "x", action: { type: "explode" } }), 400, [
    "action.type",
  ]);
  await expectProblem(await preview(rule, "?limit=5001"), 400, ["limit"]);
  await expectProblem(await preview(rule, "?rule_id=rule_nope"), 404, ["rule_id"]);
  await expectProblem(await preview("{"), 400);
  await expectProblem(await preview(rule, "", s.workspace.ingest_key), 403);
  const empty = await expectJson<RulePreviewJson>(await preview(rule), 200);
  assert.deepEqual(empty, { events_checked: 0, changed: 0, destinations: [], examples: [] });
});

Deno.test("GET /v1/workspace/install answers the pixel snippet and waits for the first event", async () => {
  await using s = await openTestSluice(ENV);
  const key = await readKey(s);
  const install = async () =>
    expectJson<Record<string, unknown>>(
      await s.request("/v1/workspace/install", { headers: bearer(key) }),
      200,
    );
  const before = await install();
  const publicId = s.workspace.public_id;
  assert.deepEqual(before, {
    public_id: publicId,
    script_url: "http://localhost/v1/pixel.js",
    snippet:
      `<script async src="http://localhost/v1/pixel.js" data-public-id="${publicId}"></script>`,
    first_event_at: null,
  });
  const sentAt = Date.now();
  await send(s, [purchase("first"), purchase("second")]);
  const after = await install();
  assert.equal(typeof after.first_event_at, "string");
  const first = Date.parse(String(after.first_event_at));
  assert.ok(first >= sentAt - 1_000 && first <= Date.now(), String(after.first_event_at));
  await expectProblem(
    await s.request("/v1/workspace/install", { headers: bearer(s.workspace.ingest_key) }),
    403,
  );
});

Deno.test("GET /v1/workspace/install uses SLUICE_PUBLIC_URL when it is set", async () => {
  await using s = await openTestSluice({ SLUICE_PUBLIC_URL: "https://sluice.example/" });
  const res = await s.request("/v1/workspace/install", {
    headers: bearer(s.workspace.admin_key),
  });
  const body = await expectJson<{ snippet: string; script_url: string }>(res, 200);
  assert.equal(body.script_url, "https://sluice.example/v1/pixel.js");
  assert.match(body.snippet, /^<script async src="https:\/\/sluice\.example\/v1\/pixel\.js" /);
});

Deno.test("GET /openapi.json types the dashboard's endpoints", async () => {
  await using s = await openTestSluice();
  const doc = await expectJson<{
    paths: Record<string, Record<string, { operationId: string; responses: unknown }>>;
    components: { schemas: Record<string, unknown> };
  }>(await s.request("/openapi.json"), 200);
  for (
    const [path, method, operationId, schema] of [
      ["/v1/deliveries/failures", "get", "listDeliveryFailures", "FailureReport"],
      ["/v1/deliveries/summary", "get", "summarizeDeliveries", "DeliverySummary"],
      ["/v1/rules/preview", "post", "previewRule", "RulePreview"],
      ["/v1/workspace/install", "get", "getPixelInstall", "PixelInstall"],
    ] as const
  ) {
    const op = doc.paths[path]?.[method];
    assert.equal(op?.operationId, operationId, `${method} ${path}`);
    assert.match(JSON.stringify(op?.responses), new RegExp(`#/components/schemas/${schema}"`));
    assert.ok(doc.components.schemas[schema], `${schema} is a component`);
  }
});
