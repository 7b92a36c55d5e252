import assert from "node:assert/strict";
import { jsonInit, openTestSluice, TEST_ROOT_TOKEN } from "./_harness.ts";
import { bearer, expectJson, expectProblem, jsonWith } from "./_http.ts";

interface CreatedJson {
  id: string;
  name: string;
  public_id: string;
  ingest_key: string;
  admin_key: string;
  allowed_origins: string[];
}

interface WorkspaceJson {
  id: string;
  name: string;
  public_id: string;
  allowed_origins: string[];
  settings: {
    dedup_window_seconds: number;
    retention_days: number;
    rate_limit_per_minute: number;
    browser_rate_limit_per_minute: number;
  };
  created_at: string;
}

Deno.test("POST /v1/workspaces answers 201 with the workspace and its two keys", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/workspaces",
    jsonInit(
      { name: "  Second shop ", allowed_origins: ["https://b.example", "https://B.example/"] },
      TEST_ROOT_TOKEN,
    ),
  );
  const created = await expectJson<CreatedJson>(res, 201);
  assert.deepEqual(Object.keys(created).sort(), [
    "admin_key",
    "allowed_origins",
    "id",
    "ingest_key",
    "name",
    "public_id",
  ]);
  assert.equal(created.name, "Second shop");
  assert.match(created.id, /^ws_/);
  assert.notEqual(created.id, s.workspace.id);
  assert.match(created.public_id, /^pk_[A-Za-z0-9]+$/);
  assert.match(created.ingest_key, /^sk_[A-Za-z0-9]+$/);
  assert.match(created.admin_key, /^sk_[A-Za-z0-9]+$/);
  assert.notEqual(created.ingest_key, created.admin_key);
  assert.deepEqual(created.allowed_origins, ["https://b.example"]);

  // The new ingest key sends events into the new workspace.
  const sent = await s.request(
    "/v1/events",
    jsonInit({ event_id: "w2-1", event_name: "lead" }, created.ingest_key),
  );
  assert.equal((await expectJson<{ event_id: string }>(sent, 202)).event_id, "w2-1");
  // The ingest key may not list keys; the admin key may.
  await expectProblem(
    await s.request("/v1/api-keys", { headers: bearer(created.ingest_key) }),
    403,
  );
  const keys = await expectJson<{ data: { name: string; scopes: string[] }[] }>(
    await s.request("/v1/api-keys", { headers: bearer(created.admin_key) }),
    200,
  );
  assert.deepEqual(
    keys.data.map((k) => k.scopes).sort(),
    [["admin"], ["ingest"]],
  );
  // The event landed in the new workspace, not in the first one.
  const own = await s.request("/v1/events/w2-1", { headers: bearer(created.admin_key) });
  assert.equal(
    (await expectJson<{ event: { workspace_id: string } }>(own, 200)).event
      .workspace_id,
    created.id,
  );
  await expectProblem(
    await s.request("/v1/events/w2-1", { headers: bearer(s.workspace.admin_key) }),
    404,
  );
  // The new public id and origin work on the browser endpoint.
  const browser = await s.request(
    "/v1/browser/events",
    jsonWith({ public_id: created.public_id, event_name: "page_view" }, {
      origin: "https://b.example",
    }),
  );
  assert.equal(browser.status, 202);
  await browser.body?.cancel();
});

Deno.test("POST /v1/workspaces answers 201 without allowed_origins, with an empty list", async () => {
  await using s = await openTestSluice();
  const created = await expectJson<CreatedJson>(
    await s.request("/v1/workspaces", jsonInit({ name: "Server only" }, TEST_ROOT_TOKEN)),
    201,
  );
  assert.deepEqual(created.allowed_origins, []);
});

Deno.test("POST /v1/workspaces answers 401 without the root token or with a wrong one", async () => {
  await using s = await openTestSluice();
  const body = { name: "Nope" };
  await expectProblem(await s.request("/v1/workspaces", jsonInit(body)), 401);
  await expectProblem(
    await s.request("/v1/workspaces", jsonInit(body, "root-token-for-tests-0123456780")),
    401,
  );
  await expectProblem(
    await s.request("/v1/workspaces", jsonInit(body, s.workspace.admin_key)),
    401,
  );
  await expectProblem(
    await s.request("/v1/workspaces", {
      ...jsonInit(body),
      headers: { "content-type": "application/json", authorization: `Basic ${TEST_ROOT_TOKEN}` },
    }),
    401,
  );
  // Nothing was created: only the harness workspace exists.
  let workspaces = 0;
  for await (const _ of s.rt.kv.list({ prefix: ["ws"] })) workspaces++;
  assert.equal(workspaces, 1);
});

Deno.test("POST /v1/workspaces answers 403 when the instance has no root token", async () => {
  await using s = await openTestSluice({ SLUICE_ROOT_TOKEN: "" });
  assert.equal(s.rt.config.rootToken, undefined);
  const problem = await expectProblem(
    await s.request("/v1/workspaces", jsonInit({ name: "Nope" }, TEST_ROOT_TOKEN)),
    403,
  );
  assert.match(problem.detail, /SLUICE_ROOT_TOKEN/);
  await expectProblem(await s.request("/v1/workspaces", jsonInit({ name: "Nope" })), 403);
});

