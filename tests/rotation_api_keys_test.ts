import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { pause } from "./_wait.ts";

const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

async function status(s: TestSluice, key: string): Promise<number> {
  const res = await s.request("/v1/workspace", bearer(key));
  await res.body?.cancel();
  return res.status;
}

async function createKey(
  s: TestSluice,
  scopes = ["read"],
): Promise<{ id: string; secret: string }> {
  const res = await s.request(
    "/v1/api-keys",
    jsonInit({ name: "Dashboard", scopes }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201);
  return await res.json();
}

async function rotate(s: TestSluice, id: string, query = ""): Promise<Response> {
  return await s.request(`/v1/api-keys/${id}/rotate${query}`, {
    method: "POST",
    ...bearer(s.workspace.admin_key),
  });
}

Deno.test("POST /v1/api-keys/:id/rotate gives a new secret; the old one works for the default 24 h overlap", async () => {
  await using s = await openTestSluice();
  const key = await createKey(s);
  const before = Date.now();
  const res = await rotate(s, key.id);
  assert.equal(res.status, 200);
  const rotated = await res.json();
  assert.equal(rotated.id, key.id);
  assert.deepEqual(rotated.scopes, ["read"]);
  assert.equal(rotated.name, "Dashboard");
  assert.match(rotated.secret, /^sk_[A-Za-z0-9]{40}$/);
  assert.notEqual(rotated.secret, key.secret);
  assert.equal(rotated.prefix, rotated.secret.slice(0, 10));
  const overlapEnds = Date.parse(rotated.previous_expires_at) - before;
  assert.ok(overlapEnds >= 86_400_000 && overlapEnds < 86_400_000 + 5_000, String(overlapEnds));
  assert.equal(await status(s, rotated.secret), 200);
  assert.equal(await status(s, key.secret), 200, "the old secret works during the overlap");

  // The list shows the new prefix and the overlap, never a secret or a hash.
  const list = await s.request("/v1/api-keys", bearer(s.workspace.admin_key));
  const text = await list.text();
  const shown = JSON.parse(text).data.find((k: { id: string }) => k.id === key.id);
  assert.equal(shown.prefix, rotated.prefix);
  assert.equal(shown.previous_expires_at, rotated.previous_expires_at);
  assert.ok(shown.rotated_at);
  assert.ok(!text.includes(rotated.secret) && !text.includes(key.secret));
  assert.ok(!/"expires_at"|"hash"/.test(text));
});

Deno.test("POST /v1/api-keys/:id/rotate ends the old secret after the overlap, or at once with 0s", async () => {
  await using s = await openTestSluice();
  const a = await createKey(s);
  const short = await (await rotate(s, a.id, "?overlap=300ms")).json();
  assert.equal(await status(s, a.secret), 200);
  await pause(400);
  assert.equal(await status(s, a.secret), 401, "the overlap is over");
  assert.equal(await status(s, short.secret), 200);

  const b = await createKey(s);
  const now = await (await rotate(s, b.id, "?overlap=0s")).json();
  assert.equal(await status(s, b.secret), 401);
  assert.equal(await status(s, now.secret), 200);
  assert.ok(Date.parse(now.previous_expires_at) <= Date.now());
});

Deno.test("rotating again ends the secret an earlier rotation replaced; revoking ends both", async () => {
  await using s = await openTestSluice();
  const key = await createKey(s);
  const first = await (await rotate(s, key.id)).json();
  const second = await (await rotate(s, key.id)).json();
  assert.equal(await status(s, key.secret), 401, "replaced twice: gone");
  assert.equal(await status(s, first.secret), 200, "the last replaced secret overlaps");
  assert.equal(await status(s, second.secret), 200);

  const res = await s.request(`/v1/api-keys/${key.id}`, {
    method: "DELETE",
    ...bearer(s.workspace.admin_key),
  });
  assert.equal(res.status, 204);
  assert.equal(await status(s, first.secret), 401);
  assert.equal(await status(s, second.secret), 401);
});

Deno.test("POST /v1/api-keys/:id/rotate answers 400 for an overlap out of bounds, 404 for an unknown key, 403 without admin", async () => {
  await using s = await openTestSluice();
  const key = await createKey(s);
  for (const query of ["?overlap=8d", "?overlap=abc", "?overlap=-1s"]) {
    const res = await rotate(s, key.id, query);
    assert.equal(res.status, 400, query);
    const problem = await res.json();
    assert.equal(problem.errors?.[0]?.path, "overlap", query);
  }
  assert.equal(await status(s, key.secret), 200, "a refused rotation changes nothing");
  const unknown = await rotate(s, "key_unknown");
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const forbidden = await s.request(`/v1/api-keys/${key.id}/rotate`, {
    method: "POST",
    ...bearer(key.secret),
  });
  assert.equal(forbidden.status, 403);
  await forbidden.body?.cancel();
});

Deno.test("the OpenAPI document declares the key rotation and the outbox drain", async () => {
  await using s = await openTestSluice();
  const doc = await (await s.request("/openapi.json")).json();
  const rotateOp = doc.paths["/v1/api-keys/{id}/rotate"].post;
  assert.equal(rotateOp.operationId, "rotateApiKey");
  assert.ok(rotateOp.parameters.some((p: { name: string }) => p.name === "overlap"));
  assert.equal(doc.paths["/v1/outbox/drain"].post.operationId, "drainOutbox");
});
