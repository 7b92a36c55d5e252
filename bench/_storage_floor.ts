/**
 * Folder-private: the floor of delivery on this machine, measured in this process with
 * nothing else running. It times the preparation every event needs (parse, validate,
 * enrich, seal), then writes the Deno KV entries Sluice keeps per delivered event (the
 * sealed event, its dedup entry checked absent, the hand-off record checked absent, the
 * delivery row) in the commit sizes Sluice uses, on a fresh SQLite file, one commit of each
 * kind in flight at a time. No server, HTTP, mapping or platform.
 */
import { eventSealer } from "../lib/event_store.ts";
import type { RequestContext } from "../lib/ingest/event_input.ts";
import { type PreparedEvent, prepareEvents } from "../lib/ingest/workers.ts";
import { deliveryKey, eventIdKey, eventKey, handoffKey, statKey } from "../lib/kv/keys.ts";
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

/** Prepares `count` events from `inputs` and writes their KV entries into a fresh file in `dir`. */
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
  if (events.length !== count) throw new Error("The floor's events did not parse");
  const kv = await Deno.openKv(`${dir}/floor.kv`);
  /** Writes every event through `write`, `size` a commit; `close` adds per-commit entries. */
  const inCommits = async (
    size: number,
    write: (op: Deno.AtomicOperation, one: Ok) => void,
    close?: (op: Deno.AtomicOperation) => void,
  ) => {
    for (let i = 0; i < count; i += size) {
      const op = kv.atomic();
      for (const one of events.slice(i, i + size)) write(op, one);
      close?.(op);
      if (!(await op.commit()).ok) throw new Error("A floor commit was refused");
    }
  };
  try {
    const startedAt = performance.now();
    const cpuBefore = processCpuMs();
    // The three kinds of commit overlap, as ingest, fan-out and sends do in Sluice.
    await Promise.all([
      inCommits(INGEST_GROUP, (op, { event, sealed }) => {
        const idKey = eventIdKey(wsId, event.event_id);
        op.check({ key: idKey, versionstamp: null })
          .set(eventKey(wsId, event.id), sealed, { expireIn: 30 * DAY_MS })
          .set(idKey, { ulid: event.id, dedup_until: Date.now() + DAY_MS }, {
            expireIn: 30 * DAY_MS,
          });
      }, (op) => {
        for (const metric of ["events", "events_by_name", "events_by_source"]) {
          op.sum(statKey(wsId, 0, metric), 100n);
        }
        op.enqueue({ type: "floor" }, { delay: 3_600_000 });
      }),
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
