/**
 * End to end: SIGTERM mid-load stops the real server gracefully, once, with exit code 0,
 * and every event it acknowledged is stored (read back from the KV file afterwards).
 */
import assert from "node:assert/strict";
import { eventSealer, openEvent, type SealedEvent } from "../lib/event_store.ts";
import { SpawnedServer } from "./_server.ts";
import { pause } from "./_wait.ts";

const SECRET = "e2e-shutdown-test-secret-0123456789ab";
const ROOT_TOKEN = "e2e-shutdown-test-root-token-012345";
const SENDERS = 8;
const BATCH = 25;

async function createWorkspace(base: string): Promise<{ id: string; ingest_key: string }> {
  const res = await fetch(`${base}/v1/workspaces`, {
    method: "POST",
    headers: { authorization: `Bearer ${ROOT_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Shutdown test" }),
  });
  assert.equal(res.status, 201);
  return await res.json();
}

/** Posts batches until the server stops answering; returns the acknowledged event ids. */
async function sendUntilRefused(base: string, key: string, sender: number): Promise<string[]> {
  const acked: string[] = [];
  for (let n = 0;; n++) {
    const ids = Array.from({ length: BATCH }, (_, i) => `S${sender}-${n}-${i}`);
    let res: Response;
    try {
      res = await fetch(`${base}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          events: ids.map((event_id) => ({ event_id, event_name: "purchase", value: 5 })),
        }),
      });
    } catch {
      return acked; // the listener is closed: no answer proves nothing either way
    }
    const body = await res.json();
    if (res.status !== 202) return acked;
    for (const result of body.results as { event_id: string; status: string }[]) {
      if (result.status === "accepted") acked.push(result.event_id);
    }
  }
}

async function storedEventIds(kvPath: string, wsId: string): Promise<Set<string>> {
  using kv = await Deno.openKv(kvPath);
  const sealer = eventSealer(SECRET);
  const ids = new Set<string>();
  for await (const entry of kv.list<SealedEvent>({ prefix: ["ev", wsId] })) {
    ids.add(openEvent(entry.value, sealer).event_id);
  }
  return ids;
}

Deno.test("e2e: SIGTERM mid-load stops once with exit 0 and keeps every acknowledged event", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-e2e-shutdown-" });
  try {
    const kvPath = `${dir}/sluice.kv`;
    await using server = new SpawnedServer(kvPath, {
      SLUICE_SECRET: SECRET,
      SLUICE_ROOT_TOKEN: ROOT_TOKEN,
    });
    await server.ready();
    const ws = await createWorkspace(server.base);
    const sending = Promise.all(
      Array.from({ length: SENDERS }, (_, i) => sendUntilRefused(server.base, ws.ingest_key, i)),
    );
    await pause(700);
    server.signal("SIGTERM");
    await pause(20);
    server.signal("SIGTERM"); // a second Ctrl-C while stopping must not run shutdown twice
    const status = await server.stop("SIGTERM");
    const acked = (await sending).flat();
    assert.equal(status.code, 0, server.output);
    assert.equal(server.output.match(/^Stopped$/gm)?.length, 1, server.output);
    assert.doesNotMatch(server.output, /BadResource|Unhandled|Uncaught|Exception|^\s+at /m);
    assert.ok(acked.length >= BATCH * SENDERS, `only ${acked.length} events acknowledged`);
    const stored = await storedEventIds(kvPath, ws.id);
    const lost = acked.filter((id) => !stored.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged events lost`);
    console.log(`shutdown: ${acked.length} acknowledged, ${stored.size} stored, 0 lost`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
