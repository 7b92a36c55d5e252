import assert from "node:assert/strict";
import { jsonInit, openTestSluice, TEST_ROOT_TOKEN } from "./_harness.ts";
import { bearer, countStored, expectJson, expectProblem } from "./_http.ts";

interface ApiKeyJson {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

interface CreatedKeyJson extends ApiKeyJson {
  secret: string;
}

Deno.test("GET /v1/api-keys lists the keys without any secret", async () => {
  await using s = await openTestSluice();
  const created = await expectJson<CreatedKeyJson>(
    await s.request(
      "/v1/api-keys",
      jsonInit({ name: "Reporting", scopes: ["read"] }, s.workspace.admin_key),
    ),
    201,
  );
  const res = await s.request("/v1/api-keys", { headers: bearer(s.workspace.admin_key) });
  const text = await res.clone().text();
  const list = await expectJson<{ data: ApiKeyJson[] }>(res, 200);
  assert.equal(list.data.length, 3);
  assert.deepEqual(list.data.map((k) => k.name), [
    "Default ingest",
    "Default admin",
    "Reporting",
  ]);
  for (const key of list.data) {
    assert.deepEqual(Object.keys(key).sort(), [
      "created_at",
      "id",
      "last_used_at",
      "name",
      "prefix",
      "scopes",
    ]);
    assert.match(key.id, /^key_/);
    assert.ok(key.prefix.length < 16);
  }
  for (const secret of [s.workspace.ingest_key, s.workspace.admin_key, created.secret]) {
    assert.ok(!text.includes(secret), "a secret appears in the key list");
  }
  assert.ok(!/"secret"|"hash"|"workspace_id"/.test(text));
  // The key's own entry matches what creation returned, minus the secret.
  const { secret: _, ...withoutSecret } = created;
  assert.deepEqual(list.data[2], withoutSecret);
});

Deno.test("POST /v1/api-keys returns the secret once, and the key works with its scopes", async () => {
  await using s = await openTestSluice();
  const created = await expectJson<CreatedKeyJson>(
    await s.request(
      "/v1/api-keys",
      jsonInit({ name: "Checkout server", scopes: ["ingest", "ingest"] }, s.workspace.admin_key),
    ),
    201,
  );
  assert.equal(created.name, "Checkout server");
  assert.deepEqual(created.scopes, ["ingest"]);
  assert.match(created.secret, /^sk_[A-Za-z0-9]{20,}$/);
  assert.ok(created.secret.startsWith(created.prefix));
  assert.ok(!Number.isNaN(Date.parse(created.created_at)));

  const sent = await s.request(
    "/v1/events",
    jsonInit({ event_id: "k1", event_name: "lead" }, created.secret),
  );
  assert.equal(sent.status, 202);
  await sent.body?.cancel();
  // KV never holds the secret itself, only its hash.
  for await (const entry of s.rt.kv.list({ prefix: [] })) {
    const text = JSON.stringify(
      [entry.key, entry.value],
      (_, v) => typeof v === "bigint" ? v.toString() : v,
    );
    assert.ok(!text.includes(created.secret), `secret stored in ${JSON.stringify(entry.key)}`);
  }
});

Deno.test("POST /v1/api-keys answers 400 for an unknown scope, no scope or no name", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request(
      "/v1/api-keys",
      jsonInit({ name: "x", scopes: ["superuser"] }, s.workspace.admin_key),
    ),
    400,
    ["scopes.0"],
  );
  await expectProblem(
    await s.request("/v1/api-keys", jsonInit({ name: "x", scopes: [] }, s.workspace.admin_key)),
    400,
    ["scopes"],
  );
  await expectProblem(
    await s.request("/v1/api-keys", jsonInit({ scopes: ["read"] }, s.workspace.admin_key)),
    400,
    ["name"],
  );
  assert.equal((await s.rt.apiKeys.list(s.workspace.id)).length, 2);
});

Deno.test("API key scopes are enforced; admin implies ingest and read", async () => {
  await using s = await openTestSluice();
  const read = await s.rt.apiKeys.create(s.workspace.id, { name: "r", scopes: ["read"] });
  const event = { event_id: "scope-1", event_name: "lead" };

  // The ingest key sends, but may neither read nor manage.
  await expectProblem(
    await s.request("/v1/api-keys", { headers: bearer(s.workspace.ingest_key) }),
    403,
  );
  await expectProblem(
    await s.request(
      "/v1/api-keys",
      jsonInit(
        { name: "x", scopes: ["admin"] },
        s.workspace
          .ingest_key,
      ),
    ),
    403,
  );
  await expectProblem(
    await s.request("/v1/events", { headers: bearer(s.workspace.ingest_key) }),
    403,
  );
  // The read key reads, but may neither send nor manage.
  const refused = await expectProblem(
    await s.request("/v1/events", jsonInit(event, read.secret)),
    403,
  );
  assert.match(refused.detail, /ingest/);
  await expectProblem(
    await s.request("/v1/api-keys", { headers: bearer(read.secret) }),
    403,
  );
  await expectProblem(await s.request("/collect/hook?k=" + read.secret + "&event=lead"), 403);
  const listed = await s.request("/v1/events", { headers: bearer(read.secret) });
  assert.equal(listed.status, 200);
  await listed.body?.cancel();
  assert.equal(await countStored(s), 0);

  // The admin key does everything: send, read, manage.
  const sent = await s.request("/v1/events", jsonInit(event, s.workspace.admin_key));
  assert.equal(sent.status, 202);
  await sent.body?.cancel();
  const got = await s.request("/v1/events/scope-1", { headers: bearer(s.workspace.admin_key) });
  assert.equal(got.status, 200);
  await got.body?.cancel();
  assert.equal(await countStored(s), 1);
});

