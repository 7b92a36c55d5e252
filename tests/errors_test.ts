import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import { bearer, expectProblem } from "./_http.ts";

Deno.test("An unknown route answers a 404 problem", async () => {
  await using s = await openTestSluice();
  for (const path of ["/nope", "/v1/nothing-here", "/v1/events/a/b/c", "/v2/events"]) {
    const problem = await expectProblem(await s.request(path), 404);
    assert.equal(problem.type, "https://sluice.dev/problems/not-found");
  }
  await expectProblem(await s.request("/nope", jsonInit({ a: 1 })), 404);
});

Deno.test("A known path with a wrong method answers a 405 problem with Allow", async () => {
  await using s = await openTestSluice();
  const allow = (res: Response) =>
    (res.headers.get("allow") ?? "").split(",").map((m) => m.trim()).filter(Boolean).sort();

  const put = await s.request(
    "/v1/events",
    jsonInit(
      { event_name: "x" },
      s.workspace
        .ingest_key,
      "PUT",
    ),
  );
  assert.deepEqual(allow(put), ["GET", "POST"]);
  const problem = await expectProblem(put, 405);
  assert.equal(problem.type, "https://sluice.dev/problems/method-not-allowed");

  const del = await s.request("/v1/events", { method: "DELETE" });
  assert.deepEqual(allow(del), ["GET", "POST"]);
  await expectProblem(del, 405);

  const getTrack = await s.request("/v1/track");
  assert.deepEqual(allow(getTrack), ["POST"]);
  await expectProblem(getTrack, 405);

  const getWorkspaces = await s.request("/v1/workspaces");
  assert.deepEqual(allow(getWorkspaces), ["POST"]);
  await expectProblem(getWorkspaces, 405);

  const putKey = await s.request("/v1/api-keys/key_x", { method: "PUT" });
  assert.deepEqual(allow(putKey), ["DELETE"]);
  await expectProblem(putKey, 405);

  const getBrowser = await s.request("/v1/browser/events");
  assert.deepEqual(allow(getBrowser), ["OPTIONS", "POST"]);
  await expectProblem(getBrowser, 405);
});

Deno.test("Every error answer is problem+json, including 401, 403, 413 and 415", async () => {
  await using s = await openTestSluice();
  const cases: [Promise<Response>, number][] = [
    [s.request("/v1/events", jsonInit({ event_name: "x" })), 401],
    [s.request("/v1/api-keys", { headers: bearer(s.workspace.ingest_key) }), 403],
    [
      s.request(
        "/v1/events",
        jsonInit(
          { events: new Array(501).fill({}) },
          s.workspace
            .ingest_key,
        ),
      ),
      413,
    ],
    [
      s.request("/v1/events", {
        method: "POST",
        headers: { ...bearer(s.workspace.ingest_key), "content-type": "text/xml" },
        body: "<event/>",
      }),
      415,
    ],
    [s.request("/v1/events/missing", { headers: bearer(s.workspace.admin_key) }), 404],
  ];
  const seen = new Set<string>();
  for (const [pending, status] of cases) {
    const problem = await expectProblem(await pending, status);
    seen.add(problem.type);
  }
  // Each status has its own stable type.
  assert.equal(seen.size, cases.length);
});

Deno.test("Validation problems carry errors[{path, message}]", async () => {
  await using s = await openTestSluice();
  const problem = await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_name: "x", currency: "euro", user_data: { email: 5 } },
        s.workspace
          .ingest_key,
      ),
    ),
    400,
    ["currency", "user_data.email"],
  );
  assert.equal(problem.type, "https://sluice.dev/problems/invalid-request");
  for (const error of problem.errors ?? []) {
    assert.deepEqual(Object.keys(error).sort(), ["message", "path"]);
  }
});

Deno.test("GET /healthz answers 200 with status ok", async () => {
  await using s = await openTestSluice();
  const res = await s.request("/healthz");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json() as { status: string };
  assert.equal(body.status, "ok");
});

// --- Never a 5xx for bad input (API.md "Errors"). Each ignored test below fails today. ---

