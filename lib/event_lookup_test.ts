import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { sha256Hex } from "../core/digest.ts";
import {
  lookUp,
  lookupEntries,
  lookupHash,
  lookupValues,
  reindexWorkspace,
} from "./event_lookup.ts";
import { eventSealer, sealEvent } from "./event_store.ts";
import { eventKey } from "./kv/keys.ts";

const NOW = Date.UTC(2026, 11, 5);

const event = (id: string, overrides: Partial<SluiceEvent> = {}) =>
  ({
    id,
    received_at: NOW,
    workspace_id: "ws",
    event_id: `e-${id}`,
    event_name: "purchase",
    order_id: "ORD-1",
    user_data: {
      email: "  Ada@Example.com ",
      customer_id: "ord-1",
      click_ids: { fbclid: "IwAR1", gclid: "Cj0" },
      anonymous_id: "not-indexed",
    },
    ...overrides,
  }) as SluiceEvent;

Deno.test("lookupValues() takes order id, email, customer id and click ids, trimmed, lower-cased, once each", () => {
  assert.deepEqual(lookupValues(event("01")), ["ord-1", "ada@example.com", "iwar1", "cj0"]);
  assert.deepEqual(lookupValues({ user_data: { email: "x".repeat(201) } }), [], "too long");
  assert.deepEqual(lookupValues({ user_data: {} }), []);
});

Deno.test("lookupEntries() keys each value by a SHA-256 with the workspace, never in clear, expiring with the event", () => {
  const writes = lookupEntries([event("01")], 86_400_000, NOW + 1000);
  assert.deepEqual(writes.map((w) => w.key), [
    ["find", "ws", sha256Hex("ws\u0000ord-1").slice(0, 32), "01"],
    ["find", "ws", sha256Hex("ws\u0000ada@example.com").slice(0, 32), "01"],
    ["find", "ws", sha256Hex("ws\u0000iwar1").slice(0, 32), "01"],
    ["find", "ws", sha256Hex("ws\u0000cj0").slice(0, 32), "01"],
  ]);
  assert.ok(writes.every((w) => w.eventId === "e-01" && w.expireIn === 86_400_000 - 1000));
  assert.deepEqual(lookupEntries([event("01")], 1000, NOW + 1000), [], "past its retention");
  assert.ok(!JSON.stringify(writes).includes("ada@"), "no email in clear");
  assert.notEqual(lookupHash("ws", "ORD-1"), lookupHash("other", "ORD-1"), "per workspace");
});

Deno.test("lookUp() answers the events holding a value, newest first, in its workspace only", async () => {
  await using kv = await Deno.openKv(":memory:");
  const op = kv.atomic();
  for (const e of [event("01"), event("02", { order_id: "ORD-2" }), event("03")]) {
    for (const w of lookupEntries([e], 60_000, NOW)) {
      op.set(w.key, w.eventId, { expireIn: w.expireIn });
    }
  }
  for (const w of lookupEntries([event("04", { workspace_id: "other" })], 60_000, NOW)) {
    op.set(w.key, w.eventId);
  }
  await op.commit();
  // 02's order id is ORD-2, but its customer id is ord-1.
  assert.deepEqual(await lookUp(kv, "ws", " ord-1", 10), [
    { ulid: "03", event_id: "e-03" },
    { ulid: "02", event_id: "e-02" },
    { ulid: "01", event_id: "e-01" },
  ]);
  assert.deepEqual((await lookUp(kv, "ws", "ORD-2", 10)).map((h) => h.ulid), ["02"]);
  assert.deepEqual((await lookUp(kv, "ws", "ADA@example.com", 2)).map((h) => h.ulid), ["03", "02"]);
  assert.deepEqual(await lookUp(kv, "ws", "not-indexed", 10), []);
  assert.deepEqual(await lookUp(kv, "ws", "", 10), []);
});

Deno.test("reindexWorkspace() indexes stored events and skips those it cannot open", async () => {
  await using kv = await Deno.openKv(":memory:");
  const ours = eventSealer("ours-0123456789abcdef0123456789abcdef");
  const theirs = eventSealer("theirs-0123456789abcdef0123456789abcd");
  const store = async (e: SluiceEvent, sealer = ours) =>
    await kv.set(eventKey("ws", e.id), sealEvent(JSON.stringify(e), sealer));
  await store(event("01"));
  await store(event("02", { order_id: "ORD-2", user_data: {} }));
  await store(event("03", { order_id: "ORD-3", user_data: {} }), theirs);
  const done = await reindexWorkspace(kv, ours, "ws", {
    retentionMs: 60_000,
    perCommit: 2,
    now: NOW,
  });
  assert.deepEqual(done, { events: 3, entries: 5, unreadable: 1 });
  assert.deepEqual((await lookUp(kv, "ws", "ord-2", 10)).map((h) => h.ulid), ["02"]);
  assert.deepEqual(await lookUp(kv, "ws", "ORD-3", 10), []);
  assert.deepEqual((await lookUp(kv, "ws", "iwar1", 10)).map((h) => h.ulid), ["01"]);
});
