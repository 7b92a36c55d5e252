import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import {
  type AcceptedJson,
  awayFromMinuteEdge,
  type BatchJson,
  bearer,
  countStored,
  expectJson,
  expectProblem,
  listEvents,
  patchSettings,
  storedEvent,
} from "./_http.ts";

const nowS = () => Math.floor(Date.now() / 1000);

Deno.test("POST /v1/events answers 202 for one event and stores it as sent", async () => {
  await using s = await openTestSluice();
  const time = nowS() - 60;
  const res = await s.request(
    "/v1/events",
    jsonInit({
      event_id: "order-1001",
      event_name: "Purchase",
      event_time: time,
      action_source: "website",
      user_data: { email: "ada@example.com", phone: 16505551212, country: "US" },
      value: "49.90",
      currency: "eur",
      order_id: 1001,
      items: [{ id: "sku-1", quantity: 2, price: "24.95" }],
      page: { url: "https://shop.example/checkout?gclid=G-1&utm_source=news" },
      consent: { ad_user_data: true, ad_personalization: "DENIED" },
      properties: { coupon: "WELCOME" },
    }, s.workspace.ingest_key),
  );
  const body = await expectJson<AcceptedJson>(res, 202);
  assert.deepEqual(Object.keys(body).sort(), ["event_id", "success", "trace_id"]);
  assert.equal(body.success, true);
  assert.equal(body.event_id, "order-1001");
  assert.match(body.trace_id, /^[0-9a-f]{8,}$/);

  const event = await storedEvent(s, "order-1001");
  assert.equal(event.workspace_id, s.workspace.id);
  assert.equal(event.event_name, "purchase");
  assert.equal(event.original_event_name, "Purchase");
  assert.equal(event.event_time, new Date(time * 1000).toISOString());
  assert.equal(event.source, "server");
  assert.equal(event.dialect, "native");
  assert.equal(event.action_source, "website");
  assert.equal(event.value, 49.9);
  assert.equal(event.currency, "EUR");
  assert.equal(event.order_id, "1001");
  assert.deepEqual(event.items, [{ id: "sku-1", quantity: 2, price: 24.95 }]);
  assert.equal(event.page?.path, "/checkout");
  assert.deepEqual(event.utm, { source: "news" });
  assert.deepEqual(event.consent, { ad_user_data: "granted", ad_personalization: "denied" });
  assert.equal(event.user_data.email, "ada@example.com");
  assert.equal(event.user_data.phone, "16505551212");
  assert.deepEqual(event.user_data.click_ids, { gclid: "G-1" });
  assert.deepEqual(event.properties, { coupon: "WELCOME" });
  assert.equal(event.trace_id, body.trace_id);
  // A server-to-server request's own IP and agent are not the user's.
  assert.equal(event.user_data.client_ip, undefined);
  assert.equal(event.user_data.user_agent, undefined);
});

Deno.test("POST /v1/events generates an event_id when none is sent", async () => {
  await using s = await openTestSluice();
  const body = await expectJson<AcceptedJson>(
    await s.request("/v1/events", jsonInit({ event_name: "lead" }, s.workspace.ingest_key)),
    202,
  );
  assert.ok(body.event_id.length > 0);
  assert.equal((await storedEvent(s, body.event_id)).event_name, "lead");
});

Deno.test("POST /v1/events answers 409 with the event_id when the same event_id repeats", async () => {
  await using s = await openTestSluice();
  const send = (value: number) =>
    s.request(
      "/v1/events",
      jsonInit({ event_id: "dup-1", event_name: "purchase", value }, s.workspace.ingest_key),
    );
  await expectJson<AcceptedJson>(await send(1), 202);
  const problem = await expectProblem(await send(2), 409);
  assert.equal(problem.event_id, "dup-1");
  assert.equal(problem.type, "https://sluice.dev/problems/duplicate");
  // The first event stays; the second was not stored.
  assert.equal((await storedEvent(s, "dup-1")).value, 1);
  assert.equal(await countStored(s), 1);
  // A numeric id is the same key as its string form.
  await expectJson<AcceptedJson>(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_id: "7", event_name: "a" },
        s.workspace
          .ingest_key,
      ),
    ),
    202,
  );
  const numeric = await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_id: 7, event_name: "a" },
        s.workspace
          .ingest_key,
      ),
    ),
    409,
  );
  assert.equal(numeric.event_id, "7");
});