// Regression (fixed): lib/event_names.ts canonicalEventName() looks names up in a plain object literal
// (`ALIASES[squash(name)]`), so "constructor" (or "Constructor", "CONSTRUCTOR") returns
// Object.prototype.constructor — a function — as event_name. The group commit then throws
// "function Object() { [native code] } could not be cloned" and answers 503; every other
// event committed in the same group (other requests, other workspaces) fails with it.
// Expected: 202 with the custom name kept unchanged ("constructor").
Deno.test({
  name: "POST /v1/events keeps a custom event name that matches an Object.prototype key",
  fn: async () => {
    await using s = await openTestSluice();
    const [good, odd] = await Promise.all([
      s.request(
        "/v1/events",
        jsonInit(
          { event_id: "good", event_name: "lead" },
          s.workspace
            .ingest_key,
        ),
      ),
      s.request(
        "/v1/events",
        jsonInit({ event_id: "odd", event_name: "constructor" }, s.workspace.ingest_key),
      ),
    ]);
    assert.equal(good.status, 202);
    assert.equal(odd.status, 202);
    await good.body?.cancel();
    await odd.body?.cancel();
    const view = await (await s.request("/v1/events/odd", {
      headers: bearer(s.workspace.admin_key),
    })).json() as { event: { event_name: string } };
    assert.equal(view.event.event_name, "constructor");
    const track = await s.request("/v1/track", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${btoa(`${s.workspace.ingest_key}:`)}`,
      },
      body: JSON.stringify({ messageId: "seg-odd", event: "Constructor" }),
    });
    assert.equal(track.status, 202);
    await track.body?.cancel();
  },
});

// Regression (fixed): lib/dialects/hook.ts conversionHookToNative() reads `FIELD_MAP[key]` on a plain object
// literal; a flat field named like an Object.prototype member (toString, valueOf,
// constructor, hasOwnProperty) yields a function and `target.startsWith` throws →
// 503 "target.startsWith is not a function". Expected: 202, the field kept in properties.
Deno.test({
  name: "/collect/hook keeps fields named like Object.prototype members in properties",
  fn: async () => {
    await using s = await openTestSluice();
    const k = s.workspace.ingest_key;
    const get = await s.request(`/collect/hook?k=${k}&event=lead&event_id=h1&toString=1`);
    assert.equal(get.status, 202, await get.clone().text());
    await get.body?.cancel();
    const post = await s.request(
      `/collect/hook?k=${k}`,
      jsonInit({ event: "lead", event_id: "h2", valueOf: "2", constructor: "3" }),
    );
    assert.equal(post.status, 202, await post.clone().text());
    await post.body?.cancel();
    const view = await (await s.request("/v1/events/h2", {
      headers: bearer(s.workspace.admin_key),
    })).json() as { event: { properties: Record<string, unknown> } };
    assert.equal(view.event.properties.valueOf, "2");
  },
});

// Regression (fixed): routes/events.ts passes `cursor` straight to kv.list(); a cursor that is not one
// Sluice issued throws "TypeError: invalid cursor" → 503. Expected 400 with
// errors[{path: "cursor"}].
Deno.test({
  name: "GET /v1/events answers 400 for a cursor it did not issue",
  fn: async () => {
    await using s = await openTestSluice();
    await expectProblem(
      await s.request("/v1/events?cursor=garbage", { headers: bearer(s.workspace.admin_key) }),
      400,
      ["cursor"],
    );
  },
});

// Regression (fixed): ids and public ids from the request become Deno KV key parts unchecked; past
// 2 KiB kv.get throws "Key too large for read (max 2049 bytes)" → 503:
// GET /v1/events/<5000 chars> (routes/events.ts → EventStore.getByEventId),
// DELETE /v1/api-keys/<5000 chars> (ApiKeyStore.revoke),
// POST /v1/browser/events {"public_id": <5000 chars>} (WorkspaceStore.getByPublicId — an
// unauthenticated endpoint), and OPTIONS /v1/browser/events with a 5000-char Origin
// (WorkspaceStore.isOriginAllowedAnywhere — unauthenticated too).
// Expected 404, 404, 401 and 403.
Deno.test({
  name: "Over-long ids, public ids and origins answer 4xx, not 503",
  fn: async () => {
    await using s = await openTestSluice();
    const long = "x".repeat(5000);
    const admin = bearer(s.workspace.admin_key);
    await expectProblem(await s.request(`/v1/events/${long}`, { headers: admin }), 404);
    await expectProblem(
      await s.request(`/v1/api-keys/${long}`, { method: "DELETE", headers: admin }),
      404,
    );
    await expectProblem(
      await s.request("/v1/browser/events", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://shop.example" },
        body: JSON.stringify({ public_id: `pk_${long}`, event_name: "x" }),
      }),
      401,
    );
    await expectProblem(
      await s.request("/v1/browser/events", {
        method: "OPTIONS",
        headers: { origin: `https://${long}.example` },
      }),
      403,
    );
  },
});
