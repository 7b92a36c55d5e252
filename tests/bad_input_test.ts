/**
 * Bad input found by probing the ingest endpoints: each is a 4xx problem naming the field,
 * and nothing corrupted is stored.
 */
import assert from "node:assert/strict";
import { jsonInit, openTestSluice, TEST_ROOT_TOKEN } from "./_harness.ts";
import {
  type BatchJson,
  bearer,
  countStored,
  expectJson,
  expectProblem,
  jsonWith,
  patchSettings,
  segmentBasic,
  storedEvent,
} from "./_http.ts";
import { startWireSluice } from "./_ingest.ts";

const HUGE = "9".repeat(400);
const TOO_LARGE = `must be a number a double can hold; "${"9".repeat(40)}…" is too large`;
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36";

Deno.test("A numeric string too large for a double is refused in every numeric field, not stored as null", async () => {
  await using s = await openTestSluice();
  const key = s.workspace.ingest_key;
  const single = await expectProblem(
    await s.request("/v1/events", jsonInit({ event_name: "purchase", value: HUGE }, key)),
    400,
    ["value"],
  );
  assert.deepEqual(single.errors, [{ path: "value", message: TOO_LARGE }]);
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit({
        event_name: "purchase",
        items: [{ id: "a", price: HUGE, quantity: HUGE }],
      }, key),
    ),
    400,
    ["items.0.price", "items.0.quantity"],
  );
  const batch = await expectJson<BatchJson>(
    await s.request(
      "/v1/events",
      jsonInit({
        events: [
          { event_id: "ok-1", event_name: "purchase", value: "19.90" },
          { event_id: "big-1", event_name: "purchase", value: HUGE },
        ],
      }, key),
    ),
    202,
  );
  assert.deepEqual(batch.results[1], {
    event_id: "big-1",
    status: "rejected",
    errors: [{ path: "events.1.value", message: TOO_LARGE }],
  });
  await expectProblem(
    await s.request(
      "/v1/track",
      jsonWith({ event: "Order Completed", properties: { revenue: HUGE } }, segmentBasic(key)),
    ),
    400,
    ["value"],
  );
  await expectProblem(
    await s.request(`/collect/hook?k=${key}&event=Purchase&value=${HUGE}`),
    400,
    ["value"],
  );
  assert.equal(await countStored(s), 1);
  assert.equal((await storedEvent(s, "ok-1")).value, 19.9);
});

Deno.test("A client that sends part of a body and closes the socket gets nothing stored and no server error", async () => {
  const w = await startWireSluice();
  try {
    const head = (extra: string) =>
      `POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${w.workspace.ingest_key}\r\n` +
      `content-type: application/json\r\n${extra}\r\n`;
    const partial = '{"event_id":"cut-1","event_name":"purchase","value":1';
    const requests = [
      head("content-length: 1000\r\n") + partial,
      head("transfer-encoding: chunked\r\n") + `3e8\r\n${partial}`,
    ];
    for (const request of requests) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: w.port });
      await conn.write(new TextEncoder().encode(request));
      await new Promise((resolve) => setTimeout(resolve, 100));
      conn.close();
    }
    // The server is still healthy and answers the next request.
    const after = await fetch(`${w.base}/v1/events`, {
      method: "POST",
      headers: { ...bearer(w.workspace.ingest_key), "content-type": "application/json" },
      body: JSON.stringify({ event_id: "after-1", event_name: "lead" }),
    });
    await expectJson(after, 202);
    assert.deepEqual((await w.events()).map((e) => e.event_id), ["after-1"]);
  } finally {
    await w.stop();
  }
  const output = w.server.output;
  assert.doesNotMatch(output, /Unhandled error/);
  assert.doesNotMatch(output, /^\s+at /m, "no stack trace is printed");
  const cutOff = output.split("\n").filter((line) => line.includes("cut off"));
  assert.ok(cutOff.length <= 2, `one debug line per aborted request at most:\n${output}`);
  for (const line of cutOff) assert.match(line, /^Request body cut off: POST \/v1\/events: /);
});

Deno.test("An event_time with an impossible UTC offset or calendar date is refused", async () => {
  await using s = await openTestSluice();
  const hour = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
  for (const zone of ["+99:99", "+14:30", "-15:00", "+01:60"]) {
    const time = `${hour}${zone}`;
    const problem = await expectProblem(
      await s.request(
        "/v1/events",
        jsonInit({ event_name: "lead", event_time: time }, s.workspace.ingest_key),
      ),
      400,
      ["event_time"],
    );
    assert.deepEqual(problem.errors, [{
      path: "event_time",
      message:
        `"${time}" has the UTC offset "${zone}"; offsets run from -14:00 to +14:00 with minutes below 60`,
    }]);
  }
  const date = await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_name: "lead", event_time: "2026-02-30T10:00:00Z" },
        s.workspace.ingest_key,
      ),
    ),
    400,
    ["event_time"],
  );
  assert.equal(
    date.errors?.[0]?.message,
    '"2026-02-30T10:00:00Z" is neither unix seconds nor a valid ISO 8601 date-time',
  );
  await expectProblem(
    await s.request(
      "/v1/track",
      jsonWith(
        { event: "x", timestamp: `${hour}+99:99` },
        segmentBasic(s.workspace.ingest_key),
      ),
    ),
    400,
    ["event_time"],
  );
  // The widest real offsets still work.
  await expectJson(
    await s.request(
      "/v1/events",
      jsonInit({ event_name: "lead", event_time: `${hour}-00:00` }, s.workspace.ingest_key),
    ),
    202,
  );
  assert.equal(await countStored(s), 1);
});