Deno.test("POST /v1/events dedups per workspace only", async () => {
  await using s = await openTestSluice();
  const other = await s.rt.workspaces.create({ name: "Other" });
  const event = { event_id: "shared-1", event_name: "lead" };
  await expectJson(await s.request("/v1/events", jsonInit(event, s.workspace.ingest_key)), 202);
  await expectJson(await s.request("/v1/events", jsonInit(event, other.ingestKey.secret)), 202);
});

Deno.test("POST /v1/events answers a batch with per-event results in order", async () => {
  await using s = await openTestSluice();
  await expectJson(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: "b-0", event_name: "lead" }, s.workspace.ingest_key),
    ),
    202,
  );
  const res = await s.request(
    "/v1/events",
    jsonInit({
      events: [
        { event_id: "b-1", event_name: "add_to_cart", value: 5 },
        { event_id: "b-0", event_name: "lead" },
        { event_id: "b-2", event_name: "purchase", value: 7 },
      ],
    }, s.workspace.ingest_key),
  );
  const body = await expectJson<BatchJson>(res, 202);
  assert.equal(body.success, true);
  assert.equal(body.accepted, 2);
  assert.equal(body.duplicates, 1);
  assert.equal(body.rejected, 0);
  assert.equal(typeof body.trace_id, "string");
  assert.deepEqual(body.results, [
    { event_id: "b-1", status: "accepted" },
    { event_id: "b-0", status: "duplicate" },
    { event_id: "b-2", status: "accepted" },
  ]);
  assert.equal((await storedEvent(s, "b-1")).value, 5);
  assert.equal((await storedEvent(s, "b-2")).value, 7);
  assert.equal(await countStored(s), 3);
});

Deno.test("POST /v1/events stores the valid events of a batch and names the invalid one's fields", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/events",
    jsonInit({
      events: [
        { event_id: "p-1", event_name: "lead" },
        { event_id: "p-2", value: 3 },
        { event_id: "p-3", event_name: "purchase", currency: "euro" },
        { event_id: "p-4", event_name: "purchase", value: 9 },
      ],
    }, s.workspace.ingest_key),
  );
  const body = await expectJson<BatchJson>(res, 202);
  assert.equal(body.accepted, 2);
  assert.equal(body.duplicates, 0);
  assert.equal(body.rejected, 2);
  assert.equal(body.results.length, 4);
  assert.deepEqual(body.results[0], { event_id: "p-1", status: "accepted" });
  assert.equal(body.results[1]?.status, "rejected");
  assert.equal(body.results[1]?.event_id, "p-2");
  assert.deepEqual(body.results[1]?.errors?.map((e) => e.path), ["events.1.event_name"]);
  assert.equal(body.results[2]?.status, "rejected");
  assert.deepEqual(body.results[2]?.errors?.map((e) => e.path), ["events.2.currency"]);
  assert.deepEqual(body.results[3], { event_id: "p-4", status: "accepted" });

  assert.equal((await storedEvent(s, "p-1")).event_name, "lead");
  assert.equal((await storedEvent(s, "p-4")).value, 9);
  await expectProblem(
    await s.request("/v1/events/p-2", { headers: bearer(s.workspace.admin_key) }),
    404,
  );
  assert.equal(await countStored(s), 2);
});

Deno.test("POST /v1/events answers 400 with every field error when no event of a batch is valid", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { events: [{ event_id: "x" }, "not an object", { event_name: 5 }] },
        s.workspace
          .ingest_key,
      ),
    ),
    400,
    ["events.0.event_name", "events.1", "events.2.event_name"],
  );
  assert.equal(await countStored(s), 0);
});

