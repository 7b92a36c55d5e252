import { DEFAULT_KV_LIMITS, kvLimits } from "../kv/limits.ts";
import assert from "node:assert/strict";
import { Sealer } from "../crypto.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { type EventIdEntry, openEvent, type SealedEvent, sealEvent } from "../event_store.ts";
import { type CommitItem, GroupCommitter } from "./group_commit.ts";
import { eventIdKey, eventKey, eventPrefix, statHourPrefix, statKey } from "../kv/keys.ts";
import { type IngestedMessage, KvQueue, type QueueMessage, type QueuePort } from "../queue/mod.ts";

const SEALER = new Sealer("group-commit-test-secret-0123456789", "events");
const HOUR = 3_600_000;
const DAY = 86_400_000;
let counter = 0;

function event(wsId: string, eventId: string, extra: Partial<SluiceEvent> = {}): SluiceEvent {
  const now = Date.now();
  counter++;
  return {
    id: `01J${String(counter).padStart(23, "0")}`,
    workspace_id: wsId,
    event_id: eventId,
    event_name: "purchase",
    event_time: now,
    received_at: now,
    source: "server",
    dialect: "native",
    user_data: { email: `user${counter}@example.com` },
    value: 10,
    currency: "EUR",
    properties: {},
    trace_id: "trace",
    ...extra,
  };
}

function item(e: SluiceEvent, dedupWindowMs = DAY): CommitItem {
  return {
    event: e,
    sealed: sealEvent(JSON.stringify(e), SEALER),
    dedupWindowMs,
    retentionMs: 30 * DAY,
  };
}

/** A KvQueue that also records what each commit enqueued. */
class RecordingQueue implements QueuePort {
  readonly kind = "kv-queue";
  /** The group committer queues only hand-offs. */
  readonly messages: IngestedMessage[] = [];
  readonly #inner: KvQueue;

  constructor(kv: Deno.Kv) {
    this.#inner = new KvQueue(kv);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage): void {
    assert.equal(message.type, "ingested");
    this.messages.push(message as IngestedMessage);
    this.#inner.enqueueIn(op, message);
  }

  enqueue(message: QueueMessage): Promise<void> {
    return this.#inner.enqueue(message);
  }

  listen(): Promise<void> {
    throw new Error("not used in unit tests");
  }
}

async function listAll<T>(kv: Deno.Kv, prefix: Deno.KvKey): Promise<Deno.KvEntry<T>[]> {
  return await Array.fromAsync(kv.list<T>({ prefix }));
}

async function counterValue(kv: Deno.Kv, key: Deno.KvKey): Promise<bigint | undefined> {
  return (await kv.get<Deno.KvU64>(key)).value?.value;
}

