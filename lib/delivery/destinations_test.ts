import assert from "node:assert/strict";
import { DestinationStore, publicDestination, SECRET_MASK } from "./destinations.ts";

const SECRET = "destinations-test-secret-0123456789";

Deno.test("DestinationStore keeps secrets sealed and publicDestination() masks them", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new DestinationStore(kv, SECRET);
    const created = await store.create("ws_1", {
      type: "meta",
      name: "Meta",
      enabled: true,
      settings: { pixel_id: "123", access_token: "EAAB-secret-token" },
      secretFields: ["access_token"],
    });
    for await (const entry of kv.list({ prefix: [] })) {
      assert.equal(JSON.stringify(entry.value).includes("EAAB-secret-token"), false);
    }
    assert.deepEqual(store.settingsOf(created), {
      pixel_id: "123",
      access_token: "EAAB-secret-token",
    });
    assert.deepEqual(publicDestination(created).config, {
      pixel_id: "123",
      access_token: SECRET_MASK,
    });
    const updated = await store.update("ws_1", created.id, {
      settings: { pixel_id: "456", access_token: SECRET_MASK },
      secretFields: ["access_token"],
    });
    assert.deepEqual(store.settingsOf(updated!), {
      pixel_id: "456",
      access_token: "EAAB-secret-token",
    });
    await store.setHealth("ws_1", created.id, { status: "unhealthy", reason: "auth failed" });
    assert.equal((await store.get("ws_1", created.id))?.health.status, "unhealthy");
    assert.deepEqual((await store.list("ws_1")).map((d) => d.id), [created.id]);
    assert.equal(await store.delete("ws_1", created.id), true);
    assert.equal(await store.get("ws_1", created.id), null);
  } finally {
    kv.close();
  }
});

Deno.test("DestinationStore.update() keeps a paused destination's health and since until its settings are saved", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new DestinationStore(kv, SECRET);
  const created = await store.create("ws_1", {
    type: "meta",
    name: "Meta",
    enabled: true,
    settings: { pixel_id: "123", access_token: "EAAB-old" },
    secretFields: ["access_token"],
  });
  const paused = {
    status: "unhealthy" as const,
    reason: "auth failed: Meta error 190",
    since: "2026-12-01T10:00:00.000Z",
  };
  await store.setHealth("ws_1", created.id, paused);
  const edits = [
    { name: "Meta pixel" },
    { enabled: false },
    { enabled: true },
  ];
  for (const edit of edits) {
    const updated = await store.update("ws_1", created.id, {
      ...edit,
      secretFields: ["access_token"],
    });
    assert.deepEqual(updated?.health, paused, JSON.stringify(edit));
    assert.deepEqual((await store.get("ws_1", created.id))?.health, paused, JSON.stringify(edit));
  }
  const fixed = await store.update("ws_1", created.id, {
    settings: { pixel_id: "123", access_token: SECRET_MASK },
    secretFields: ["access_token"],
  });
  assert.deepEqual(fixed?.health, { status: "healthy" });
});