Deno.test("POST /v1/events counts an event_id repeated inside one batch once", async () => {
  await using s = await openTestSluice();
  const body = await expectJson<BatchJson>(
    await s.request(
      "/v1/events",
      jsonInit({
        events: [
          { event_id: "same", event_name: "purchase", value: 1 },
          { event_id: "other", event_name: "lead" },
          { event_id: "same", event_name: "purchase", value: 2 },
        ],
      }, s.workspace.ingest_key),
    ),
    202,
  );
  assert.equal(body.accepted, 2);
  assert.equal(body.duplicates, 1);
  assert.deepEqual(body.results.map((r) => [r.event_id, r.status]), [
    ["same", "accepted"],
    ["other", "accepted"],
    ["same", "duplicate"],
  ]);
  assert.equal((await storedEvent(s, "same")).value, 1);
  assert.equal(await countStored(s), 2);
});

Deno.test("POST /v1/events answers 400 for an empty or non-array events list", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request("/v1/events", jsonInit({ events: [] }, s.workspace.ingest_key)),
    400,
    ["events"],
  );
  await expectProblem(
    await s.request("/v1/events", jsonInit({ events: { a: 1 } }, s.workspace.ingest_key)),
    400,
    ["events"],
  );
  await expectProblem(
    await s.request("/v1/events", jsonInit([{ event_name: "lead" }], s.workspace.ingest_key)),
    400,
  );
  await expectProblem(
    await s.request("/v1/events", jsonInit("42", s.workspace.ingest_key)),
    400,
  );
});

Deno.test("POST /v1/events answers 413 for 501 events and stores none", async () => {
  await using s = await openTestSluice();
  const events = Array.from({ length: 501 }, (_, i) => ({ event_id: `e${i}`, event_name: "x" }));
  await expectProblem(
    await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key)),
    413,
  );
  assert.equal(await countStored(s), 0);
  // 500 is the limit, not past it.
  const ok = await expectJson<BatchJson>(
    await s.request(
      "/v1/events",
      jsonInit(
        { events: events.slice(0, 500) },
        s.workspace
          .ingest_key,
      ),
    ),
    202,
  );
  assert.equal(ok.accepted, 500);
  assert.equal(await countStored(s), 500);
});

Deno.test("POST /v1/events answers 413 for a body over 512 KiB", async () => {
  await using s = await openTestSluice();
  const body = JSON.stringify({ event_name: "x", properties: { pad: "a".repeat(512 * 1024) } });
  await expectProblem(await s.request("/v1/events", jsonInit(body, s.workspace.ingest_key)), 413);
  // Same with a declared Content-Length.
  await expectProblem(
    await s.request("/v1/events", {
      method: "POST",
      headers: {
        ...bearer(s.workspace.ingest_key),
        "content-type": "application/json",
        "content-length": String(body.length),
      },
      body,
    }),
    413,
  );
  assert.equal(await countStored(s), 0);
});

Deno.test("POST /v1/events answers 413 for a 10 MB body and keeps serving", async () => {
  await using s = await openTestSluice();
  const big = new Uint8Array(10 * 1024 * 1024).fill(0x61);
  big.set(new TextEncoder().encode('{"event_name":"x","p":"'), 0);
  await expectProblem(
    await s.request("/v1/events", {
      method: "POST",
      headers: { ...bearer(s.workspace.ingest_key), "content-type": "application/json" },
      body: big,
    }),
    413,
  );
  // A streamed body without Content-Length is cut off too.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(512 * 1024).fill(0x20));
      controller.close();
    },
  });
  await expectProblem(
    await s.request("/v1/events", {
      method: "POST",
      headers: { ...bearer(s.workspace.ingest_key), "content-type": "application/json" },
      body: stream,
    }),
    413,
  );
  const after = await expectJson<AcceptedJson>(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: "after-big", event_name: "lead" }, s.workspace.ingest_key),
    ),
    202,
  );
  assert.equal(after.event_id, "after-big");
  assert.equal(await countStored(s), 1);
});

