import assert from "node:assert/strict";
import { webhookKey } from "../lib/kv/keys.ts";
import { bearer } from "./_http.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";

async function createHook(s: TestSluice, body: unknown): Promise<Response> {
  return await s.request("/v1/webhooks", jsonInit(body, s.workspace.admin_key));
}

async function readKey(s: TestSluice): Promise<string> {
  const res = await s.request(
    "/v1/api-keys",
    jsonInit({ name: "reader", scopes: ["read"] }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201);
  return (await res.json()).secret;
}

Deno.test("POST /v1/webhooks shows a whsec_ secret once; lists and reads never show it", async () => {
  await using s = await openTestSluice();
  const res = await createHook(s, {
    url: "https://93.184.215.14/hooks/sluice",
    description: "CRM",
  });
  assert.equal(res.status, 201);
  const created = await res.json();
  assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(atob(created.secret.slice(6)).length, 32);
  assert.deepEqual(created.events, [
    "conversion.created",
    "lead.created",
    "delivery.failed",
    "delivery.recovered",
    "platform.unhealthy",
    "webhook.disabled",
  ]);
  assert.equal(created.status, "active");
  assert.equal(created.enabled, true);
  assert.equal(created.description, "CRM");

  const list = await s.request("/v1/webhooks", { headers: bearer(s.workspace.admin_key) });
  const listText = await list.text();
  assert.equal(list.status, 200);
  assert.ok(!listText.includes(created.secret.slice(6)), "list leaks the secret");
  assert.deepEqual(JSON.parse(listText).data.map((h: { id: string }) => h.id), [created.id]);
  assert.equal(JSON.parse(listText).data[0].secret, undefined);

  const one = await s.request(`/v1/webhooks/${created.id}`, {
    headers: bearer(s.workspace.admin_key),
  });
  const oneText = await one.text();
  assert.ok(!oneText.includes(created.secret.slice(6)), "get leaks the secret");
  assert.equal(JSON.parse(oneText).url, "https://93.184.215.14/hooks/sluice");

  // At rest the secret is sealed, not stored in clear.
  const stored = await s.rt.kv.get(webhookKey(s.workspace.id, created.id));
  assert.ok(!JSON.stringify(stored.value).includes(created.secret.slice(6)));
});

Deno.test("POST /v1/webhooks validates url, events and unknown fields with named errors", async () => {
  await using s = await openTestSluice();
  const cases: [unknown, string][] = [
    [{ url: "not a url" }, "url"],
    [{ url: "ftp://example.com/x" }, "url"],
    [{ url: "https://93.184.215.14/x", events: ["conversion.made"] }, "events.0"],
    [{ url: "https://93.184.215.14/x", events: [] }, "events"],
    [{ url: "https://93.184.215.14/x", secret: "whsec_mine" }, ""],
  ];
  for (const [body, path] of cases) {
    const res = await createHook(s, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const problem = await res.json();
    assert.ok(
      problem.errors.some((e: { path: string }) => e.path === path),
      `${JSON.stringify(body)} → ${JSON.stringify(problem.errors)}`,
    );
  }
  const list = await s.request("/v1/webhooks", { headers: bearer(s.workspace.admin_key) });
  assert.deepEqual((await list.json()).data, []);
});

Deno.test("webhook URLs on private, loopback, metadata or plain-http targets are refused at registration, with no traffic", async () => {
  let hits = 0;
  const listener = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    hits++;
    return new Response("ok");
  });
  const s = await openTestSluice();
  try {
    const port = listener.addr.port;
    const refused = [
      `https://127.0.0.1:${port}/hook`,
      `http://127.0.0.1:${port}/hook`,
      "https://10.0.0.7/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://[::1]/hook",
      "https://100.64.0.1/hook",
      "https://localhost/hook",
      "http://93.184.215.14/hook",
    ];
    for (const url of refused) {
      const res = await createHook(s, { url });
      assert.equal(res.status, 400, url);
      const problem = await res.json();
      assert.equal(problem.errors[0].path, "url", url);
      assert.match(problem.detail, /url is not allowed/, url);
    }
    const hook = await (await createHook(s, { url: "https://93.184.215.14/ok" })).json();
    const patched = await s.request(
      `/v1/webhooks/${hook.id}`,
      jsonInit({ url: `https://127.0.0.1:${port}/hook` }, s.workspace.admin_key, "PATCH"),
    );
    assert.equal(patched.status, 400);
    assert.equal(hits, 0);
  } finally {
    await s.close();
    await listener.shutdown();
  }
});

