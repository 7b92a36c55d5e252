import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import {
  bearer,
  type EventPageJson,
  type EventViewJson,
  expectJson,
  expectProblem,
  jsonWith,
  segmentBasic,
} from "./_http.ts";
import { eventually } from "./_wait.ts";

async function sendEach(s: TestSluice, events: Record<string, unknown>[]): Promise<void> {
  for (const event of events) {
    await expectJson(await s.request("/v1/events", jsonInit(event, s.workspace.ingest_key)), 202);
  }
}

function page(s: TestSluice, query: string): Promise<EventPageJson> {
  return s.request(`/v1/events?${query}`, { headers: bearer(s.workspace.admin_key) })
    .then((res) => expectJson<EventPageJson>(res, 200));
}

Deno.test("GET /v1/events pages newest first; next_cursor returns the rest", async () => {
  await using s = await openTestSluice();
  await sendEach(
    s,
    [1, 2, 3, 4, 5].map((i) => ({ event_id: `pg-${i}`, event_name: "lead" })),
  );
  const first = await page(s, "limit=3");
  assert.deepEqual(first.data.map((e) => e.event_id), ["pg-5", "pg-4", "pg-3"]);
  assert.equal(typeof first.next_cursor, "string");
  const rest = await page(s, `limit=3&cursor=${encodeURIComponent(first.next_cursor ?? "")}`);
  assert.deepEqual(rest.data.map((e) => e.event_id), ["pg-2", "pg-1"]);
  assert.equal(rest.next_cursor, null);

  const all = await page(s, "");
  assert.equal(all.data.length, 5);
  assert.equal(all.next_cursor, null);
  // Listed events are opened: user data readable, nothing sealed leaks out.
  for (const event of all.data) {
    assert.equal(typeof event.user_data, "object");
    assert.equal(event.user_data_sealed, undefined);
  }
});

Deno.test("GET /v1/events filters by event_name and source", async () => {
  await using s = await openTestSluice();
  await sendEach(s, [
    { event_id: "f-1", event_name: "Purchase", source: "server" },
    { event_id: "f-2", event_name: "lead", source: "crm" },
    { event_id: "f-3", event_name: "purchase", source: "app" },
    { event_id: "f-4", event_name: "lead" },
  ]);
  const browser = await s.request(
    "/v1/browser/events",
    jsonWith({ public_id: s.workspace.public_id, event_id: "f-5", event_name: "purchase" }, {
      origin: "https://shop.example",
    }),
  );
  await expectJson(browser, 202);
  await expectJson(
    await s.request(
      "/v1/track",
      jsonWith(
        { messageId: "f-6", event: "Order Completed" },
        segmentBasic(
          s.workspace
            .ingest_key,
        ),
      ),
    ),
    202,
  );

  const ids = async (query: string) => (await page(s, query)).data.map((e) => e.event_id);
  assert.deepEqual(await ids("event_name=purchase"), ["f-6", "f-5", "f-3", "f-1"]);
  assert.deepEqual(await ids("event_name=lead"), ["f-4", "f-2"]);
  assert.deepEqual(await ids("source=web"), ["f-5"]);
  assert.deepEqual(await ids("source=server"), ["f-6", "f-4", "f-1"]);
  assert.deepEqual(await ids("source=crm&event_name=lead"), ["f-2"]);
  assert.deepEqual(await ids("event_name=refund"), []);
  // Filters and paging together.
  const first = await page(s, "event_name=purchase&limit=2");
  assert.deepEqual(first.data.map((e) => e.event_id), ["f-6", "f-5"]);
  assert.ok(first.next_cursor);
  const second = await page(
    s,
    `event_name=purchase&limit=2&cursor=${encodeURIComponent(first.next_cursor)}`,
  );
  assert.deepEqual(second.data.map((e) => e.event_id), ["f-3", "f-1"]);
});

Deno.test("GET /v1/events?match= finds the events holding an exact order id, email or click id", async () => {
  await using s = await openTestSluice();
  await sendEach(s, [
    {
      event_id: "m-1",
      event_name: "purchase",
      order_id: "ORD-9",
      user_data: { email: "Eve@x.io" },
    },
    { event_id: "m-2", event_name: "lead", user_data: { email: "eve@x.io", gclid: "Cj0K" } },
    { event_id: "m-3", event_name: "purchase", order_id: "ORD-90" },
  ]);
  const ids = async (query: string) => (await page(s, query)).data.map((e) => e.event_id);
  // Fan-out indexes the events, moments after the 202.
  await eventually(
    "the events indexed",
    async () =>
      (await ids("match=eve%40x.io")).length === 2 && (await ids("match=ORD-90")).length === 1 ||
      undefined,
  );
  assert.deepEqual(await ids("match=ord-9"), ["m-1"], "exact, any case: not ORD-90");
  assert.deepEqual(await ids("match=%20EVE%40x.io"), ["m-2", "m-1"]);
  assert.deepEqual(await ids("match=eve%40x.io&event_name=purchase"), ["m-1"]);
  assert.deepEqual(await ids("match=eve%40x.io&limit=1"), ["m-2"]);
  assert.deepEqual(await ids("match=Cj0K"), ["m-2"]);
  assert.deepEqual(await ids("match=m-3"), [], "event ids are not indexed: GET /v1/events/:id");
  const last = await page(s, "match=eve%40x.io&limit=1");
  assert.equal(last.next_cursor, null);
  await expectProblem(
    await s.request("/v1/events?match=", { headers: bearer(s.workspace.admin_key) }),
    400,
    ["match"],
  );
  await expectProblem(
    await s.request("/v1/events?match=ord-9&cursor=abc", {
      headers: bearer(s.workspace.admin_key),
    }),
    400,
    ["cursor"],
  );
});

Deno.test("GET /v1/events answers 400 for an invalid limit and 401/403 without a read key", async () => {
  await using s = await openTestSluice();
  const get = (query: string, key = s.workspace.admin_key) =>
    s.request(`/v1/events?${query}`, { headers: bearer(key) });
  await expectProblem(await get("limit=0"), 400, ["limit"]);
  await expectProblem(await get("limit=abc"), 400, ["limit"]);
  await expectProblem(await get("limit=1000"), 400, ["limit"]);
  await expectProblem(await get("start=yesterday"), 400, ["start"]);
  await expectProblem(await get("", s.workspace.ingest_key), 403);
  await expectProblem(await s.request("/v1/events"), 401);
});

Deno.test("GET /v1/events/:event_id returns the event and answers 404 for an unknown id", async () => {
  await using s = await openTestSluice();
  await sendEach(s, [{ event_id: "one/two?x", event_name: "lead" }]);
  const view = await expectJson<EventViewJson>(
    await s.request(`/v1/events/${encodeURIComponent("one/two?x")}`, {
      headers: bearer(s.workspace.admin_key),
    }),
    200,
  );
  assert.equal(view.event.event_id, "one/two?x");
  assert.ok(Array.isArray(view.deliveries));
  assert.ok(view.handed_off_at === null || typeof view.handed_off_at === "string");
  await expectProblem(
    await s.request("/v1/events/unknown", { headers: bearer(s.workspace.admin_key) }),
    404,
  );
  await expectProblem(
    await s.request("/v1/events/one", { headers: bearer(s.workspace.ingest_key) }),
    403,
  );
});
