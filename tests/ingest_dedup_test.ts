import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import {
  type BatchJson,
  countStored,
  expectJson,
  expectProblem,
  jsonWith,
  segmentBasic,
  storedEvent,
} from "./_http.ts";
import { expectDuplicate } from "./_ingest.ts";

Deno.test("An event_id sent natively is a duplicate in every other dialect", async () => {
  await using s = await openTestSluice();
  const id = "cross-1";
  await expectJson(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: id, event_name: "purchase", value: 1 }, s.workspace.ingest_key),
    ),
    202,
  );
  const auth = segmentBasic(s.workspace.ingest_key);
  // Segment: messageId, single call (200, as Segment answers) and batch.
  await expectDuplicate(
    await s.request("/v1/track", jsonWith({ messageId: id, event: "Order Completed" }, auth)),
    id,
  );
  const segBatch = await expectJson<BatchJson>(
    await s.request(
      "/v1/batch",
      jsonWith({ batch: [{ type: "track", messageId: id, event: "x" }] }, auth),
    ),
    202,
  );
  assert.deepEqual(segBatch.results, [{ event_id: id, status: "duplicate" }]);
  // Hook: event_id (GET and POST), answered 200 so the sender stops retrying.
  await expectDuplicate(
    await s.request(`/collect/hook?k=${s.workspace.ingest_key}&event=Purchase&event_id=${id}`),
    id,
  );
  await expectDuplicate(
    await s.request(
      `/collect/hook?k=${s.workspace.ingest_key}`,
      jsonWith({ event: "Purchase", eventId: id }, {}),
    ),
    id,
  );
  // Browser: native body and the collect dialect.
  const browser = await s.request(
    "/v1/browser/events",
    jsonWith({ public_id: s.workspace.public_id, event_id: id, event_name: "purchase" }, {
      origin: "https://shop.example",
    }),
  );
  assert.equal(browser.headers.get("access-control-allow-origin"), "https://shop.example");
  assert.equal((await expectProblem(browser, 409)).event_id, id);
  const collect = await expectJson<BatchJson>(
    await s.request(
      "/collect",
      jsonWith(
        { public_id: s.workspace.public_id, events: [{ event: "Purchase", eventId: id }] },
        {
          origin: "https://shop.example",
        },
      ),
    ),
    202,
  );
  assert.deepEqual(collect.results, [{ event_id: id, status: "duplicate" }]);

  // Only the first, native event is stored.
  assert.equal(await countStored(s), 1);
  const event = await storedEvent(s, id);
  assert.equal(event.dialect, "native");
  assert.equal(event.value, 1);
});

Deno.test("An id first sent through Segment is a duplicate natively", async () => {
  await using s = await openTestSluice();
  await expectJson(
    await s.request(
      "/v1/track",
      jsonWith(
        { messageId: "seg-first", event: "Lead Generated" },
        segmentBasic(
          s.workspace
            .ingest_key,
        ),
      ),
    ),
    202,
  );
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit({ event_id: "seg-first", event_name: "lead" }, s.workspace.ingest_key),
    ),
    409,
  );
  assert.equal((await storedEvent(s, "seg-first")).dialect, "segment");
});

Deno.test("Concurrent requests with the same event_id store it exactly once", async () => {
  await using s = await openTestSluice();
  const responses = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      s.request(
        "/v1/events",
        jsonInit(
          { event_id: "race-1", event_name: "purchase", value: i },
          s.workspace
            .ingest_key,
        ),
      )),
  );
  const statuses = responses.map((r) => r.status).sort();
  await Promise.all(responses.map((r) => r.body?.cancel()));
  assert.deepEqual(statuses, [202, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
  assert.equal(await countStored(s), 1);
});

Deno.test("A shorter dedup window still refuses an id repeated inside it", async () => {
  await using s = await openTestSluice();
  await s.rt.workspaces.update(s.workspace.id, { settings: { dedup_window_seconds: 60 } });
  const send = () =>
    s.request(
      "/v1/events",
      jsonInit({ event_id: "win-1", event_name: "lead" }, s.workspace.ingest_key),
    );
  await expectJson(await send(), 202);
  await expectProblem(await send(), 409);
});
