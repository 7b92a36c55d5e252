import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";

Deno.test("POST /v1/events accepts an event and GET /v1/events/:id returns it handed off", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/events",
    jsonInit({ event_id: "e1", event_name: "Purchase", value: 5 }, s.workspace.ingest_key),
  );
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.event_id, "e1");
  await s.rt.committer.idle();
  let view;
  for (let i = 0; i < 50; i++) {
    view = await (await s.request("/v1/events/e1", {
      headers: { authorization: `Bearer ${s.workspace.admin_key}` },
    })).json();
    if (view.handed_off_at) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(view.event.event_name, "purchase");
  assert.ok(view.handed_off_at);
});