Deno.test("POST /v1/events answers 400 for malformed JSON, an empty body or invalid UTF-8", async () => {
  await using s = await openTestSluice();
  const post = (body: BodyInit | null) =>
    s.request("/v1/events", {
      method: "POST",
      headers: { ...bearer(s.workspace.ingest_key), "content-type": "application/json" },
      body,
    });
  await expectProblem(await post('{"event_name": "lead",'), 400);
  await expectProblem(await post("{'event_name': 'lead'}"), 400);
  await expectProblem(await post(""), 400);
  await expectProblem(await post("   \n"), 400);
  await expectProblem(await post(null), 400);
  const invalidUtf8 = new Uint8Array([
    ...new TextEncoder().encode('{"event_name":"'),
    0xc3,
    0x28,
    0xff,
    ...new TextEncoder().encode('"}'),
  ]);
  const problem = await expectProblem(await post(invalidUtf8), 400);
  assert.match(problem.detail, /UTF-8/);
  assert.equal(await countStored(s), 0);
});

Deno.test("POST /v1/events answers 415 for a content type other than JSON", async () => {
  await using s = await openTestSluice();
  const body = JSON.stringify({ event_name: "lead" });
  for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
    await expectProblem(
      await s.request("/v1/events", {
        method: "POST",
        headers: { ...bearer(s.workspace.ingest_key), "content-type": type },
        body,
      }),
      415,
    );
  }
  await expectProblem(
    await s.request("/v1/events", {
      method: "POST",
      headers: bearer(s.workspace.ingest_key),
      body: new TextEncoder().encode(body),
    }),
    415,
  );
  // Parameters on the JSON type are fine.
  const ok = await s.request("/v1/events", {
    method: "POST",
    headers: {
      ...bearer(s.workspace.ingest_key),
      "content-type": "application/json; charset=utf-8",
    },
    body,
  });
  assert.equal(ok.status, 202);
  await ok.body?.cancel();
  assert.equal(await countStored(s), 1);
});

Deno.test("POST /v1/events answers 400 naming each field of the wrong type", async () => {
  await using s = await openTestSluice();
  const post = (event: unknown) => s.request("/v1/events", jsonInit(event, s.workspace.ingest_key));
  await expectProblem(await post({ event_name: "x", value: "abc" }), 400, ["value"]);
  await expectProblem(await post({ event_name: 5 }), 400, ["event_name"]);
  await expectProblem(await post({ event_name: 5, value: "abc" }), 400, ["event_name", "value"]);
  await expectProblem(
    await post({ event_name: "x", user_data: { email: 12, external_ids: "a" } }),
    400,
    ["user_data.email", "user_data.external_ids"],
  );
  await expectProblem(
    await post({ event_name: "x", items: [{ id: "a" }, { quantity: 1 }] }),
    400,
    ["items.1.id"],
  );
  await expectProblem(await post({ event_name: "x", event_time: true }), 400, ["event_time"]);
  await expectProblem(await post({ event_name: "x", properties: [1, 2] }), 400, [
    "properties",
  ]);
  await expectProblem(await post({ event_name: "x", value: null }), 400, ["value"]);
  assert.equal(await countStored(s), 0);
});

Deno.test("POST /v1/events answers 400 for properties nested 50 levels deep", async () => {
  await using s = await openTestSluice();
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 50; i++) deep = { a: deep };
  const problem = await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit({ event_name: "x", properties: deep }, s.workspace.ingest_key),
    ),
    400,
  );
  assert.equal(problem.errors?.length, 1);
  assert.match(problem.errors?.[0]?.path ?? "", /^properties\.a\.a/);
  // Also inside a batch, with the event's position in the path.
  const batch = await s.request(
    "/v1/events",
    jsonInit(
      { events: [{ event_name: "ok" }, { event_name: "x", deep }] },
      s.workspace
        .ingest_key,
    ),
  );
  const body = await expectJson<BatchJson>(batch, 202);
  assert.equal(body.results[1]?.status, "rejected");
  assert.match(body.results[1]?.errors?.[0]?.path ?? "", /^events\.1\.deep\.a/);
  assert.equal(await countStored(s), 1);
});

