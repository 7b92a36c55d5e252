import assert from "node:assert/strict";
import { outboxPrefix } from "../lib/kv/keys.ts";
import { mockPlatform } from "./_mock_platform.ts";
import {
  connectMeta,
  createWorkspace,
  openOps,
  OPS_ROOT_TOKEN,
  type OpsSluice,
  sendPurchase,
  tempDir,
} from "./_ops.ts";
import { eventually, pause } from "./_wait.ts";

const DRAIN_TOKEN = "drain-token-0123456789abcdef";

async function drain(s: OpsSluice, token?: string, query = ""): Promise<Response> {
  return await s.request(`/v1/outbox/drain${query}`, {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

async function outboxSize(s: OpsSluice): Promise<number> {
  let n = 0;
  for await (const _ of s.rt.kv.list({ prefix: outboxPrefix() })) n++;
  return n;
}

function metaEvents(received: { json: unknown }[]): number {
  return received.reduce((n, r) => n + ((r.json as { data?: unknown[] }).data?.length ?? 0), 0);
}

Deno.test("POST /v1/outbox/drain handles what is queued, for a scheduler holding the drain or root token", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  // Nothing consumes the queue here: no worker loop, no drain after requests.
  await using s = await openOps(`${dir.path}/sluice.kv`, {
    SLUICE_QUEUE: "kv-outbox",
    SLUICE_OUTBOX_REQUEST_DRAIN: "0",
    SLUICE_DRAIN_TOKEN: DRAIN_TOKEN,
  });
  const ws = await createWorkspace(s);
  await connectMeta(s, ws.admin_key, meta.url);
  await sendPurchase(s, ws.ingest_key, "order-1");
  await sendPurchase(s, ws.ingest_key, "order-2");
  await pause(200);
  assert.equal(meta.received.length, 0);

  for (const token of [undefined, "wrong-token", ws.admin_key]) {
    const res = await drain(s, token);
    assert.equal(res.status, 401, String(token));
    await res.body?.cancel();
  }
  const res = await drain(s, DRAIN_TOKEN);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.ok(body.handled >= 2, JSON.stringify(body));
  assert.deepEqual({ failed: body.failed, more: body.more }, { failed: 0, more: false });
  assert.equal(metaEvents(meta.received), 2, "answered once the claimed messages were handled");
  assert.equal(await outboxSize(s), 0);

  await sendPurchase(s, ws.ingest_key, "order-3");
  const byRoot = await drain(s, OPS_ROOT_TOKEN, "?max=50&budget=2s");
  assert.equal(byRoot.status, 200);
  await byRoot.body?.cancel();
  assert.equal(metaEvents(meta.received), 3);

  for (const query of ["?max=0", "?max=5000", "?budget=1h", "?budget=soon"]) {
    const bad = await drain(s, DRAIN_TOKEN, query);
    assert.equal(bad.status, 400, query);
    await bad.body?.cancel();
  }
});

Deno.test("POST /v1/outbox/drain answers 422 with kv-queue and 403 when no token is configured", async () => {
  await using dir = await tempDir();
  {
    await using s = await openOps(`${dir.path}/queue.kv`, { SLUICE_QUEUE: "kv-queue" });
    const res = await drain(s, OPS_ROOT_TOKEN);
    assert.equal(res.status, 422);
    assert.match((await res.json()).detail, /kv-queue/);
  }
  await using s = await openOps(`${dir.path}/outbox.kv`, {
    SLUICE_QUEUE: "kv-outbox",
    SLUICE_ROOT_TOKEN: "",
  });
  const res = await drain(s, "anything");
  assert.equal(res.status, 403);
  assert.match((await res.json()).detail, /SLUICE_DRAIN_TOKEN/);
});

Deno.test("requests drain the kv-outbox after their answer, so events are delivered with no worker loop", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  {
    // Control: with the drain after requests off, nothing is delivered.
    await using off = await openOps(`${dir.path}/off.kv`, {
      SLUICE_QUEUE: "kv-outbox",
      SLUICE_OUTBOX_REQUEST_DRAIN: "0",
    });
    const ws = await createWorkspace(off);
    await connectMeta(off, ws.admin_key, meta.url);
    await sendPurchase(off, ws.ingest_key, "not-drained");
    await off.get("/v1/events", ws.admin_key);
    await pause(300);
    assert.equal(meta.received.length, 0);
  }
  await using s = await openOps(`${dir.path}/on.kv`, { SLUICE_QUEUE: "kv-outbox" });
  const ws = await createWorkspace(s);
  await connectMeta(s, ws.admin_key, meta.url);
  await sendPurchase(s, ws.ingest_key, "drained");
  // The ingest request's own drain fans the event out and sends it.
  await eventually("Meta to receive the event", () => metaEvents(meta.received) === 1 || undefined);
  await eventually("the outbox to empty", async () => (await outboxSize(s)) === 0 || undefined);
});

Deno.test("the drain after requests is bounded, runs one at a time, and rests after finding nothing", async () => {
  await using dir = await tempDir();
  await using s = await openOps(`${dir.path}/sluice.kv`, {
    SLUICE_QUEUE: "kv-outbox",
    SLUICE_OUTBOX_REQUEST_DRAIN: "5",
  });
  // Fan-out messages for a workspace with nothing to route to: each is handled at once.
  const enqueue = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await s.rt.queue.enqueue({ type: "ingested", workspace_id: "ws_nothing", ids: [`E${i}`] });
    }
  };
  await enqueue(30);
  // Many requests at once start one drain between them, of at most 5 messages.
  const started = Array.from({ length: 10 }, () => s.rt.drainAfterRequest());
  assert.equal(started.filter((drain) => drain !== undefined).length, 1);
  await started[0];
  assert.equal(await outboxSize(s), 25);

  const res = await s.request("/healthz");
  await res.body?.cancel();
  await eventually(
    "the next request's drain",
    async () => (await outboxSize(s)) === 20 || undefined,
  );

  /** Starts a drain as soon as the one running has finished, and waits for it. */
  const drainOnce = async () => {
    const drain = await eventually("a drain to start", () => {
      const started = s.rt.drainAfterRequest();
      return started ? { started } : undefined;
    });
    await drain.started;
  };
  for (let left = 15; left >= 0; left -= 5) {
    await drainOnce();
    assert.equal(await outboxSize(s), left);
  }
  // This one finds nothing: requests rest for a second...
  await drainOnce();
  assert.equal(s.rt.drainAfterRequest(), undefined, "resting");
  // ...unless this process queued something since (an ingest request did).
  await enqueue(1);
  const after = s.rt.drainAfterRequest();
  assert.ok(after, "a queued message ends the rest");
  await after;
  assert.equal(await outboxSize(s), 0);
});