Deno.test("a workspace may register at most SLUICE_MAX_WEBHOOKS webhooks", async () => {
  await using s = await openTestSluice({ SLUICE_MAX_WEBHOOKS: "2" });
  for (const n of [1, 2]) {
    assert.equal((await createHook(s, { url: `https://93.184.215.14/${n}` })).status, 201);
  }
  const third = await createHook(s, { url: "https://93.184.215.14/3" });
  assert.equal(third.status, 422);
  assert.match((await third.json()).detail, /at most 2 webhooks/);
});

Deno.test("PATCH, rotate-secret and DELETE /v1/webhooks/:id; scopes enforced", async () => {
  await using s = await openTestSluice();
  const hook = await (await createHook(s, {
    url: "https://93.184.215.14/a",
    events: ["delivery.failed"],
  })).json();
  const reader = await readKey(s);

  const patch = await s.request(
    `/v1/webhooks/${hook.id}`,
    jsonInit(
      { events: ["event.received", "event.received"], enabled: false, description: "off" },
      s.workspace.admin_key,
      "PATCH",
    ),
  );
  assert.equal(patch.status, 200);
  const patched = await patch.json();
  assert.deepEqual(patched.events, ["event.received"]);
  assert.equal(patched.enabled, false);
  assert.equal(patched.status, "disabled");
  assert.equal(patched.description, "off");

  const rotate = await s.request(
    `/v1/webhooks/${hook.id}/rotate-secret`,
    jsonInit({}, s.workspace.admin_key),
  );
  assert.equal(rotate.status, 200);
  const rotated = await rotate.json();
  assert.match(rotated.secret, /^whsec_/);
  assert.notEqual(rotated.secret, hook.secret);
  const expires = Date.parse(rotated.previous_secret_expires_at) - Date.now();
  assert.ok(expires > 23.9 * 3_600_000 && expires <= 24 * 3_600_000, String(expires));

  const forbidden = await s.request(
    `/v1/webhooks/${hook.id}/rotate-secret`,
    jsonInit({}, reader),
  );
  assert.equal(forbidden.status, 403);
  assert.equal(
    (await createHook({ ...s, workspace: { ...s.workspace, admin_key: reader } }, {
      url: "https://93.184.215.14/b",
    })).status,
    403,
  );
  const readable = await s.request(`/v1/webhooks/${hook.id}`, { headers: bearer(reader) });
  assert.equal(readable.status, 200);
  assert.equal((await readable.json()).previous_secret_expires_at !== undefined, true);

  const del = await s.request(`/v1/webhooks/${hook.id}`, {
    method: "DELETE",
    headers: bearer(s.workspace.admin_key),
  });
  assert.equal(del.status, 204);
  for (const path of [`/v1/webhooks/${hook.id}`, `/v1/webhooks/${hook.id}/deliveries`]) {
    const gone = await s.request(path, { headers: bearer(s.workspace.admin_key) });
    assert.equal(gone.status, 404, path);
  }
  const again = await s.request(`/v1/webhooks/${hook.id}`, {
    method: "DELETE",
    headers: bearer(s.workspace.admin_key),
  });
  assert.equal(again.status, 404);
});

Deno.test("GET /v1/webhook-events lists every type with a JSON Schema and an example", async () => {
  await using s = await openTestSluice();
  const res = await s.request("/v1/webhook-events", { headers: bearer(s.workspace.admin_key) });
  assert.equal(res.status, 200);
  const { data } = await res.json();
  assert.deepEqual(data.map((t: { type: string }) => t.type), [
    "conversion.created",
    "lead.created",
    "event.received",
    "delivery.failed",
    "delivery.recovered",
    "platform.unhealthy",
    "webhook.disabled",
    "webhook.test",
  ]);
  for (const entry of data) {
    assert.equal(entry.schema.type, "object", entry.type);
    assert.deepEqual(entry.schema.required, ["id", "type", "created_at", "workspace_id", "data"]);
    assert.equal(entry.schema.properties.type.const, entry.type);
    assert.equal(entry.example.type, entry.type);
  }
  assert.deepEqual(
    data.filter((t: { opt_in: boolean }) => t.opt_in).map((t: { type: string }) => t.type),
    ["event.received"],
  );
  const unauthenticated = await s.request("/v1/webhook-events");
  assert.equal(unauthenticated.status, 401);

  const openapi = await (await s.request("/openapi.json")).json();
  for (
    const path of [
      "/v1/webhooks",
      "/v1/webhooks/{id}",
      "/v1/webhooks/{id}/rotate-secret",
      "/v1/webhooks/{id}/test",
      "/v1/webhooks/{id}/deliveries",
      "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
      "/v1/webhook-events",
    ]
  ) {
    assert.ok(openapi.paths[path], path);
  }
});
