import assert from "node:assert/strict";
import { Sealer } from "../lib/crypto.ts";
import { everyEventPrefix } from "../lib/kv/keys.ts";
import { kvLimits } from "../lib/kv/limits.ts";
import {
  ConcurrentRotationError,
  rotateSecret,
  RotationConflictError,
  rotationStatus,
  UnreadableValueError,
} from "../lib/rotation/rotate.ts";
import { SEALED_SCOPES } from "../lib/rotation/sealed_scopes.ts";
import { mockPlatform } from "./_mock_platform.ts";
import {
  connectMeta,
  createWorkspace,
  openOps,
  type OpsSluice,
  post,
  sendPurchase,
  tempDir,
} from "./_ops.ts";
import { eventually } from "./_wait.ts";

const OLD = "old-master-secret-0123456789abcdef";
const NEW = "new-master-secret-0123456789abcdef";
const OTHER = "other-master-secret-0123456789abcd";

/** Three values per commit: the rotation runs in many small batches. */
const SMALL_BATCHES = kvLimits(4);

type Keys = Awaited<ReturnType<typeof createWorkspace>>;

/** Everything sealed that the instance shows or uses: events, destination and webhook secrets. */
async function readable(s: OpsSluice, ws: Keys, hookId: string, destId: string) {
  const events = await s.get<{ data: unknown[] }>("/v1/events?limit=100", ws.admin_key);
  const destination = (await s.rt.destinations.get(ws.id, destId))!;
  const hook = (await s.rt.webhooks.get(ws.id, hookId))!;
  return {
    events: events.data,
    settings: s.rt.destinations.settingsOf(destination),
    signing: s.rt.webhooks.signingSecrets(hook, Date.now()),
  };
}

/** How many stored values each secret alone opens. */
async function sealedUnder(kv: Deno.Kv): Promise<{ old: number; new: number }> {
  const counts = { old: 0, new: 0 };
  const scope = SEALED_SCOPES.find((s) => s.name === "events")!;
  const onlyOld = new Sealer(OLD, scope.purpose, []);
  const onlyNew = new Sealer(NEW, scope.purpose, []);
  for await (const entry of kv.list<Uint8Array>({ prefix: everyEventPrefix() })) {
    for (const [name, sealer] of [["old", onlyOld], ["new", onlyNew]] as const) {
      try {
        sealer.openBytes(entry.value);
        counts[name]++;
      } catch {
        // sealed under the other secret
      }
    }
  }
  return counts;
}

/** An instance with a destination, a webhook and events, all sealed under OLD. */
async function seed(dir: string, meta: string) {
  await using s = await openOps(`${dir}/sluice.kv`, { SLUICE_SECRET: OLD });
  const ws = await createWorkspace(s);
  const destId = await connectMeta(s, ws.admin_key, meta);
  const res = await s.request(
    "/v1/webhooks",
    post({ url: "http://127.0.0.1:9/hook", events: ["delivery.failed"] }, ws.admin_key),
  );
  const hookId = (await res.json()).id as string;
  for (let i = 0; i < 10; i++) await sendPurchase(s, ws.ingest_key, `order-${i}`);
  return { ws, destId, hookId, before: await readable(s, ws, hookId, destId) };
}

Deno.test("a SLUICE_SECRET rotation keeps every secret readable, through an interrupted run and its resumption", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  const { ws, destId, hookId, before } = await seed(dir.path, meta.url);
  {
    // Servers switched first: the new secret seals, the old one still opens.
    await using s = await openOps(`${dir.path}/sluice.kv`, {
      SLUICE_SECRET: NEW,
      SLUICE_SECRET_PREVIOUS: OLD,
    });
    assert.deepEqual(await readable(s, ws, hookId, destId), before);
    assert.deepEqual(await sealedUnder(s.rt.kv), { old: 10, new: 0 });

    // Interrupted after its first batch (as a Ctrl-C or a crash would).
    const controller = new AbortController();
    const first = await rotateSecret(s.rt.kv, {
      oldSecret: OLD,
      newSecret: NEW,
      limits: SMALL_BATCHES,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    assert.equal(first.finished, false);
    const recorded = (await rotationStatus(s.rt.kv))!;
    assert.equal(recorded.finished_at, undefined);
    assert.equal(recorded.scope, "destinations");
    assert.equal(recorded.resealed, 1);
    assert.deepEqual(await readable(s, ws, hookId, destId), before);

    // A run over the events only part of the way: old and new values side by side.
    const partway = new AbortController();
    let batches = 0;
    await rotateSecret(s.rt.kv, {
      oldSecret: OLD,
      newSecret: NEW,
      limits: SMALL_BATCHES,
      signal: partway.signal,
      onProgress: (p) => {
        if (p.scope === "events" && ++batches === 2) partway.abort();
      },
    });
    assert.deepEqual(await sealedUnder(s.rt.kv), { old: 4, new: 6 });
    assert.deepEqual(await readable(s, ws, hookId, destId), before);

    const resumed = await rotateSecret(s.rt.kv, {
      oldSecret: OLD,
      newSecret: NEW,
      limits: SMALL_BATCHES,
    });
    assert.equal(resumed.finished, true);
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.progress.resealed, 12);
    assert.ok(resumed.progress.finished_at);
    assert.deepEqual(await sealedUnder(s.rt.kv), { old: 0, new: 10 });
  }
  // The old secret is gone from the environment: everything still reads, and sends.
  await using s = await openOps(`${dir.path}/sluice.kv`, { SLUICE_SECRET: NEW });
  assert.deepEqual(await readable(s, ws, hookId, destId), before);
  s.startWorkers();
  await sendPurchase(s, ws.ingest_key, "after-rotation");
  const request = await eventually("Meta to receive the event", () => meta.received[0]);
  assert.match(request.path, /access_token=EAAB-secret-token/);
});