Deno.test("GroupCommitter.submit() accepts concurrent distinct ids and stores each under ev and ev_id", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  try {
    const events = ["a", "b", "c", "d"].map((id) => event("ws_1", id));
    const before = Date.now();
    const outcomes = await Promise.all([
      committer.submit([item(events[0]!)]),
      committer.submit([item(events[1]!), item(events[2]!)]),
      committer.submit([item(events[3]!)]),
    ]);
    const after = Date.now();
    assert.deepEqual(outcomes, [["accepted"], ["accepted", "accepted"], ["accepted"]]);
    for (const e of events) {
      const stored = await kv.get<SealedEvent>(eventKey("ws_1", e.id));
      assert.ok(stored.value instanceof Uint8Array, `event ${e.event_id} stored sealed`);
      assert.deepEqual(openEvent(stored.value, SEALER), e);
      assert.equal(new TextDecoder().decode(stored.value).includes("example.com"), false);
      const index = await kv.get<EventIdEntry>(eventIdKey("ws_1", e.event_id));
      assert.equal(index.value?.ulid, e.id);
      assert.ok(
        index.value!.dedup_until >= before + DAY && index.value!.dedup_until <= after + DAY,
      );
    }
    assert.equal((await listAll(kv, eventPrefix("ws_1"))).length, 4);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() answers duplicate for the same id twice in one submit", async () => {
  const kv = await Deno.openKv(":memory:");
  const queue = new RecordingQueue(kv);
  const committer = new GroupCommitter(kv, queue);
  try {
    const first = event("ws_1", "same");
    const second = event("ws_1", "same");
    assert.deepEqual(await committer.submit([item(first), item(second)]), [
      "accepted",
      "duplicate",
    ]);
    const stored = await listAll<SealedEvent>(kv, eventPrefix("ws_1"));
    assert.deepEqual(stored.map((e) => openEvent(e.value, SEALER).id), [first.id]);
    assert.equal((await kv.get<EventIdEntry>(eventIdKey("ws_1", "same"))).value?.ulid, first.id);
    assert.deepEqual(queue.messages, [{ type: "ingested", workspace_id: "ws_1", ids: [first.id] }]);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() answers duplicate for an id already stored", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  try {
    const original = event("ws_1", "order-1");
    assert.deepEqual(await committer.submit([item(original)]), ["accepted"]);
    const retry = event("ws_1", "order-1");
    const fresh = event("ws_1", "order-2");
    assert.deepEqual(await committer.submit([item(retry), item(fresh)]), ["duplicate", "accepted"]);
    const ids = (await listAll<SealedEvent>(kv, eventPrefix("ws_1"))).map((e) =>
      openEvent(e.value, SEALER).id
    );
    assert.deepEqual(ids.sort(), [original.id, fresh.id].sort());
    assert.equal(
      (await kv.get<EventIdEntry>(eventIdKey("ws_1", "order-1"))).value?.ulid,
      original.id,
    );
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.close() commits the duplicates counter of ids found in KV", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  await committer.submit([item(event("ws_1", "x"))]);
  assert.deepEqual(await committer.submit([item(event("ws_1", "x"))]), ["duplicate"]);
  await committer.close();
  const keys = [statKey("ws_1", hour, "duplicates"), statKey("ws_1", hour + HOUR, "duplicates")];
  const values = await Promise.all(keys.map((key) => counterValue(kv, key)));
  assert.equal(values.reduce((sum: bigint, v) => sum + (v ?? 0n), 0n), 1n);
  kv.close();
});

// Regression (fixed): lib/group_commit.ts counts the `duplicates` metric only for ids found in KV
// (#resolveConflicts); a repeat of an id inside one commit group is answered "duplicate"
// but never counted, so analytics under-report duplicates (e.g. a batch carrying the same
// event_id twice, or two concurrent requests with the same id grouped together).
Deno.test({
  name: "GroupCommitter.submit() counts a repeat within one submit as a duplicate",
  async fn() {
    const kv = await Deno.openKv(":memory:");
    const committer = new GroupCommitter(kv, new KvQueue(kv));
    const e = event("ws_1", "twice");
    const hour = Math.floor(e.received_at / HOUR) * HOUR;
    assert.deepEqual(await committer.submit([item(e), item(event("ws_1", "twice"))]), [
      "accepted",
      "duplicate",
    ]);
    await committer.close();
    const stats = await listAll<Deno.KvU64>(kv, ["stat", "ws_1"]);
    const duplicates = stats.filter((s) => s.key[3] === "duplicates");
    assert.deepEqual(duplicates.map((s) => s.value.value), [1n], `hour ${hour}`);
    kv.close();
  },
});

Deno.test("GroupCommitter.submit() accepts again an id whose dedup window is over", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  try {
    await kv.set(
      eventIdKey("ws_1", "old"),
      {
        ulid: "01OLDULID000000000000000000",
        dedup_until: Date.now() - 1000,
      } satisfies EventIdEntry,
    );
    const replacement = event("ws_1", "old");
    assert.deepEqual(await committer.submit([item(replacement)]), ["accepted"]);
    const entry = await kv.get<EventIdEntry>(eventIdKey("ws_1", "old"));
    assert.equal(entry.value?.ulid, replacement.id);
    assert.ok(entry.value!.dedup_until > Date.now());
    assert.ok((await kv.get(eventKey("ws_1", replacement.id))).value);
    // Now the id is live again.
    assert.deepEqual(await committer.submit([item(event("ws_1", "old"))]), ["duplicate"]);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() keeps event ids apart per workspace", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new RecordingQueue(kv));
  try {
    const a = event("ws_a", "shared");
    const b = event("ws_b", "shared");
    assert.deepEqual(await committer.submit([item(a), item(b)]), ["accepted", "accepted"]);
    assert.equal((await kv.get<EventIdEntry>(eventIdKey("ws_a", "shared"))).value?.ulid, a.id);
    assert.equal((await kv.get<EventIdEntry>(eventIdKey("ws_b", "shared"))).value?.ulid, b.id);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() enqueues one message per workspace per commit", async () => {
  const kv = await Deno.openKv(":memory:");
  const queue = new RecordingQueue(kv);
  const committer = new GroupCommitter(kv, queue);
  try {
    const a1 = event("ws_a", "1");
    const b1 = event("ws_b", "1");
    const a2 = event("ws_a", "2");
    await committer.submit([item(a1), item(b1), item(a2)]);
    assert.deepEqual(queue.messages, [
      { type: "ingested", workspace_id: "ws_a", ids: [a1.id, a2.id] },
      { type: "ingested", workspace_id: "ws_b", ids: [b1.id] },
    ]);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() splits 250 events into groups of maxChecks and accepts all", async () => {
  const kv = await Deno.openKv(":memory:");
  const queue = new RecordingQueue(kv);
  const committer = new GroupCommitter(kv, queue, { limits: kvLimits(10) });
  try {
    const events = Array.from({ length: 250 }, (_, i) => event("ws_1", `bulk-${i}`));
    const outcomes = await committer.submit(events.map((e) => item(e)));
    assert.equal(outcomes.length, 250);
    assert.ok(outcomes.every((o) => o === "accepted"));
    assert.equal(queue.messages.length, 25);
    assert.ok(queue.messages.every((m) => m.ids.length === 10));
    assert.deepEqual(queue.messages.flatMap((m) => m.ids), events.map((e) => e.id));
    assert.equal((await listAll(kv, eventPrefix("ws_1"))).length, 250);
    assert.equal((await listAll(kv, ["ev_id", "ws_1"])).length, 250);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() splits a group when maxBytes would be exceeded", async () => {
  const kv = await Deno.openKv(":memory:");
  const queue = new RecordingQueue(kv);
  const committer = new GroupCommitter(kv, queue, {
    limits: { ...DEFAULT_KV_LIMITS, bytes: 2500 },
  });
  try {
    const items = Array.from(
      { length: 5 },
      (_, i) => item(event("ws_1", `b-${i}`, { properties: { pad: "x".repeat(900) } })),
    );
    assert.deepEqual(await committer.submit(items), Array(5).fill("accepted"));
    assert.deepEqual(queue.messages.map((m) => m.ids.length), [2, 2, 1]);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() sums analytics counters to the accepted count", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv), { limits: kvLimits(10) });
  try {
    const events = [
      ...Array.from({ length: 30 }, (_, i) => event("ws_1", `p-${i}`)),
      ...Array.from(
        { length: 12 },
        (_, i) => event("ws_1", `v-${i}`, { event_name: "page_view", source: "web" }),
      ),
    ];
    const outcomes = await committer.submit([...events, events[0]!].map((e) => item(e)));
    assert.equal(outcomes.filter((o) => o === "accepted").length, 42);
    const hour = Math.floor(events[0]!.received_at / HOUR) * HOUR;
    const stats = await listAll<Deno.KvU64>(kv, statHourPrefix("ws_1", hour));
    const sum = (metric: string, dim?: string) =>
      stats.filter((s) => s.key[3] === metric && (dim === undefined || s.key[4] === dim))
        .reduce((total, s) => total + s.value.value, 0n);
    assert.equal(sum("events"), 42n);
    assert.equal(await counterValue(kv, statKey("ws_1", hour, "events")), 42n);
    assert.equal(sum("events_by_name", "purchase"), 30n);
    assert.equal(sum("events_by_name", "page_view"), 12n);
    assert.equal(sum("events_by_source", "server"), 30n);
    assert.equal(sum("events_by_source", "web"), 12n);
    assert.equal(sum("events_by_name"), 42n);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.count() adds a counter that close() commits", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  committer.count("ws_1", "rejected", "", 3);
  committer.count("ws_1", "rejected", "", 2);
  committer.count("ws_1", "bot_dropped", "ua");
  assert.equal(await counterValue(kv, statKey("ws_1", hour, "rejected")), undefined);
  await committer.close();
  const rejected = (await counterValue(kv, statKey("ws_1", hour, "rejected"))) ??
    (await counterValue(kv, statKey("ws_1", hour + HOUR, "rejected")));
  assert.equal(rejected, 5n);
  const bots = (await counterValue(kv, statKey("ws_1", hour, "bot_dropped", "ua"))) ??
    (await counterValue(kv, statKey("ws_1", hour + HOUR, "bot_dropped", "ua")));
  assert.equal(bots, 1n);
  kv.close();
});

Deno.test("GroupCommitter.count() rides along with the next event commit", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  try {
    const e = event("ws_1", "with-counter");
    const hour = Math.floor(Date.now() / HOUR) * HOUR;
    committer.count("ws_1", "rejected", "", 4);
    await committer.submit([item(e)]);
    const rejected = (await counterValue(kv, statKey("ws_1", hour, "rejected"))) ??
      (await counterValue(kv, statKey("ws_1", hour + HOUR, "rejected")));
    assert.equal(rejected, 4n);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() rejects once the committer is closed", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  await committer.close();
  await assert.rejects(committer.submit([item(event("ws_1", "late"))]), {
    message: "Cannot submit: the committer is closed",
  });
  kv.close();
});

Deno.test("GroupCommitter.idle() resolves once pending commits are done", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  try {
    await committer.idle();
    const e = event("ws_1", "idle");
    const submitted = committer.submit([item(e)]);
    await committer.idle();
    assert.ok((await kv.get(eventKey("ws_1", e.id))).value);
    assert.deepEqual(await submitted, ["accepted"]);
  } finally {
    await committer.close();
    kv.close();
  }
});

Deno.test("GroupCommitter.submit() isolates an event KV refuses so the rest of its group commits", async () => {
  const kv = await Deno.openKv(":memory:");
  const committer = new GroupCommitter(kv, new KvQueue(kv));
  try {
    const good1 = event("ws_1", "good-1");
    const bad = event("ws_1", "too-big", { properties: { blob: "x".repeat(70_000) } });
    const good2 = event("ws_1", "good-2");
    const results = await Promise.allSettled([
      committer.submit([item(good1)]),
      committer.submit([item(bad)]),
      committer.submit([item(good2)]),
    ]);
    assert.deepEqual(results[0], { status: "fulfilled", value: ["accepted"] });
    assert.equal(results[1]!.status, "rejected");
    assert.match(String((results[1] as PromiseRejectedResult).reason), /Value too large/);
    assert.deepEqual(results[2], { status: "fulfilled", value: ["accepted"] });
    const ids = (await listAll<SealedEvent>(kv, eventPrefix("ws_1"))).map((e) =>
      openEvent(e.value, SEALER).id
    );
    assert.deepEqual(ids.sort(), [good1.id, good2.id].sort());
    assert.equal((await kv.get(eventIdKey("ws_1", "too-big"))).value, null);
  } finally {
    await committer.close();
    kv.close();
  }
});
