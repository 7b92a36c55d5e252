import assert from "node:assert/strict";
import { sourceIndexKey, sourceKey } from "../kv/keys.ts";
import { publicSource, SOURCE_ID_LENGTH, SourceStore } from "./store.ts";

const MASTER = "store-test-master-secret-0123456789";
const SECRET = "shpss_very_secret_value";

async function withStore(fn: (store: SourceStore, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new SourceStore(kv, MASTER), kv);
  } finally {
    kv.close();
  }
}

Deno.test("SourceStore.create() seals the secret and indexes the id for the ingest URL", () =>
  withStore(async (store, kv) => {
    const source = await store.create("ws_1", { type: "shopify", name: "Shop", secret: SECRET });
    assert.match(source.id, /^src_[0-9a-z]{26}$/);
    assert.equal(source.id.length, SOURCE_ID_LENGTH);
    const stored = await kv.get(sourceKey("ws_1", source.id));
    assert.ok(stored.value);
    assert.ok(!JSON.stringify(stored.value).includes(SECRET), "no secret in clear at rest");
    assert.equal((await kv.get(sourceIndexKey(source.id))).value, "ws_1");
    const found = await store.forIngest(source.id);
    assert.equal(found?.source.id, source.id);
    assert.equal(found?.secret, SECRET);
  }));

Deno.test("SourceStore keeps workspaces apart and lists oldest first", () =>
  withStore(async (store) => {
    const a = await store.create("ws_1", { type: "shopify", name: "A", secret: SECRET });
    // Ids order by their millisecond; within one, by their random part.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const b = await store.create("ws_1", { type: "stripe", name: "B", secret: "whsec_1234567" });
    await store.create("ws_2", { type: "woocommerce", name: "C", secret: "woo-secret" });
    assert.deepEqual((await store.list("ws_1")).map((s) => s.id), [a.id, b.id]);
    assert.equal(await store.get("ws_2", a.id), null);
    assert.equal(await store.update("ws_2", a.id, { name: "stolen" }), null);
    assert.equal(await store.delete("ws_2", a.id), false);
  }));

Deno.test("SourceStore.update() renames and replaces the secret", () =>
  withStore(async (store) => {
    const source = await store.create("ws_1", { type: "woocommerce", name: "Woo", secret: SECRET });
    const renamed = await store.update("ws_1", source.id, { name: "Store" });
    assert.equal(renamed?.name, "Store");
    assert.equal((await store.forIngest(source.id))?.secret, SECRET);
    await store.update("ws_1", source.id, { secret: "a-new-secret" });
    assert.equal((await store.forIngest(source.id))?.secret, "a-new-secret");
  }));

Deno.test("SourceStore.delete() removes the source and its index entry", () =>
  withStore(async (store, kv) => {
    const source = await store.create("ws_1", {
      type: "stripe",
      name: "S",
      secret: "whsec_12345678",
    });
    assert.equal(await store.delete("ws_1", source.id), true);
    assert.equal(await store.get("ws_1", source.id), null);
    assert.equal(await store.forIngest(source.id), null);
    assert.equal((await kv.get(sourceIndexKey(source.id))).value, null);
    assert.equal(await store.delete("ws_1", source.id), false);
  }));

Deno.test("SourceStore answers null for unknown and over-long ids", () =>
  withStore(async (store) => {
    assert.equal(await store.forIngest("src_unknown"), null);
    assert.equal(await store.forIngest("x".repeat(5000)), null);
    assert.equal(await store.get("ws_1", "x".repeat(5000)), null);
  }));

Deno.test("publicSource() shows the ingest URL and never the secret", () =>
  withStore(async (store) => {
    const source = await store.create("ws_1", { type: "shopify", name: "Shop", secret: SECRET });
    const shown = publicSource(source, "https://sluice.example");
    assert.equal(shown.url, `https://sluice.example/ingest/shopify/${source.id}`);
    assert.deepEqual(Object.keys(shown).sort(), [
      "created_at",
      "id",
      "name",
      "type",
      "updated_at",
      "url",
    ]);
  }));