Deno.test("POST /v1/events answers 400 at event_time for a time an hour ahead or 200 days old", async () => {
  await using s = await openTestSluice();
  const post = (event_time: number | string) =>
    s.request("/v1/events", jsonInit({ event_name: "x", event_time }, s.workspace.ingest_key));
  await expectProblem(await post(nowS() + 3600), 400, ["event_time"]);
  await expectProblem(await post(nowS() - 200 * 86_400), 400, ["event_time"]);
  await expectProblem(await post(new Date(Date.now() + 3_600_000).toISOString()), 400, [
    "event_time",
  ]);
  await expectProblem(await post(new Date(Date.now() - 200 * 86_400_000).toISOString()), 400, [
    "event_time",
  ]);
  await expectProblem(await post("yesterday"), 400, ["event_time"]);
  assert.equal(await countStored(s), 0);

  // ISO 8601, unix seconds and unix milliseconds in bounds are accepted.
  const iso = new Date(Date.now() - 3_600_000);
  iso.setMilliseconds(0);
  const accepted = await expectJson<AcceptedJson>(
    await post(iso.toISOString()),
    202,
  );
  assert.equal((await storedEvent(s, accepted.event_id)).event_time, iso.toISOString());
  const ms = Date.now() - 5000;
  const inMs = await expectJson<AcceptedJson>(await post(ms), 202);
  assert.equal((await storedEvent(s, inMs.event_id)).event_time, new Date(ms).toISOString());
});

Deno.test("POST /v1/events answers 400 for an over-long event_id or event_name", async () => {
  await using s = await openTestSluice();
  const post = (event: unknown) => s.request("/v1/events", jsonInit(event, s.workspace.ingest_key));
  await expectProblem(await post({ event_id: "i".repeat(129), event_name: "x" }), 400, [
    "event_id",
  ]);
  await expectProblem(await post({ event_name: "n".repeat(101) }), 400, ["event_name"]);
  await expectProblem(await post({ event_id: "", event_name: "x" }), 400, ["event_id"]);
  await expectProblem(await post({ event_name: "   " }), 400, ["event_name"]);
  assert.equal(await countStored(s), 0);
  // At the limits exactly, accepted.
  const ok = await expectJson<AcceptedJson>(
    await post({ event_id: "i".repeat(128), event_name: "n".repeat(100) }),
    202,
  );
  assert.equal(ok.event_id, "i".repeat(128));
});

Deno.test("POST /v1/events keeps unknown top-level fields in properties", async () => {
  await using s = await openTestSluice();
  await expectJson(
    await s.request(
      "/v1/events",
      jsonInit({
        event_id: "u-1",
        event_name: "signup_step",
        plan: "pro",
        seats: 3,
        nested: { a: [1, 2] },
        properties: { referrer_code: "R1" },
      }, s.workspace.ingest_key),
    ),
    202,
  );
  const event = await storedEvent(s, "u-1");
  assert.deepEqual(event.properties, {
    plan: "pro",
    seats: 3,
    nested: { a: [1, 2] },
    referrer_code: "R1",
  });
  assert.equal(event.plan, undefined);
});

Deno.test("POST /v1/events normalises known event names and keeps custom ones", async () => {
  await using s = await openTestSluice();
  const body = await expectJson<BatchJson>(
    await s.request(
      "/v1/events",
      jsonInit({
        events: [
          { event_id: "n-1", event_name: "Purchase" },
          { event_id: "n-2", event_name: "PageView" },
          { event_id: "n-3", event_name: "add-to-cart" },
          { event_id: "n-4", event_name: "Wishlist Shared" },
          { event_id: "n-5", event_name: "purchase" },
        ],
      }, s.workspace.ingest_key),
    ),
    202,
  );
  assert.equal(body.accepted, 5);
  const purchase = await storedEvent(s, "n-1");
  assert.equal(purchase.event_name, "purchase");
  assert.equal(purchase.original_event_name, "Purchase");
  assert.equal((await storedEvent(s, "n-2")).event_name, "page_view");
  assert.equal((await storedEvent(s, "n-3")).event_name, "add_to_cart");
  const custom = await storedEvent(s, "n-4");
  assert.equal(custom.event_name, "Wishlist Shared");
  assert.equal(custom.original_event_name, undefined);
  assert.equal((await storedEvent(s, "n-5")).original_event_name, undefined);
});

