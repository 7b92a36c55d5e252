/**
 * Queue messages re-derived from stored state, for a backup of a kv-queue instance: Deno KV
 * queue messages cannot be listed, so a backup cannot hold them; what they would have done
 * is read back from the records they act on.
 *
 * | record                                        | message re-derived                               |
 * | --------------------------------------------- | ------------------------------------------------ |
 * | event without a hand-off record (younger than the hand-off's 30 days) | `ingested`: fan-out           |
 * | hand-off route, not skipped, with no row yet  | `deliver`, attempt 1, with the route's name      |
 * | delivery row `pending` or `retrying`          | `deliver`, the next attempt, due at `next_attempt_at` |
 * | webhook delivery `pending` or `retrying`      | `webhook`, the next attempt of its round         |
 *
 * Not re-derived: follow-up checks of `accepted` rows (the platform's request token is
 * not stored; the rows stay `accepted`) and the kv-queue's own retries of a handler that
 * threw (the records above cover what they would redo). Every re-derived message is a no-op
 * when its work was done after all: fan-out checks the hand-off record, a delivery its
 * row's attempt count, a webhook delivery its round and attempts.
 *
 * @module
 */
import { decodeTime } from "ulid";
import type { Connector } from "../../connectors/types.ts";
import type { Destination } from "../delivery/destinations.ts";
import { DELIVERY_ROW_TTL_MS, type DeliveryRow, type RoutedHandoff } from "../delivery/rows.ts";
import {
  deliveryPrefix,
  destinationPrefix,
  eventPrefix,
  handoffPrefix,
  webhookDeliveryPrefix,
  webhookPrefix,
} from "../kv/keys.ts";
import type { KvLimits } from "../kv/limits.ts";
import type { DeliverMessage, QueueMessage, QueuePort } from "../queue/mod.ts";
import { inFlight, type WebhookDelivery } from "../webhooks/deliveries.ts";

/** What re-deriving needs. */
export interface RequeueOptions {
  queue: QueuePort;
  limits: KvLimits;
  connectorFor: (type: string) => Connector | undefined;
  now?: () => number;
}

/** Messages re-derived, by kind. */
export interface RequeueSummary {
  /** Events queued for fan-out. */
  events: number;
  /** Delivery messages queued (each for one destination and up to its batch limit of events). */
  deliveries: number;
  /** Webhook delivery messages queued. */
  webhooks: number;
}

/** Events queued for fan-out per message. */
const FAN_OUT_IDS = 100;
/** Messages per commit. */
const MESSAGES_PER_COMMIT = 100;
/**
 * An event this much younger than the hand-off's lifetime and without a hand-off record
 * never reached fan-out; an older one may have had its record expire.
 */
const HANDOFF_MARGIN_MS = 86_400_000;

/** Re-derives and queues the messages a kv-queue held for the workspaces `wsIds`. */
export async function requeueFromState(
  kv: Deno.Kv,
  wsIds: Iterable<string>,
  options: RequeueOptions,
): Promise<RequeueSummary> {
  const summary: RequeueSummary = { events: 0, deliveries: 0, webhooks: 0 };
  const outbox = new MessageBatch(kv, options);
  for (const wsId of wsIds) {
    await requeueDeliveries(kv, wsId, outbox, summary, options);
    for await (const hook of kv.list({ prefix: webhookPrefix(wsId) })) {
      await requeueWebhook(kv, wsId, String(hook.key[2]), outbox, summary, options);
    }
  }
  await outbox.flush();
  return summary;
}

/** Walks a workspace's events, hand-offs and rows together, in event order. */
async function requeueDeliveries(
  kv: Deno.Kv,
  wsId: string,
  outbox: MessageBatch,
  summary: RequeueSummary,
  options: RequeueOptions,
): Promise<void> {
  const now = (options.now ?? Date.now)();
  const batchLimits = new Map<string, number>();
  for await (const entry of kv.list<Destination>({ prefix: destinationPrefix(wsId) })) {
    const limit = options.connectorFor(entry.value.type)?.batchLimit ?? 1;
    batchLimits.set(entry.value.id, Math.max(1, limit));
  }
  const sends = new DeliverGroups(wsId, (id) => batchLimits.get(id) ?? 1, outbox, summary);
  const events = new SortedCursor(kv.list<Uint8Array>({ prefix: eventPrefix(wsId) }));
  const handoffs = new SortedCursor(kv.list<RoutedHandoff>({ prefix: handoffPrefix(wsId) }));
  const rows = new SortedCursor(kv.list<DeliveryRow>({ prefix: deliveryPrefix(wsId) }));
  let fanOut: string[] = [];
  for (;;) {
    const ulid = minUlid(await events.peek(), await handoffs.peek(), await rows.peek());
    if (ulid === undefined) break;
    const event = await events.takeIf(ulid);
    const handoff = await handoffs.takeIf(ulid);
    const answered = new Map<string, DeliveryRow>();
    for (let row = await rows.takeIf(ulid); row; row = await rows.takeIf(ulid)) {
      answered.set(String(row.key[3]), row.value);
    }
    if (event && !handoff) {
      const age = now - ulidTime(ulid, now);
      if (age < DELIVERY_ROW_TTL_MS - HANDOFF_MARGIN_MS) fanOut.push(ulid);
      if (fanOut.length >= FAN_OUT_IDS) {
        await outbox.add({ type: "ingested", workspace_id: wsId, ids: fanOut });
        summary.events += fanOut.length;
        fanOut = [];
      }
    }
    if (!event) continue;
    for (const [destinationId, route] of Object.entries(handoff?.value.routes ?? {})) {
      if (route.skipped !== undefined || answered.has(destinationId)) continue;
      await sends.add(destinationId, 1, ulid, { name: route.event_name });
    }
    for (const [destinationId, row] of answered) {
      if (row.status !== "pending" && row.status !== "retrying") continue;
      await sends.add(destinationId, row.attempts + 1, ulid, {
        delayMs: Math.max(0, (row.next_attempt_at ?? now) - now),
      });
    }
  }
  if (fanOut.length) {
    await outbox.add({ type: "ingested", workspace_id: wsId, ids: fanOut });
    summary.events += fanOut.length;
  }
  await sends.flush();
}

