import type { Connector } from "../../connectors/types.ts";
import type { FanOutCounts } from "../analytics/fan_out_counts.ts";
import { lookupEntries, type LookupEntry } from "../event_lookup.ts";
import { deliveryKey, handoffKey, handoffPrefix } from "../kv/keys.ts";
import { keysPerCommit, type KvLimits } from "../kv/limits.ts";
import { readByIds } from "../kv/range_read.ts";
import type { DeliverMessage, QueuePort } from "../queue/mod.ts";
import { EVENT_MESSAGE_TYPES } from "../webhooks/catalogue.ts";
import { eventNoticeTypes, noticeMutations, type WebhookNotices } from "../webhooks/notices.ts";
import { subscribes, type Webhook } from "../webhooks/store.ts";
import type { Destination } from "./destinations.ts";
import { decisionsOf, firstSends, type Routed } from "./first_sends.ts";
import {
  DELIVERY_ROW_TTL_MS,
  type DeliveryRow,
  type Route,
  type RoutedHandoff,
  withAttempt,
} from "./rows.ts";

/** What recording routes needs. */
export interface FanOutDeps {
  kv: Deno.Kv;
  queue: QueuePort;
  limits: KvLimits;
  connectorFor: (type: string) => Connector | undefined;
  notices?: WebhookNotices;
  now: () => number;
  /** Analytics counted in the same commits (lib/analytics/fan_out_counts.ts). */
  counts?: FanOutCounts;
}

/** How routed events are recorded: by fan-out (`initial`) or by a replay, forward or retry. */
export interface RecordOptions {
  initial: boolean;
  replay: boolean;
  /** Why a requeue put the rows back (replay, forward, retry_failed): noted in their history. */
  note?: string;
  /** Webhooks subscribed to event notices (fan-out raises them). */
  hooks?: readonly Webhook[];
  /** Fan-out: the workspace's event retention, ms, which the search index entries live. */
  retentionMs?: number;
}

/** What recording gave: the rows as they stand now, and the first attempts for the caller to make. */
export interface Recorded {
  rows: DeliveryRow[];
  sends: DeliverMessage[];
}

/**
 * How many events one fan-out commit holds: one hand-off check each (KV's check limit),
 * and their hand-off records and event notices within the keys a commit may write.
 */
export function fanOutSliceSize(limits: KvLimits, destinations: number, hooks: number): number {
  const perEvent = routeMutations(destinations, hooks);
  return Math.max(1, Math.min(limits.checks, Math.floor(keysPerCommit(limits) / perEvent)));
}

/** Mutations one event's routes take at most: its hand-off or rows, its sends, its notices. */
function routeMutations(destinations: number, hooks: number): number {
  return 1 + 2 * Math.max(1, destinations) + EVENT_MESSAGE_TYPES.length * noticeMutations(hooks);
}

/** Adds search index entries (lib/event_lookup.ts) to a commit. */
function addLookups(op: Deno.AtomicOperation, entries: readonly LookupEntry[]): void {
  for (const { key, eventId, expireIn } of entries) op.set(key, eventId, { expireIn });
}

/**
 * Records that events reached fan-out without routes (nothing to route to, or expired), with
 * the search index entries of those that were loaded.
 */
export async function recordHandoffs(
  deps: FanOutDeps,
  wsId: string,
  ids: readonly string[],
  lookups: readonly LookupEntry[] = [],
) {
  const size = keysPerCommit(deps.limits);
  for (let i = 0; i < lookups.length; i += size) {
    const op = deps.kv.atomic();
    addLookups(op, lookups.slice(i, i + size));
    if (!(await op.commit()).ok) throw new Error(`Cannot index ${lookups.length} events`);
  }
  for (let i = 0; i < ids.length; i += size) {
    const op = deps.kv.atomic();
    for (const id of ids.slice(i, i + size)) {
      op.set(handoffKey(wsId, id), { at: deps.now() }, { expireIn: DELIVERY_ROW_TTL_MS });
    }
    const result = await op.commit();
    if (!result.ok) throw new Error(`Cannot record the hand-off of ${ids.length} events`);
  }
}

/**
 * Records routed events in one commit. Fan-out (`initial`) writes each event's hand-off
 * record with its routes, checked absent so that a redelivered message hands nothing off
 * twice, and answers the first attempts for the caller to make (for events handed off
 * before, too: their answered rows make those attempts no-ops). A requeue writes rows and
 * queues its attempts in the same commit.
 */
