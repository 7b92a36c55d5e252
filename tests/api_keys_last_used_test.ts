/**
 * When API keys were last used, over HTTP: an ingest answers 202 before anything is written,
 * `GET /v1/api-keys` shows `last_used_at`, the dashboard's keys page shows it, and a stop
 * writes what is pending.
 */
import assert from "node:assert/strict";
import { apiKeyUsedKey } from "../lib/kv/keys.ts";
import { parseConfig } from "../lib/config.ts";
import { openRuntime } from "../lib/runtime.ts";
import { createAccount, getPage, signIn } from "./_dashboard.ts";
import { jsonInit, openTestSluice, TEST_ROOT_TOKEN } from "./_harness.ts";
import { bearer, expectJson } from "./_http.ts";

interface KeyJson {
  id: string;
  name: string;
  last_used_at: string | null;
}

Deno.test("GET /v1/api-keys shows last_used_at: the ingest key's use, null for an unused key; nothing written before a flush", async () => {
  await using s = await openTestSluice();
  const reader = await expectJson<KeyJson>(
    await s.request(
      "/v1/api-keys",
      jsonInit({ name: "Reader", scopes: ["read"] }, s.workspace.admin_key),
    ),
    201,
  );
  assert.equal(reader.last_used_at, null);
  const before = Date.now();
  const sent = await s.request(
    "/v1/events",
    jsonInit({ event_name: "purchase", value: 10, currency: "EUR" }, s.workspace.ingest_key),
  );
  assert.equal(sent.status, 202);
  const after = Date.now();
  const listed = await expectJson<{ data: KeyJson[] }>(
    await s.request("/v1/api-keys", { headers: bearer(s.workspace.admin_key) }),
    200,
  );
  const byName = new Map(listed.data.map((k) => [k.name, k]));
  const ingest = byName.get("Default ingest")!;
  const usedAt = Date.parse(ingest.last_used_at!);
  assert.ok(usedAt >= before && usedAt <= after, `${ingest.last_used_at} within the request`);
  assert.equal(byName.get("Reader")!.last_used_at, null);
  assert.ok(byName.get("Default admin")!.last_used_at, "the listing's own key was used");
  // The 202 and the listing came from memory: KV holds no use until the flush.
  const key = apiKeyUsedKey(s.workspace.id, ingest.id);
  assert.equal((await s.rt.kv.get(key)).value, null);
  assert.equal(await s.rt.apiKeys.usage.flush(), 2);
  assert.equal((await s.rt.kv.get<Deno.KvU64>(key)).value?.value, BigInt(usedAt));
});

Deno.test("the dashboard's keys page shows when each key was last used", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/events",
    jsonInit({ event_name: "lead" }, s.workspace.ingest_key),
  );
  assert.equal(res.status, 202);
  await createAccount(s, "owner@example.com", "instance");
  const owner = await signIn(s, "owner@example.com");
  const page = await getPage(s, owner, "/keys");
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /<th scope="col">Last used<\/th>/);
  const rows = html.split("<tr").slice(2);
  const ingest = rows.find((r) => r.includes("Default ingest"))!;
  const admin = rows.find((r) => r.includes("Default admin"))!;
  assert.match(
    ingest,
    /<td data-label="Last used"><time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">just now<\/time><\/td>/,
  );
  assert.match(admin, /<td data-label="Last used">never<\/td>/);
  assert.doesNotMatch(html, /last used is not recorded/);
});

Deno.test("stopping the runtime writes the pending last uses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-key-usage-" });
  try {
    const config = parseConfig({
      SLUICE_KV: `${dir}/sluice.kv`,
      SLUICE_ROOT_TOKEN: TEST_ROOT_TOKEN,
      SLUICE_SECRET: "key-usage-test-secret-0123456789",
      SLUICE_LOG_LEVEL: "warn",
    });
    const rt = await openRuntime(config);
    const workers = rt.startWorkers();
    const created = await rt.workspaces.create({ name: "Shop" });
    assert.ok(await rt.apiKeys.authenticate(created.adminKey.secret));
    const usedAt = (await rt.apiKeys.list(created.workspace.id))
      .find((k) => k.id === created.adminKey.record.id)!.last_used_at;
    await rt.close();
    await workers.catch(() => {});
    const kv = await Deno.openKv(`${dir}/sluice.kv`);
    try {
      const stored = await kv.get<Deno.KvU64>(
        apiKeyUsedKey(created.workspace.id, created.adminKey.record.id),
      );
      assert.equal(stored.value?.value, BigInt(Date.parse(usedAt!)));
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
