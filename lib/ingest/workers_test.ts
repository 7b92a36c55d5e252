import assert from "node:assert/strict";
import type { RequestContext } from "./event_input.ts";
import { eventSealer, openEvent } from "../event_store.ts";
import { IngestWorkers, type PreparedEvent } from "./workers.ts";

const SECRET = "ingest-workers-test-secret-0123456789";

const ctx: RequestContext = {
  workspaceId: "ws_workers",
  dialect: "native",
  receivedAt: Date.now(),
  traceId: "trace",
  defaultSource: "server",
};

const inputs = [
  { event_id: "order-1", event_name: "purchase", user_data: { email: "ada@example.com" } },
  { event_id: "order-2" },
];

Deno.test("IngestWorkers.prepare() answers undefined until a worker is ready, then prepares there", async () => {
  const workers = new IngestWorkers(SECRET, 1);
  try {
    assert.equal(workers.prepare(inputs, ctx, "events"), undefined, "prepared in place meanwhile");
    let offloaded: Promise<PreparedEvent[]> | undefined;
    const until = Date.now() + 15_000;
    while (!(offloaded = workers.prepare(inputs, ctx, "events")) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(offloaded, "no worker became ready");
    const [accepted, rejected] = await offloaded;
    assert.ok(accepted?.ok);
    assert.equal(accepted.event.event_id, "order-1");
    assert.deepEqual(openEvent(accepted.sealed, eventSealer(SECRET)), accepted.event);
    assert.ok(rejected && !rejected.ok);
    assert.ok(rejected.errors.some((e) => e.path.startsWith("events.1")), "paths name the input");
  } finally {
    workers.close();
  }
});

Deno.test("IngestWorkers.close() fails what is pending and leaves later batches to the caller", async () => {
  const workers = new IngestWorkers(SECRET, 1);
  let offloaded: Promise<PreparedEvent[]> | undefined;
  const until = Date.now() + 15_000;
  while (!(offloaded = workers.prepare(inputs, ctx)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(offloaded, "no worker became ready");
  workers.close(new Error("stopped for the test"));
  await assert.rejects(offloaded, /stopped for the test/);
  assert.equal(workers.prepare(inputs, ctx), undefined, "no worker restarts after close");
});