Deno.test("API keys answer 401 when missing, unknown or malformed", async () => {
  await using s = await openTestSluice();
  const event = { event_name: "lead" };
  await expectProblem(await s.request("/v1/events", jsonInit(event)), 401);
  await expectProblem(
    await s.request("/v1/events", jsonInit(event, "sk_" + "x".repeat(40))),
    401,
  );
  await expectProblem(await s.request("/v1/events", jsonInit(event, TEST_ROOT_TOKEN)), 401);
  await expectProblem(
    await s.request("/v1/events", {
      ...jsonInit(event),
      headers: { "content-type": "application/json", authorization: s.workspace.ingest_key },
    }),
    401,
  );
  await expectProblem(await s.request("/v1/api-keys", { headers: bearer("nope") }), 401);
  assert.equal(await countStored(s), 0);
});

Deno.test("DELETE /v1/api-keys/:id revokes at once through the same runtime", async () => {
  await using s = await openTestSluice();
  const victim = await expectJson<CreatedKeyJson>(
    await s.request(
      "/v1/api-keys",
      jsonInit({ name: "Leaked", scopes: ["ingest", "read"] }, s.workspace.admin_key),
    ),
    201,
  );
  // Use the key first so its lookup sits in the 3 s key cache.
  const before = await s.request(
    "/v1/events",
    jsonInit({ event_id: "rv-1", event_name: "lead" }, victim.secret),
  );
  assert.equal(before.status, 202);
  await before.body?.cancel();

  const revoked = await s.request(`/v1/api-keys/${victim.id}`, {
    method: "DELETE",
    headers: bearer(s.workspace.admin_key),
  });
  assert.equal(revoked.status, 204);
  assert.equal(await revoked.text(), "");

  // Immediately refused, well inside the cache TTL.
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit(
        { event_id: "rv-2", event_name: "lead" },
        victim
          .secret,
      ),
    ),
    401,
  );
  await expectProblem(await s.request("/v1/events", { headers: bearer(victim.secret) }), 401);
  const keys = await expectJson<{ data: ApiKeyJson[] }>(
    await s.request("/v1/api-keys", { headers: bearer(s.workspace.admin_key) }),
    200,
  );
  assert.ok(!keys.data.some((k) => k.id === victim.id));
  // A second revocation finds nothing.
  await expectProblem(
    await s.request(`/v1/api-keys/${victim.id}`, {
      method: "DELETE",
      headers: bearer(s.workspace.admin_key),
    }),
    404,
  );
  // Other keys are untouched.
  const other = await s.request(
    "/v1/events",
    jsonInit({ event_id: "rv-3", event_name: "lead" }, s.workspace.ingest_key),
  );
  assert.equal(other.status, 202);
  await other.body?.cancel();
});

Deno.test("DELETE /v1/api-keys/:id answers 404 for an unknown key or another workspace's key", async () => {
  await using s = await openTestSluice();
  await expectProblem(
    await s.request("/v1/api-keys/key_doesnotexist", {
      method: "DELETE",
      headers: bearer(s.workspace.admin_key),
    }),
    404,
  );
  const other = await s.rt.workspaces.create({ name: "Other" });
  await expectProblem(
    await s.request(`/v1/api-keys/${other.ingestKey.record.id}`, {
      method: "DELETE",
      headers: bearer(s.workspace.admin_key),
    }),
    404,
  );
  const still = await s.request(
    "/v1/events",
    jsonInit({ event_name: "lead" }, other.ingestKey.secret),
  );
  assert.equal(still.status, 202);
  await still.body?.cancel();
  // Only admins may revoke.
  const [ingestRecord] = await s.rt.apiKeys.list(s.workspace.id);
  assert.ok(ingestRecord);
  await expectProblem(
    await s.request(`/v1/api-keys/${ingestRecord.id}`, {
      method: "DELETE",
      headers: bearer(s.workspace.ingest_key),
    }),
    403,
  );
});

Deno.test("DELETE /v1/api-keys/:id answers 422 when it would leave the workspace without an admin key", async () => {
  await using s = await openTestSluice();
  const admin = s.workspace.admin_key;
  const keys = await s.rt.apiKeys.list(s.workspace.id);
  const own = keys.find((k) => k.scopes.includes("admin"));
  assert.ok(own);
  const revoke = (id: string, key: string) =>
    s.request(`/v1/api-keys/${id}`, { method: "DELETE", headers: bearer(key) });

  // The last admin key can neither revoke itself …
  const refused = await expectProblem(await revoke(own.id, admin), 422);
  assert.match(refused.detail, /last admin key/);
  assert.match(refused.detail, /create another admin key/);
  // … nor be revoked by a second admin key once that one is the last.
  const second = await expectJson<CreatedKeyJson>(
    await s.request("/v1/api-keys", jsonInit({ name: "Ops", scopes: ["admin"] }, admin)),
    201,
  );
  assert.equal((await revoke(own.id, second.secret)).status, 204);
  await expectProblem(await revoke(second.id, second.secret), 422);
  await expectProblem(await s.request("/v1/api-keys", { headers: bearer(admin) }), 401);
  const left = await expectJson<{ data: ApiKeyJson[] }>(
    await s.request("/v1/api-keys", { headers: bearer(second.secret) }),
    200,
  );
  assert.deepEqual(left.data.map((k) => k.name).sort(), ["Default ingest", "Ops"]);
});