Deno.test("rotateSecret() leaves what the new secret sealed already, counting it as current", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform();
  const { ws } = await seed(dir.path, meta.url);
  await using s = await openOps(`${dir.path}/sluice.kv`, {
    SLUICE_SECRET: NEW,
    SLUICE_SECRET_PREVIOUS: OLD,
  });
  await sendPurchase(s, ws.ingest_key, "sealed-under-new");
  const result = await rotateSecret(s.rt.kv, {
    oldSecret: OLD,
    newSecret: NEW,
    limits: SMALL_BATCHES,
  });
  assert.equal(result.progress.resealed, 12);
  assert.equal(result.progress.current, 1);
  // A second pass finds nothing to do.
  const again = await rotateSecret(s.rt.kv, {
    oldSecret: OLD,
    newSecret: NEW,
    limits: SMALL_BATCHES,
  });
  assert.equal(again.resumed, false);
  assert.equal(again.progress.resealed, 0);
  assert.equal(again.progress.current, 13);
});

Deno.test("rotateSecret() refuses another pair of secrets while a rotation is unfinished", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform();
  await seed(dir.path, meta.url);
  await using s = await openOps(`${dir.path}/sluice.kv`, { SLUICE_SECRET: NEW });
  const controller = new AbortController();
  await rotateSecret(s.rt.kv, {
    oldSecret: OLD,
    newSecret: NEW,
    limits: SMALL_BATCHES,
    signal: controller.signal,
    onProgress: () => controller.abort(),
  });
  await assert.rejects(
    rotateSecret(s.rt.kv, { oldSecret: OTHER, newSecret: NEW, limits: SMALL_BATCHES }),
    RotationConflictError,
  );
  await assert.rejects(
    rotateSecret(s.rt.kv, { oldSecret: OLD, newSecret: NEW + "x", limits: SMALL_BATCHES }),
    RotationConflictError,
  );
});

Deno.test("rotateSecret() stops at a value neither secret opens, or counts it with skipUnreadable", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform();
  await seed(dir.path, meta.url);
  await using s = await openOps(`${dir.path}/sluice.kv`, { SLUICE_SECRET: NEW });
  // A wrong old secret opens nothing.
  await assert.rejects(
    rotateSecret(s.rt.kv, { oldSecret: OTHER, newSecret: NEW, limits: SMALL_BATCHES }),
    (error: Error) => error instanceof UnreadableValueError && /"dest"/.test(error.message),
  );
  const recorded = await rotationStatus(s.rt.kv);
  const skipped = await rotateSecret(s.rt.kv, {
    oldSecret: OTHER,
    newSecret: NEW,
    limits: SMALL_BATCHES,
    skipUnreadable: true,
  });
  assert.equal(recorded, null, "nothing was committed before the unreadable value");
  assert.equal(skipped.progress.unreadable, 12);
  assert.equal(skipped.progress.resealed, 0);
});

Deno.test("rotateSecret() stops when another run changes the progress record meanwhile", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform();
  await seed(dir.path, meta.url);
  await using s = await openOps(`${dir.path}/sluice.kv`, { SLUICE_SECRET: NEW });
  let other: Promise<unknown> | undefined;
  await assert.rejects(
    rotateSecret(s.rt.kv, {
      oldSecret: OLD,
      newSecret: NEW,
      limits: SMALL_BATCHES,
      onProgress: async () => {
        // A second run goes on from the record, to the end, while the first is between batches.
        other ??= rotateSecret(s.rt.kv, { oldSecret: OLD, newSecret: NEW, limits: SMALL_BATCHES });
        await other;
      },
    }),
    ConcurrentRotationError,
  );
  assert.ok((await rotationStatus(s.rt.kv))?.finished_at);
  assert.deepEqual(await sealedUnder(s.rt.kv), { old: 0, new: 10 });
});