Deno.test("POST /v1/events answers 429 with Retry-After past the workspace rate limit", async () => {
  await using s = await openTestSluice();
  await patchSettings(s, { rate_limit_per_minute: 5 });
  await awayFromMinuteEdge();
  const batch = (prefix: string) =>
    s.request(
      "/v1/events",
      jsonInit({
        events: [1, 2, 3].map((i) => ({ event_id: `${prefix}-${i}`, event_name: "lead" })),
      }, s.workspace.ingest_key),
    );
  const first = await expectJson<BatchJson>(await batch("a"), 202);
  assert.equal(first.accepted, 3);
  const limited = await batch("b");
  const retryAfter = limited.headers.get("retry-after");
  await expectProblem(limited, 429);
  assert.match(retryAfter ?? "", /^\d+$/);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60);
  // The refused batch stored nothing; what is left of the budget still works.
  assert.equal(await countStored(s), 3);
  await expectJson(
    await s.request(
      "/v1/events",
      jsonInit({ events: [{ event_name: "x" }, { event_name: "y" }] }, s.workspace.ingest_key),
    ),
    202,
  );
  await expectProblem(
    await s.request("/v1/events", jsonInit({ event_name: "z" }, s.workspace.ingest_key)),
    429,
  );
  assert.equal(await countStored(s), 5);
  const names = (await listEvents(s)).map((e) => e.event_id);
  assert.ok(!names.some((id) => id.startsWith("b-")));
});

Deno.test("POST /v1/events answers 400 for one event over the stored size limit", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_name: "x", properties: { pad: "a".repeat(40_000) } },
        s.workspace
          .ingest_key,
      ),
    ),
    400,
  );
  assert.equal(await countStored(s), 0);
});

// Regression (fixed): lib/event_input.ts measures an event as JSON.stringify(event).length (UTF-16 code
// units), but user_data is sealed as UTF-8 then base64 (lib/event_store.ts sealEvent), so
// 30 000 "€" in user_data (≈30 KB by that measure) become a ≈120 KB KV value. The group
// commit then throws "Value too large (max 65536 bytes)" and every event of the commit
// group — the valid one in the same batch and other requests' events committed with it —
// answers 503. API.md: "Never a 5xx for bad input"; expected 400 (or 413) for that event
// alone, the valid ones accepted.
Deno.test({
  name: "POST /v1/events refuses an event whose multi-byte user_data is too large, without a 5xx",
  fn: async () => {
    await using s = await openTestSluice();
    const poison = { event_id: "big", event_name: "x", user_data: { note: "€".repeat(30_000) } };
    const single = await s.request("/v1/events", jsonInit(poison, s.workspace.ingest_key));
    assert.ok(single.status === 400 || single.status === 413, `got ${single.status}`);
    await single.body?.cancel();

    const batch = await expectJson<BatchJson>(
      await s.request(
        "/v1/events",
        jsonInit(
          { events: [{ event_id: "good-1", event_name: "lead" }, poison] },
          s.workspace
            .ingest_key,
        ),
      ),
      202,
    );
    assert.deepEqual(batch.results.map((r) => r.status), ["accepted", "rejected"]);

    // A concurrent, valid request must not fail with it.
    const [good, bad] = await Promise.all([
      s.request(
        "/v1/events",
        jsonInit({ event_id: "good-2", event_name: "lead" }, s.workspace.ingest_key),
      ),
      s.request("/v1/events", jsonInit(poison, s.workspace.ingest_key)),
    ]);
    assert.equal(good.status, 202);
    assert.ok(bad.status < 500, `got ${bad.status}`);
    await good.body?.cancel();
    await bad.body?.cancel();
    assert.equal((await storedEvent(s, "good-1")).event_name, "lead");
    assert.equal((await storedEvent(s, "good-2")).event_name, "lead");
  },
});