Deno.test("POST /v1/workspaces answers 400 naming a missing name and bad origins", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request(
      "/v1/workspaces",
      jsonInit({
        allowed_origins: ["ftp://files.example", "https://shop.example/path", "not a url"],
      }, TEST_ROOT_TOKEN),
    ),
    400,
    ["name", "allowed_origins.0", "allowed_origins.1", "allowed_origins.2"],
  );
  await expectProblem(
    await s.request("/v1/workspaces", jsonInit({ name: "   " }, TEST_ROOT_TOKEN)),
    400,
    ["name"],
  );
  await expectProblem(
    await s.request(
      "/v1/workspaces",
      jsonInit({ name: "x", allowed_origins: "https://a.example" }, TEST_ROOT_TOKEN),
    ),
    400,
    ["allowed_origins"],
  );
  await expectProblem(
    await s.request("/v1/workspaces", jsonInit("{", TEST_ROOT_TOKEN)),
    400,
  );
  await expectProblem(
    await s.request("/v1/workspaces", {
      method: "POST",
      headers: { ...bearer(TEST_ROOT_TOKEN), "content-type": "text/plain" },
      body: JSON.stringify({ name: "x" }),
    }),
    415,
  );
});

Deno.test("GET /v1/workspace returns the calling key's workspace with its settings", async () => {
  await using s = await openTestSluice();
  const ws = await expectJson<WorkspaceJson>(
    await s.request("/v1/workspace", { headers: bearer(s.workspace.admin_key) }),
    200,
  );
  assert.equal(ws.id, s.workspace.id);
  assert.equal(ws.name, "Test shop");
  assert.equal(ws.public_id, s.workspace.public_id);
  assert.deepEqual(ws.allowed_origins, ["https://shop.example"]);
  assert.deepEqual(ws.settings, {
    dedup_window_seconds: 86_400,
    retention_days: 30,
    rate_limit_per_minute: 600_000,
    browser_rate_limit_per_minute: 600,
  });
  assert.ok(!Number.isNaN(Date.parse(ws.created_at)));
  assert.ok(!JSON.stringify(ws).includes(s.workspace.admin_key));
  // Reading needs the read scope: the ingest key is refused.
  await expectProblem(
    await s.request("/v1/workspace", { headers: bearer(s.workspace.ingest_key) }),
    403,
  );
  await expectProblem(await s.request("/v1/workspace"), 401);
});

Deno.test("PATCH /v1/workspace changes name, origins and settings, and they apply at once", async () => {
  await using s = await openTestSluice();
  const send = (origin: string) =>
    s.request(
      "/v1/browser/events",
      jsonWith({ public_id: s.workspace.public_id, event_name: "page_view" }, { origin }),
    );
  const preflight = (origin: string) =>
    s.request("/v1/browser/events", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
  // Warm every cache (workspace by public id, origin allowlist) before the change.
  const before = await send("https://shop.example");
  assert.equal(before.status, 202);
  await before.body?.cancel();
  assert.equal((await preflight("https://shop.example")).status, 204);
  await expectProblem(await preflight("https://new.example"), 403);

  const res = await s.request(
    "/v1/workspace",
    jsonInit(
      {
        name: "Renamed",
        allowed_origins: ["https://New.example/", "http://localhost:3000"],
        settings: { dedup_window_seconds: 3600, browser_rate_limit_per_minute: 50 },
      },
      s.workspace.admin_key,
      "PATCH",
    ),
  );
  const ws = await expectJson<WorkspaceJson>(res, 200);
  assert.equal(ws.name, "Renamed");
  assert.deepEqual(ws.allowed_origins, ["https://new.example", "http://localhost:3000"]);
  assert.equal(ws.settings.dedup_window_seconds, 3600);
  assert.equal(ws.settings.browser_rate_limit_per_minute, 50);
  assert.equal(ws.settings.retention_days, 30);

  const again = await expectJson<WorkspaceJson>(
    await s.request("/v1/workspace", { headers: bearer(s.workspace.admin_key) }),
    200,
  );
  assert.deepEqual(again, ws);

  // The old origin is refused, the new one accepted, preflight included.
  await expectProblem(await send("https://shop.example"), 403);
  const ok = await send("https://new.example");
  assert.equal(ok.status, 202);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://new.example");
  await ok.body?.cancel();
  await expectProblem(await preflight("https://shop.example"), 403);
  assert.equal((await preflight("https://new.example")).status, 204);
});

Deno.test("PATCH /v1/workspace answers 400 naming bad fields and 403 for a read key", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request(
      "/v1/workspace",
      jsonInit(
        {
          allowed_origins: ["javascript:alert(1)"],
          settings: { rate_limit_per_minute: 0, dedup_window_seconds: "1h" },
        },
        s.workspace.admin_key,
        "PATCH",
      ),
    ),
    400,
    ["allowed_origins.0", "settings.rate_limit_per_minute", "settings.dedup_window_seconds"],
  );
  const unknown = await expectProblem(
    await s.request(
      "/v1/workspace",
      jsonInit({ settings: { colour: "blue" } }, s.workspace.admin_key, "PATCH"),
    ),
    400,
  );
  assert.ok(unknown.errors && unknown.errors.length > 0);
  await expectProblem(
    await s.request("/v1/workspace", jsonInit({ name: "x" }, s.workspace.ingest_key, "PATCH")),
    403,
  );
  const read = await s.rt.apiKeys.create(s.workspace.id, { name: "reader", scopes: ["read"] });
  await expectProblem(
    await s.request("/v1/workspace", jsonInit({ name: "x" }, read.secret, "PATCH")),
    403,
  );
  // Nothing changed.
  const ws = await s.rt.workspaces.get(s.workspace.id);
  assert.equal(ws?.name, "Test shop");
  assert.equal(ws?.settings.rate_limit_per_minute, 600_000);
});
