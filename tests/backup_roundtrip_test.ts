import assert from "node:assert/strict";
import { connectorFor } from "../connectors/mod.ts";
import { exportKv } from "../lib/backup/export.ts";
import { readBackupLines, writeBackupFile } from "../lib/backup/file.ts";
import { NonEmptyKvError, restoreBackup } from "../lib/backup/restore.ts";
import { mockPlatform } from "./_mock_platform.ts";
import {
  connectMeta,
  createWorkspace,
  LOCAL_LIMITS,
  openOps,
  type OpsSluice,
  post,
  sendPurchase,
  tempDir,
} from "./_ops.ts";
import { eventually } from "./_wait.ts";

type Keys = Awaited<ReturnType<typeof createWorkspace>>;

/** What the management API answers about a workspace, for comparing two instances. */
async function apiAnswers(s: OpsSluice, ws: Keys, eventIds: string[]) {
  const key = ws.admin_key;
  // When a key was last used is each instance's own reading (these very requests use the key).
  const keys = await s.get<{ data: { last_used_at?: unknown }[] }>("/v1/api-keys", key);
  return {
    workspace: await s.get("/v1/workspace", key),
    keys: { data: keys.data.map(({ last_used_at: _, ...rest }) => rest) },
    platforms: await s.get("/v1/platforms", key),
    webhooks: await s.get("/v1/webhooks", key),
    rules: await s.get("/v1/rules", key),
    events: await s.get("/v1/events?limit=100", key),
    details: await Promise.all(eventIds.map((id) => s.get(`/v1/events/${id}`, key))),
  };
}

async function backup(s: OpsSluice, file: string, workspace?: string) {
  return await writeBackupFile(file, (write) =>
    exportKv(s.rt.kv, write, {
      workspace,
      queue: s.rt.queue.kind,
      secretFingerprints: s.rt.secretFingerprints,
    }));
}

async function restore(s: OpsSluice, file: string, force = false) {
  return await restoreBackup(s.rt.kv, () => readBackupLines(file), {
    force,
    queue: s.rt.queue,
    limits: LOCAL_LIMITS,
    secretFingerprints: s.rt.secretFingerprints,
    connectorFor,
  });
}

interface DeliveryJson {
  status: string;
  attempts: number;
}

async function deliveries(s: OpsSluice, key: string, eventId: string): Promise<DeliveryJson[]> {
  return (await s.get<{ deliveries: DeliveryJson[] }>(`/v1/events/${eventId}`, key)).deliveries;
}

/** Event ids Meta received, from every request's `data`. */
function metaEventIds(received: { json: unknown }[]): string[] {
  return received.flatMap((r) =>
    ((r.json as { data?: { event_id: string }[] }).data ?? []).map((e) => e.event_id)
  ).sort();
}

const OUTBOX = { SLUICE_QUEUE: "kv-outbox", SLUICE_OUTBOX_REQUEST_DRAIN: "0" };

