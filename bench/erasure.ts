/**
 * Erasure benchmark: `deno task bench:erasure [--events N] [--matches N]`.
 *
 * Stores N sealed events (with their event-id entries, hand-off records and one delivery row
 * each) in a fresh KV file, `--matches` of them about one person, then times
 * `POST /v1/erasure`'s work (`Eraser.erase`): the scan that opens every stored event of the
 * workspace and the deletion of the person's records. Prints events scanned per second and
 * the heap before and after (the scan keeps one page in memory). No pass/fail on timing.
 */
import { parseArgs } from "node:util";
import { parseConfig } from "../lib/config.ts";
import { deliveryKey, eventIdKey, eventKey, handoffKey } from "../lib/kv/keys.ts";
import { keysPerCommit, kvLimits } from "../lib/kv/limits.ts";
import { openRuntime } from "../lib/runtime.ts";
import type { SluiceEvent } from "../core/event.ts";
import { monotonicFactory } from "ulid";

const { values } = parseArgs({
  args: Deno.args,
  options: { events: { type: "string" }, matches: { type: "string" } },
});
const total = Number(values.events ?? Deno.env.get("BENCH_EVENTS") ?? 100_000);
const matches = Number(values.matches ?? 20);

const dir = await Deno.makeTempDir({ prefix: "sluice-erasure-bench-" });
const rt = await openRuntime(parseConfig({
  SLUICE_KV: `${dir}/bench.kv`,
  SLUICE_SECRET: "erasure-bench-secret-0123456789abcdef",
  SLUICE_LOG_LEVEL: "warn",
}));
try {
  const { workspace } = await rt.workspaces.create({ name: "Erasure bench" });
  const newUlid = monotonicFactory();
  const now = Date.now();
  // Four keys per event.
  const perCommit = Math.floor(keysPerCommit(kvLimits(rt.config.kvMaxChecks)) / 4);
  const every = Math.max(1, Math.floor(total / matches));
  const fillStarted = performance.now();
  for (let i = 0; i < total; i += perCommit) {
    const op = rt.kv.atomic();
    for (let j = i; j < Math.min(total, i + perCommit); j++) {
      const ulid = newUlid();
      const about = j % every === 0 ? "ada@example.com" : `person-${j}@example.com`;
      const event: SluiceEvent = {
        id: ulid,
        workspace_id: workspace.id,
        event_id: `e-${j}`,
        event_name: "purchase",
        event_time: now,
        received_at: now,
        source: "server",
        dialect: "native",
        user_data: {
          email: about,
          phone: "+16505550100",
          first_name: "Someone",
          client_ip: "203.0.113.7",
          user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
        },
        value: 49.9,
        currency: "EUR",
        order_id: `o-${j}`,
        page: { url: "https://shop.example/checkout/thanks" },
        properties: { plan: "pro" },
        trace_id: "0123456789abcdef",
      };
      op.set(eventKey(workspace.id, ulid), rt.events.sealer.sealBytes(JSON.stringify(event)))
        .set(eventIdKey(workspace.id, event.event_id), { ulid, dedup_until: now })
        .set(handoffKey(workspace.id, ulid), { at: now })
        .set(deliveryKey(workspace.id, ulid, "dst_bench"), { status: "delivered" });
    }
    await op.commit();
  }
  console.log(
    `stored ${total} events in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`,
  );
  const heapBefore = Deno.memoryUsage().heapUsed;
  const started = performance.now();
  const report = await rt.eraser.erase(workspace.id, { email: "ada@example.com" });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify(report.removed));
  console.log(
    `erasure: scanned ${report.scanned_events} events in ${seconds.toFixed(2)} s ` +
      `(${Math.round(report.scanned_events / seconds)} events/s); heap ${
        Math.round(heapBefore / 1e6)
      } MB before, ${Math.round(Deno.memoryUsage().heapUsed / 1e6)} MB after`,
  );
} finally {
  await rt.close();
  await Deno.remove(dir, { recursive: true });
}