Deno.test("A batch larger than the workspace's per-minute limit is 413 naming the limit, not a 429 that never passes", async () => {
  await using s = await openTestSluice();
  await patchSettings(s, { rate_limit_per_minute: 10 });
  const events = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({ event_id: `${prefix}-${i}`, event_name: "lead" }));
  const native = await expectProblem(
    await s.request("/v1/events", jsonInit({ events: events(11, "n") }, s.workspace.ingest_key)),
    413,
    ["events"],
  );
  assert.equal(
    native.detail,
    "The batch holds 11 events, more than the workspace's rate limit of 10 events per minute (settings.rate_limit_per_minute); send smaller batches",
  );
  assert.deepEqual(native.errors, [{
    path: "events",
    message: "holds 11 events; the workspace accepts at most 10 per minute",
  }]);
  const segment = await s.request(
    "/v1/batch",
    jsonWith(
      {
        batch: events(11, "s").map((e) => ({ type: "track", messageId: e.event_id, event: "x" })),
      },
      segmentBasic(s.workspace.ingest_key),
    ),
  );
  assert.equal(segment.headers.get("retry-after"), null);
  await expectProblem(segment, 413, ["batch"]);
  const browser = await s.request(
    "/v1/browser/events",
    jsonWith({ public_id: s.workspace.public_id, events: events(11, "b") }, {
      origin: "https://shop.example",
      "user-agent": CHROME,
    }),
  );
  assert.equal(browser.headers.get("access-control-allow-origin"), "https://shop.example");
  await expectProblem(browser, 413, ["events"]);
  assert.equal(await countStored(s), 0);
  // A batch at the limit passes.
  const full = await expectJson<BatchJson>(
    await s.request("/v1/events", jsonInit({ events: events(10, "f") }, s.workspace.ingest_key)),
    202,
  );
  assert.equal(full.accepted, 10);
});

Deno.test("A wildcard origin allows its subdomains, preflights included; * elsewhere is 400", async () => {
  await using s = await openTestSluice({}, ["https://*.shop.example"]);
  const headers = (origin: string) => ({ origin, "user-agent": CHROME });
  for (
    const [origin, id] of [
      ["https://a.shop.example", "w-1"],
      ["https://a.b.shop.example", "w-2"],
    ] as const
  ) {
    const preflight = await s.request("/v1/browser/events", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    assert.equal(preflight.status, 204, origin);
    assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
    const res = await s.request(
      "/v1/browser/events",
      jsonWith(
        { public_id: s.workspace.public_id, event_id: id, event_name: "lead" },
        headers(origin),
      ),
    );
    assert.equal(res.headers.get("access-control-allow-origin"), origin);
    await expectJson(res, 202);
  }
  for (
    const origin of ["https://shop.example", "http://a.shop.example", "https://evilshop.example"]
  ) {
    const preflight = await s.request("/collect", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    await expectProblem(preflight, 403);
    const res = await s.request(
      "/collect",
      jsonWith(
        { public_id: s.workspace.public_id, events: [{ event: "x", eventId: "no" }] },
        headers(origin),
      ),
    );
    await expectProblem(res, 403);
  }
  assert.equal(await countStored(s), 2);

  const created = await expectJson<{ allowed_origins: string[] }>(
    await s.request(
      "/v1/workspaces",
      jsonInit({ name: "Wild", allowed_origins: ["https://*.Other.example"] }, TEST_ROOT_TOKEN),
    ),
    201,
  );
  assert.deepEqual(created.allowed_origins, ["https://*.other.example"]);
  await expectProblem(
    await s.request(
      "/v1/workspaces",
      jsonInit({
        name: "Bad",
        allowed_origins: [
          "https://a.*.shop.example",
          "https://*shop.example",
          "https://*.example",
        ],
      }, TEST_ROOT_TOKEN),
    ),
    400,
    ["allowed_origins.0", "allowed_origins.1", "allowed_origins.2"],
  );
  await expectProblem(
    await s.request("/v1/workspace", {
      method: "PATCH",
      headers: { "content-type": "application/json", ...bearer(s.workspace.admin_key) },
      body: JSON.stringify({ allowed_origins: ["https://shop.*.example"] }),
    }),
    400,
    ["allowed_origins.0"],
  );
});

Deno.test("Browser endpoints take client_ip and user_agent from the connection, server keys from the body", async () => {
  await using s = await openTestSluice();
  const forged = { client_ip: "6.6.6.6", user_agent: "Forged/1.0", email: "ada@example.com" };
  const browserHeaders = { origin: "https://shop.example", "user-agent": CHROME };
  await expectJson(
    await s.request(
      "/v1/browser/events",
      jsonWith({
        public_id: s.workspace.public_id,
        event_id: "br-ip",
        event_name: "lead",
        user_data: forged,
      }, browserHeaders),
      "203.0.113.9",
    ),
    202,
  );
  await expectJson(
    await s.request(
      "/collect",
      jsonWith({
        public_id: s.workspace.public_id,
        events: [{ event: "Lead", eventId: "co-ip", user: forged }],
      }, browserHeaders),
      "203.0.113.10",
    ),
    202,
  );
  for (const [id, ip] of [["br-ip", "203.0.113.9"], ["co-ip", "203.0.113.10"]] as const) {
    const event = await storedEvent(s, id);
    assert.equal(event.user_data.client_ip, ip, id);
    assert.equal(event.user_data.user_agent, CHROME, id);
    assert.equal(event.user_data.email, "ada@example.com", id);
  }

  const key = s.workspace.ingest_key;
  await expectJson(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: "srv-ip", event_name: "lead", user_data: forged }, key),
    ),
    202,
  );
  await expectJson(
    await s.request(
      "/v1/track",
      jsonWith(
        { messageId: "seg-ip", event: "x", context: { ip: "6.6.6.6", userAgent: "Forged/1.0" } },
        segmentBasic(key),
      ),
    ),
    202,
  );
  await expectJson(
    await s.request(
      `/collect/hook?k=${key}&event=Lead&event_id=hook-ip&ip=6.6.6.6&userAgent=Forged/1.0`,
    ),
    202,
  );
  for (const id of ["srv-ip", "seg-ip", "hook-ip"]) {
    const event = await storedEvent(s, id);
    assert.equal(event.user_data.client_ip, "6.6.6.6", id);
    assert.equal(event.user_data.user_agent, "Forged/1.0", id);
  }
});