Deno.test("restore of a kv-outbox backup into an empty KV answers the same, deduplicates the same (409) and delivers what was queued", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  const file = `${dir.path}/sluice.ndjson.gz`;
  const ids = ["order-1", "order-2", "order-3"];
  let ws: Keys;
  let before: Awaited<ReturnType<typeof apiAnswers>>;
  {
    // The source never consumes its queue: what it accepted is still queued at the backup.
    await using source = await openOps(`${dir.path}/source.kv`, OUTBOX);
    ws = await createWorkspace(source);
    await connectMeta(source, ws.admin_key, meta.url);
    const hook = await source.request(
      "/v1/webhooks",
      post({ url: "http://127.0.0.1:9/hook", events: ["delivery.failed"] }, ws.admin_key),
    );
    assert.equal(hook.status, 201);
    await source.request(
      "/v1/api-keys",
      post({ name: "Reader", scopes: ["read"] }, ws.admin_key),
    );
    for (const id of ids) await sendPurchase(source, ws.ingest_key, id);
    before = await apiAnswers(source, ws, ids);
    const { trailer, header } = await backup(source, file);
    assert.equal(header.queue, "kv-outbox");
    assert.equal(trailer.changed_during_export, 0);
  }
  assert.equal(meta.received.length, 0);

  await using target = await openOps(`${dir.path}/target.kv`, OUTBOX);
  const summary = await restore(target, file);
  assert.ok(summary.queued >= 1, "the queued fan-out message is restored");
  assert.equal(summary.requeued, null);
  assert.deepEqual(await apiAnswers(target, ws, ids), before);

  // The dedup state came along: the same event id is a duplicate.
  await sendPurchase(target, ws.ingest_key, "order-2", 409);
  // Keys are restored hashed and still authenticate; their secrets are not in the file.
  const text = new TextDecoder().decode(
    await new Response(
      (await Deno.open(file)).readable.pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  assert.ok(!text.includes(ws.admin_key) && !text.includes("EAAB-secret-token"));

  target.startWorkers();
  await eventually(
    "Meta to receive the queued events",
    () => metaEventIds(meta.received).length === 3 ? true : undefined,
  );
  assert.deepEqual(metaEventIds(meta.received), ids);
  for (const id of ids) {
    const rows = await eventually(`${id} delivered`, async () => {
      const rows = await deliveries(target, ws.admin_key, id);
      return rows[0]?.status === "delivered" ? rows : undefined;
    });
    assert.equal(rows.length, 1);
  }
});

Deno.test("restore of a kv-queue backup re-derives what the queue held: events not fanned out and pending retries", async () => {
  await using dir = await tempDir();
  // Meta refuses the first request (a retry follows in 2 s), then accepts.
  await using meta = mockPlatform(
    (n) => n === 1 ? new Response("busy", { status: 500 }) : undefined,
    () => Response.json({ events_received: 1 }),
  );
  const sourcePath = `${dir.path}/source.kv`;
  const file = `${dir.path}/sluice.ndjson`;
  const env = { SLUICE_QUEUE: "kv-queue", SLUICE_DELIVERY_RETRY_SCHEDULE: "2s" };
  let ws: Keys;
  {
    await using source = await openOps(sourcePath, env);
    source.startWorkers();
    ws = await createWorkspace(source);
    await connectMeta(source, ws.admin_key, meta.url);
    await sendPurchase(source, ws.ingest_key, "retried");
    await eventually("the first attempt to fail", async () => {
      const rows = await deliveries(source, ws.admin_key, "retried");
      return rows[0]?.status === "retrying" ? true : undefined;
    });
  }
  {
    // Open again without a consumer: this event stays in the kv-queue, unread.
    await using source = await openOps(sourcePath, env);
    await sendPurchase(source, ws.ingest_key, "queued");
    const { header } = await backup(source, file);
    assert.equal(header.queue, "kv-queue");
  }
  assert.deepEqual(metaEventIds(meta.received), ["retried"]);

  await using target = await openOps(`${dir.path}/target.kv`, env);
  const summary = await restore(target, file);
  assert.deepEqual(summary.requeued, { events: 1, deliveries: 1, webhooks: 0 });
  target.startWorkers();
  await eventually("both events delivered", async () => {
    const [a] = await deliveries(target, ws.admin_key, "retried");
    const [b] = await deliveries(target, ws.admin_key, "queued");
    return a?.status === "delivered" && b?.status === "delivered" ? true : undefined;
  });
  const [retried] = await deliveries(target, ws.admin_key, "retried");
  assert.equal(retried!.attempts, 2);
  assert.deepEqual(metaEventIds(meta.received), ["queued", "retried", "retried"]);
});

Deno.test("restoreBackup() refuses a KV that holds entries unless forced, and writes nothing", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/sluice.ndjson`;
  let ws: Keys;
  {
    await using source = await openOps(`${dir.path}/source.kv`);
    ws = await createWorkspace(source);
    await backup(source, file);
  }
  await using target = await openOps(`${dir.path}/target.kv`);
  const other = await createWorkspace(target, "Already here");
  const count = async () => {
    let n = 0;
    for await (const _ of target.rt.kv.list({ prefix: [] })) n++;
    return n;
  };
  const entries = await count();
  await assert.rejects(restore(target, file), NonEmptyKvError);
  assert.equal(await count(), entries);

  await restore(target, file, true);
  // Merged: the restored workspace and the one that was there both work.
  await target.get("/v1/workspace", ws.admin_key);
  await target.get("/v1/workspace", other.admin_key);
});

Deno.test("backup with a workspace exports only that workspace's entries", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/one.ndjson.gz`;
  let a: Keys;
  let b: Keys;
  {
    await using source = await openOps(`${dir.path}/source.kv`, OUTBOX);
    a = await createWorkspace(source, "A");
    b = await createWorkspace(source, "B");
    await sendPurchase(source, a.ingest_key, "a-1");
    await sendPurchase(source, b.ingest_key, "b-1");
    const { header } = await backup(source, file, a.id);
    assert.equal(header.workspace, a.id);
  }
  await using target = await openOps(`${dir.path}/target.kv`, OUTBOX);
  const summary = await restore(target, file);
  assert.equal(summary.queued, 1, "only A's queued fan-out");
  const events = await target.get<{ data: { event_id: string }[] }>("/v1/events", a.admin_key);
  assert.deepEqual(events.data.map((e) => e.event_id), ["a-1"]);
  const res = await target.request("/v1/workspace", {
    headers: { authorization: `Bearer ${b.admin_key}` },
  });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  for await (const entry of target.rt.kv.list({ prefix: [] })) {
    assert.ok(!JSON.stringify(entry.key).includes(b.id), `B's entry ${JSON.stringify(entry.key)}`);
  }
});

Deno.test("restoreBackup() leaves out entries that expired since the backup (re-derived expiries)", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/sluice.ndjson`;
  let ws: Keys;
  {
    await using source = await openOps(`${dir.path}/source.kv`, OUTBOX);
    ws = await createWorkspace(source);
    const res = await source.request(
      "/v1/workspace",
      post({ settings: { retention_days: 1, dedup_window_seconds: 3600 } }, ws.admin_key, "PATCH"),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await sendPurchase(source, ws.ingest_key, "short-lived");
    await backup(source, file);
  }
  await using target = await openOps(`${dir.path}/target.kv`, OUTBOX);
  const summary = await restoreBackup(target.rt.kv, () => readBackupLines(file), {
    queue: target.rt.queue,
    limits: LOCAL_LIMITS,
    secretFingerprints: target.rt.secretFingerprints,
    connectorFor,
    now: () => Date.now() + 2 * 86_400_000,
  });
  // The sealed event and its id entry, both past the 1-day retention two days on.
  assert.equal(summary.expired, 2);
  const events = await target.get<{ data: unknown[] }>("/v1/events", ws.admin_key);
  assert.deepEqual(events.data, []);
});