async function requeueWebhook(
  kv: Deno.Kv,
  wsId: string,
  hookId: string,
  outbox: MessageBatch,
  summary: RequeueSummary,
  options: RequeueOptions,
): Promise<void> {
  const now = (options.now ?? Date.now)();
  const listing = kv.list<WebhookDelivery>({ prefix: webhookDeliveryPrefix(wsId, hookId) });
  for await (const { value: delivery } of listing) {
    if (!inFlight(delivery)) continue;
    await outbox.add({
      type: "webhook",
      workspace_id: wsId,
      webhook_id: hookId,
      delivery_id: delivery.id,
      round: delivery.round,
      attempt: delivery.attempts + 1,
    }, Math.max(0, (delivery.next_attempt_at ?? now) - now));
    summary.webhooks++;
  }
}

/** Deliver messages gathered per destination and attempt, sent at the batch limit. */
class DeliverGroups {
  readonly #groups = new Map<string, DeliverMessage & { delayMs: number }>();

  constructor(
    readonly wsId: string,
    readonly batchLimitOf: (destinationId: string) => number,
    readonly outbox: MessageBatch,
    readonly summary: RequeueSummary,
  ) {}

  async add(
    destinationId: string,
    attempt: number,
    ulid: string,
    options: { name?: string; delayMs?: number },
  ): Promise<void> {
    const id = `${destinationId}\u0000${attempt}`;
    const group = this.#groups.get(id) ?? {
      type: "deliver" as const,
      workspace_id: this.wsId,
      destination_id: destinationId,
      ids: [],
      attempt,
      delayMs: options.delayMs ?? 0,
    };
    group.ids.push(ulid);
    // The earliest due time of the group: after a restore, sooner rather than later.
    group.delayMs = Math.min(group.delayMs, options.delayMs ?? 0);
    if (options.name !== undefined) group.names = { ...group.names, [ulid]: options.name };
    this.#groups.set(id, group);
    if (group.ids.length >= this.batchLimitOf(destinationId)) {
      this.#groups.delete(id);
      await this.#send(group);
    }
  }

  async flush(): Promise<void> {
    for (const group of this.#groups.values()) await this.#send(group);
    this.#groups.clear();
  }

  async #send({ delayMs, ...message }: DeliverMessage & { delayMs: number }): Promise<void> {
    await this.outbox.add(message, delayMs);
    this.summary.deliveries++;
  }
}

/** Messages queued in commits of {@link MESSAGES_PER_COMMIT}. */
class MessageBatch {
  #pending: { message: QueueMessage; delayMs: number }[] = [];

  constructor(readonly kv: Deno.Kv, readonly options: RequeueOptions) {}

  async add(message: QueueMessage, delayMs = 0): Promise<void> {
    this.#pending.push({ message, delayMs });
    const size = Math.min(MESSAGES_PER_COMMIT, this.options.limits.mutations);
    if (this.#pending.length >= size) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const op = this.kv.atomic();
    for (const { message, delayMs } of this.#pending) {
      this.options.queue.enqueueIn(op, message, { delayMs });
    }
    const result = await op.commit();
    if (!result.ok) throw new Error(`Cannot queue ${this.#pending.length} re-derived messages`);
    this.#pending = [];
  }
}

/** A KV listing read one entry ahead, whose keys hold a ULID at index 2. */
class SortedCursor<T> {
  readonly #listing: Deno.KvListIterator<T>;
  #next: Deno.KvEntry<T> | null | undefined;

  constructor(listing: Deno.KvListIterator<T>) {
    this.#listing = listing;
  }

  /** The ULID of the next entry, or undefined at the end. */
  async peek(): Promise<string | undefined> {
    if (this.#next === undefined) {
      const step = await this.#listing.next();
      this.#next = step.done ? null : step.value;
    }
    return this.#next === null ? undefined : String(this.#next.key[2]);
  }

  /** The next entry when its ULID is `ulid`. */
  async takeIf(ulid: string): Promise<Deno.KvEntry<T> | undefined> {
    if ((await this.peek()) !== ulid) return undefined;
    const entry = this.#next!;
    this.#next = undefined;
    return entry;
  }
}

/** The time a ULID was made, or `fallback` when it is not a ULID. */
function ulidTime(ulid: string, fallback: number): number {
  try {
    return decodeTime(ulid);
  } catch {
    return fallback;
  }
}

function minUlid(...ulids: (string | undefined)[]): string | undefined {
  return ulids.filter((u) => u !== undefined).sort()[0];
}