Deno.test("A destination or webhook URL with port 0 is refused with a clear message", async () => {
  await using s = await openTestSluice({ SLUICE_ALLOW_PRIVATE_URLS: "1" });
  const admin = s.workspace.admin_key;
  const reason = 'Refused URL "http://127.0.0.1:0": port 0 is reserved; use a port from 1 to 65535';
  const webhook = await expectProblem(
    await s.request("/v1/webhooks", jsonInit({ url: "http://127.0.0.1:0/hook" }, admin)),
    400,
    ["url"],
  );
  assert.deepEqual(webhook.errors, [{ path: "url", message: reason }]);
  const platform = await expectProblem(
    await s.request(
      "/v1/platforms",
      jsonInit({
        type: "webhook",
        name: "Port zero",
        config: { url: "http://127.0.0.1:0/hook" },
      }, admin),
    ),
    400,
    ["config.url"],
  );
  assert.deepEqual(platform.errors, [{ path: "config.url", message: reason }]);
  const meta = await expectProblem(
    await s.request(
      "/v1/platforms",
      jsonInit({
        type: "meta",
        name: "Port zero",
        config: {
          pixel_id: "1",
          access_token: "EAAB",
          endpoint: "https://graph.example:0",
        },
      }, admin),
    ),
    400,
    ["config.endpoint"],
  );
  assert.match(meta.errors?.[0]?.message ?? "", /port 0 is reserved/);
});

Deno.test('A Segment message of type "nuke" is 400 naming type; in a batch only that item is rejected', async () => {
  await using s = await openTestSluice();
  const auth = segmentBasic(s.workspace.ingest_key);
  const message = 'must be one of track, identify, page, screen, group, alias, not "nuke"';
  const single = await expectProblem(
    await s.request("/v1/track", jsonWith({ type: "nuke", messageId: "n-1", event: "x" }, auth)),
    400,
    ["type"],
  );
  assert.deepEqual(single.errors, [{ path: "type", message }]);
  const batch = await expectJson<BatchJson>(
    await s.request(
      "/v1/batch",
      jsonWith({
        batch: [
          { type: "track", messageId: "t-1", event: "Lead Generated" },
          { type: "nuke", messageId: "n-2", event: "x" },
          { type: "identify", messageId: "i-1", userId: "u-1" },
        ],
      }, auth),
    ),
    202,
  );
  assert.deepEqual(batch.results, [
    { event_id: "t-1", status: "accepted" },
    { event_id: "n-2", status: "rejected", errors: [{ path: "batch.1.type", message }] },
    { event_id: "i-1", status: "accepted" },
  ]);
  assert.equal(batch.rejected, 1);
  const allBad = await expectProblem(
    await s.request("/v1/import", jsonWith({ batch: [{ type: "nuke" }, { type: 7 }] }, auth)),
    400,
    ["batch.0.type", "batch.1.type"],
  );
  assert.equal(allBad.detail, "No event in the batch is valid");
  assert.equal(await countStored(s), 2);
});