export async function recordRoutes(
  deps: FanOutDeps,
  wsId: string,
  routed: readonly Routed[],
  destinations: readonly Destination[],
  options: RecordOptions,
): Promise<Recorded> {
  const byId = new Map(destinations.map((d) => [d.id, d]));
  const batchLimitOf = (destinationId: string) => {
    const destination = byId.get(destinationId);
    return (destination && deps.connectorFor(destination.type)?.batchLimit) || 1;
  };
  const typeOf = (destinationId: string) => byId.get(destinationId)?.type ?? "webhook";
  const counts = await deps.counts?.plan(wsId, routed, typeOf, options.initial);
  const lookups = options.initial && options.retentionMs !== undefined
    ? lookupEntries(routed.map((r) => r.event), options.retentionMs, deps.now())
    : [];
  const room = keysPerCommit(deps.limits) -
    routed.length * routeMutations(destinations.length, options.hooks?.length ?? 0);
  if (routed.length > 1 && (counts?.mutations ?? 0) + lookups.length > room) {
    // The counters and index entries do not fit beside the routes: record the halves one
    // after the other.
    const half = Math.ceil(routed.length / 2);
    const first = await recordRoutes(deps, wsId, routed.slice(0, half), destinations, options);
    const rest = await recordRoutes(deps, wsId, routed.slice(half), destinations, options);
    return { rows: [...first.rows, ...rest.rows], sends: [...first.sends, ...rest.sends] };
  }
  // A requeue keeps each row's attempt history: the rows it replaces are read first.
  const previous = options.initial ? new Map() : await previousRows(deps.kv, wsId, routed);
  const op = deps.kv.atomic();
  const rows = routed.flatMap((item) => addRoutes(deps, op, wsId, item, byId, options, previous));
  const sends = firstSends(wsId, routed, batchLimitOf, options.replay);
  if (!options.initial) sends.forEach((message) => deps.queue.enqueueIn(op, message));
  counts?.addTo(op);
  addLookups(op, lookups);
  const result = await op.commit();
  if (result.ok) {
    counts?.committed();
    return { rows, sends: options.initial ? sends : [] };
  }
  // Some events were handed off already (a redelivered message): hand off the rest.
  const handedOff = await readByIds<RoutedHandoff>(
    deps.kv,
    routed.map((item) => item.event.id),
    { prefix: handoffPrefix(wsId) },
  );
  const fresh = routed.filter((item) => !handedOff.has(item.event.id));
  if (fresh.length === routed.length) {
    // Nothing explains the refusal: fail so the queue delivers the message again.
    throw new Error(`Cannot record the fan-out of ${routed.length} events`);
  }
  const before = routed.flatMap(({ event }) => {
    const record = handedOff.get(event.id);
    return record ? [{ event, decisions: decisionsOf(record) }] : [];
  });
  const rest = fresh.length
    ? await recordRoutes(deps, wsId, fresh, destinations, options)
    : { rows: [], sends: [] };
  return { rows: rest.rows, sends: [...firstSends(wsId, before, batchLimitOf), ...rest.sends] };
}

/** The rows a requeue replaces, by `ulid/destinationId`. */
async function previousRows(
  kv: Deno.Kv,
  wsId: string,
  routed: readonly Routed[],
): Promise<Map<string, DeliveryRow>> {
  const keys = routed.flatMap(({ event, decisions }) =>
    [...decisions.keys()].map((destinationId) => deliveryKey(wsId, event.id, destinationId))
  );
  const found = new Map<string, DeliveryRow>();
  for (let i = 0; i < keys.length; i += 10) {
    for (const entry of await kv.getMany<DeliveryRow[]>(keys.slice(i, i + 10))) {
      if (entry.value) found.set(`${String(entry.key[2])}/${String(entry.key[3])}`, entry.value);
    }
  }
  return found;
}

/** Adds one event's routes to the commit: its hand-off record (fan-out) or its rows (requeue). */
function addRoutes(
  deps: FanOutDeps,
  op: Deno.AtomicOperation,
  wsId: string,
  { event, decisions }: Routed,
  byId: ReadonlyMap<string, Destination>,
  options: RecordOptions,
  previous: ReadonlyMap<string, DeliveryRow>,
): DeliveryRow[] {
  const now = new Date(deps.now()).toISOString();
  const routes: Record<string, Route> = {};
  const rows: DeliveryRow[] = [];
  for (const [destinationId, decision] of decisions) {
    const row: DeliveryRow = {
      platform_id: destinationId,
      type: byId.get(destinationId)?.type ?? "webhook",
      status: decision.send ? "pending" : "skipped",
      event_name: decision.send ? decision.event_name : event.event_name,
      attempts: 0,
      updated_at: now,
      ...(decision.send ? {} : { last_error: decision.reason }),
    };
    if (options.initial) {
      routes[destinationId] = {
        type: row.type,
        event_name: row.event_name,
        ...(decision.send ? {} : { skipped: decision.reason }),
      };
    } else {
      const before = previous.get(`${event.id}/${destinationId}`)?.history;
      if (before || options.note) {
        row.history = options.note
          ? withAttempt(before, { at: now, attempt: 0, status: row.status, note: options.note })
          : before;
      }
      op.set(deliveryKey(wsId, event.id, destinationId), row, { expireIn: DELIVERY_ROW_TTL_MS });
    }
    rows.push(row);
  }
  if (options.initial) {
    const handoff: RoutedHandoff = { at: deps.now(), routes };
    op.check({ key: handoffKey(wsId, event.id), versionstamp: null })
      .set(handoffKey(wsId, event.id), handoff, { expireIn: DELIVERY_ROW_TTL_MS });
    for (const type of eventNoticeTypes(event)) {
      const subscribers = (options.hooks ?? []).filter((hook) => subscribes(hook, type));
      deps.notices?.addTo(op, wsId, subscribers, { type, event: event.id });
    }
  }
  return rows;
}
