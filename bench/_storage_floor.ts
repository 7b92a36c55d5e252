/**
 * Folder-private: the storage floor of delivery. Writes, in this process and nothing else,
 * the Deno KV entries Sluice keeps per delivered event (the sealed event, its dedup entry
 * checked absent, the hand-off record checked absent, the delivery row), in the commit
 * sizes Sluice uses, on a fresh SQLite file: one commit of each kind in flight at a time.
 * It also times the preparation of those events (parse, validate, enrich, seal), which
 * every event needs before it is written. No server, no HTTP, no
 * parsing, no platform: what this machine's KV allows at most, for the same run's figures.
 */
import { eventSealer } from "../lib/event_store.ts";
import type { RequestContext } from "../lib/event_input.ts";
import { type PreparedEvent, prepareEvents } from "../lib/ingest_workers.ts";
import { deliveryKey, eventIdKey, eventKey, handoffKey, statKey } from "../lib/kv_keys.ts";
import type { DeliveryRow, RoutedHandoff } from "../lib/delivery/rows.ts";
import { randomToken } from "./_common.ts";

const INGEST_GROUP = 100;
const HANDOFF_GROUP = 100;
const ROWS_PER_COMMIT = 500;
const DAY_MS = 86_400_000;

type Ok = Extract<PreparedEvent, { ok: true }>;

/** What the floor run measured. */
export interface StorageFloor {
  events: number;
  /** Events per second through all four kinds of write. */
  eventsPerSecond: number;
  /** CPU time of this process per event for the writes, µs (Linux; NaN elsewhere). */
  cpuMicrosPerEvent: number;
  /** Time per event to parse, validate, enrich and seal the same events (one thread), µs. */
  prepareMicrosPerEvent: number;
}

/** CPU time (user + system) of a process so far, ms; NaN where /proc is absent. */
export function processCpuMs(pid: number | "self" = "self"): number {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Writes `count` events' worth of Sluice's per-event KV entries into a fresh file in `dir`. */
export async function measureStorageFloor(
  dir: string,
  inputs: (index: number) => Record<string, unknown>,
  count: number,
): Promise<StorageFloor> {
  const wsId = "ws_floor";
  const ctx: RequestContext = {
    workspaceId: wsId,
    dialect: "native",
    receivedAt: Date.now(),
    traceId: "floor",
    defaultSource: "server",
  };
  const preparedAt = performance.now();
  const prepared = prepareEvents(
    Array.from({ length: count }, (_, i) => inputs(i)),
    ctx,
    eventSealer(randomToken()),
  );
  const prepareMicrosPerEvent = (performance.now() - preparedAt) * 1000 / count;
  const events = prepared.flatMap((p) => p.ok ? [p] : []);
  const lastOfGroup = new Set(
    events.filter((_, i) => i % INGEST_GROUP === INGEST_GROUP - 1 || i === count - 1),
  );
  const isLastOfGroup = (one: Ok) => lastOfGroup.has(one);
  if (events.length !== count) throw new Error("The floor's events did not parse");
  const kv = await Deno.openKv(`${dir}/floor.kv`);
  const inCommits = async (size: number, write: (op: Deno.AtomicOperation, one: Ok) => void) => {
    for (let i = 0; i < count; i += size) {
      const op = kv.atomic();
      for (const one of events.slice(i, i + size)) write(op, one);
      if (!(await op.commit()).ok) throw new Error("A storage-floor commit was refused");
    }
  };
  const ingestCommit = (op: Deno.AtomicOperation, { event, sealed }: Ok, last: boolean) => {
    const idKey = eventIdKey(wsId, event.event_id);
    op.check({ key: idKey, versionstamp: null })
      .set(eventKey(wsId, event.id), sealed, { expireIn: 30 * DAY_MS })
      .set(idKey, { ulid: event.id, dedup_until: Date.now() + DAY_MS }, { expireIn: 30 * DAY_MS });
    if (!last) return;
    for (const metric of ["events", "events_by_name", "events_by_source"]) {
      op.sum(statKey(wsId, 0, metric), 100n);
    }
    op.enqueue({ type: "floor" }, { delay: 3_600_000 });
  };
  try {
    const startedAt = performance.now();
    const cpuBefore = processCpuMs();
    // The three kinds of commit overlap, as ingest, fan-out and sends do in Sluice.
    await Promise.all([
      inCommits(INGEST_GROUP, (op, one) => ingestCommit(op, one, isLastOfGroup(one))),
      inCommits(HANDOFF_GROUP, (op, { event }) => {
        const handoff: RoutedHandoff = {
          at: Date.now(),
          routes: { dst_floor: { type: "meta", event_name: event.event_name } },
        };
        op.check({ key: handoffKey(wsId, event.id), versionstamp: null })
          .set(handoffKey(wsId, event.id), handoff, { expireIn: 30 * DAY_MS });
      }),
      inCommits(ROWS_PER_COMMIT, (op, { event }) => {
        const row: DeliveryRow = {
          platform_id: "dst_floor",
          type: "meta",
          status: "delivered",
          event_name: event.event_name,
          attempts: 1,
          last_status: 200,
          response: '{"events_received":400,"fbtrace_id":"bench"}',
          latency_ms: 2,
          updated_at: new Date().toISOString(),
        };
        op.set(deliveryKey(wsId, event.id, "dst_floor"), row, { expireIn: 30 * DAY_MS });
      }),
    ]);
    const seconds = (performance.now() - startedAt) / 1000;
    return {
      events: count,
      eventsPerSecond: count / seconds,
      cpuMicrosPerEvent: (processCpuMs() - cpuBefore) * 1000 / count,
      prepareMicrosPerEvent,
    };
  } finally {
    kv.close();
  }
}
