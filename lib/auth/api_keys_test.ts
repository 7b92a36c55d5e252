import assert from "node:assert/strict";
import {
  type ApiKeyRecord,
  ApiKeyStore,
  hasScope,
  LastAdminKeyError,
  prepareApiKey,
} from "./api_keys.ts";
import { sha256Hex } from "../../core/digest.ts";
import { apiKeyKey, workspaceApiKeyKey } from "../kv/keys.ts";

function record(scopes: ApiKeyRecord["scopes"]): ApiKeyRecord {
  return { id: "key_1", workspace_id: "ws_1", name: "k", scopes, prefix: "sk_abc", created_at: "" };
}

Deno.test("hasScope() grants a listed scope and everything to admin", () => {
  assert.equal(hasScope(record(["ingest"]), "ingest"), true);
  assert.equal(hasScope(record(["ingest"]), "read"), false);
  assert.equal(hasScope(record(["ingest"]), "admin"), false);
  assert.equal(hasScope(record(["read"]), "ingest"), false);
  assert.equal(hasScope(record(["ingest", "read"]), "read"), true);
  for (const scope of ["ingest", "read", "admin"] as const) {
    assert.equal(hasScope(record(["admin"]), scope), true);
  }
  assert.equal(hasScope(record([]), "ingest"), false);
});

Deno.test("prepareApiKey() mints an sk_ secret and dedupes scopes", () => {
  const prepared = prepareApiKey("ws_1", { name: "CI", scopes: ["read", "read", "ingest"] });
  const { record, secret } = prepared.created;
  assert.match(secret, /^sk_[0-9A-Za-z]{40}$/);
  assert.match(record.id, /^key_[0-9a-z]{26}$/);
  assert.deepEqual(record.scopes, ["read", "ingest"]);
  assert.equal(record.prefix, secret.slice(0, 10));
  assert.equal(record.name, "CI");
  assert.equal(record.workspace_id, "ws_1");
});

Deno.test("ApiKeyStore.create() stores the record under [key, sha256(secret)] and never the secret", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ApiKeyStore(kv);
    const { record, secret } = await store.create("ws_1", { name: "Server", scopes: ["ingest"] });
    assert.ok(secret.startsWith("sk_"));
    assert.deepEqual((await kv.get(apiKeyKey(sha256Hex(secret)))).value, record);
    assert.equal((await kv.get(workspaceApiKeyKey("ws_1", record.id))).value, sha256Hex(secret));
    const entries = await Array.fromAsync(kv.list({ prefix: [] }));
    assert.equal(entries.length, 2);
    for (const entry of entries) {
      assert.equal(JSON.stringify([entry.key, entry.value]).includes(secret), false);
    }
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore.authenticate() returns the record for its secret and null otherwise", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ApiKeyStore(kv);
    const { record, secret } = await store.create("ws_1", { name: "Server", scopes: ["ingest"] });
    assert.deepEqual(await store.authenticate(secret), record);
    assert.deepEqual(await new ApiKeyStore(kv).authenticate(secret), record);
    assert.equal(await store.authenticate(secret + "x"), null);
    assert.equal(await store.authenticate(secret.slice(3)), null);
    assert.equal(await store.authenticate("pk_" + secret.slice(3)), null);
    assert.equal(await store.authenticate("sk_" + "a".repeat(98)), null);
    assert.equal(await store.authenticate(""), null);
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore.list() lists a workspace's keys oldest first without secrets", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ApiKeyStore(kv);
    const created = [];
    for (let i = 0; i < 12; i++) {
      created.push(await store.create("ws_1", { name: `k${i}`, scopes: ["read"] }));
    }
    await store.create("ws_2", { name: "other", scopes: ["admin"] });
    const listed = await store.list("ws_1");
    assert.deepEqual(listed, created.map((c) => ({ ...c.record, last_used_at: null })));
    for (const { secret } of created) assert.equal(JSON.stringify(listed).includes(secret), false);
    assert.deepEqual(await store.list("ws_none"), []);
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore.revoke() removes a key so no store authenticates it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ApiKeyStore(kv);
    const kept = await store.create("ws_1", { name: "Kept", scopes: ["ingest"] });
    const { record, secret } = await store.create("ws_1", { name: "Gone", scopes: ["ingest"] });
    assert.deepEqual(await store.authenticate(secret), record);
    assert.equal(await store.revoke("ws_1", record.id), true);
    assert.equal(await store.authenticate(secret), null);
    assert.equal(await new ApiKeyStore(kv).authenticate(secret), null);
    assert.equal((await kv.get(apiKeyKey(sha256Hex(secret)))).value, null);
    assert.equal((await kv.get(workspaceApiKeyKey("ws_1", record.id))).value, null);
    assert.deepEqual(await store.list("ws_1"), [{ ...kept.record, last_used_at: null }]);
    assert.equal(await store.revoke("ws_1", record.id), false);
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore.revoke() returns false for a key of another workspace", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ApiKeyStore(kv);
    const { record, secret } = await store.create("ws_1", { name: "Mine", scopes: ["admin"] });
    assert.equal(await store.revoke("ws_2", record.id), false);
    assert.deepEqual(await new ApiKeyStore(kv).authenticate(secret), record);
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore.revoke() refuses the workspace's last admin key", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ApiKeyStore(kv);
    const admin = await store.create("ws_1", { name: "Admin", scopes: ["admin"] });
    const ingest = await store.create("ws_1", { name: "Ingest", scopes: ["ingest"] });
    await assert.rejects(store.revoke("ws_1", admin.record.id), LastAdminKeyError);
    assert.deepEqual(await store.authenticate(admin.secret), admin.record);
    assert.equal(await store.revoke("ws_1", ingest.record.id), true);
    const second = await store.create("ws_1", { name: "Second admin", scopes: ["read", "admin"] });
    assert.equal(await store.revoke("ws_1", admin.record.id), true);
    await assert.rejects(store.revoke("ws_1", second.record.id), LastAdminKeyError);
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore.revoke() lets only one of two concurrent revokes of the last two admin keys pass", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // Two stores, as two instances on one KV would be.
    const [one, two] = [new ApiKeyStore(kv), new ApiKeyStore(kv)];
    for (const wsId of ["ws_1", "ws_2", "ws_3", "ws_4", "ws_5"]) {
      const a = await one.create(wsId, { name: "A", scopes: ["admin"] });
      const b = await one.create(wsId, { name: "B", scopes: ["admin"] });
      const results = await Promise.allSettled([
        one.revoke(wsId, a.record.id),
        two.revoke(wsId, b.record.id),
      ]);
      const refused = results.filter((r) => r.status === "rejected");
      assert.equal(refused.length, 1, JSON.stringify(results));
      assert.ok(refused[0]!.reason instanceof LastAdminKeyError);
      assert.equal((await one.list(wsId)).length, 1);
    }
  } finally {
    kv.close();
  }
});
