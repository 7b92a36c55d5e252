/**
 * The first event of each order id: fan-out records it (`["an_ord", ws, orderId]`), so an
 * order counts once in reconciliation and attribution even when browser and server send it
 * under different event ids, and the delivery side asks it which purchases are first copies.
 *
 * @module
 */
import type { SluiceEvent } from "../../core/event.ts";
import { orderKey } from "../kv/keys.ts";
import { TtlCache } from "../ttl_cache.ts";
import type { Origin } from "./labels.ts";

/** The first event seen with an order id. */
export interface OrderEntry {
  /** Storage id (ULID) of that event. */
  ulid: string;
  event_id: string;
  origin: Origin;
}

/** How long an order id is remembered, ms (as long as delivery rows). */
export const ORDER_TTL_MS = 30 * 86_400_000;

const GET_MANY_LIMIT = 10;

/** The order id of a purchase that has one; undefined for any other event. */
export function orderIdOf(event: Pick<SluiceEvent, "event_name" | "order_id">): string | undefined {
  return event.event_name === "purchase" ? event.order_id : undefined;
}

/**
 * Order entries in KV, with the first copies this process saw kept for ten minutes: the
 * deliveries that follow fan-out within seconds find them without a read.
 */
export class OrderBook {
  readonly #kv: Deno.Kv;
  readonly #firsts = new TtlCache<string>(600_000, 50_000);

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Remembers the first copy of an order (fan-out calls it once its commit holds the entry). */
  remember(wsId: string, orderId: string, ulid: string): void {
    this.#firsts.set(`${wsId}\u0000${orderId}`, ulid);
  }

  /** The entries of these order ids that exist. */
  async read(wsId: string, orderIds: readonly string[]): Promise<Map<string, OrderEntry>> {
    const found = new Map<string, OrderEntry>();
    const unique = [...new Set(orderIds)];
    for (let i = 0; i < unique.length; i += GET_MANY_LIMIT) {
      const chunk = unique.slice(i, i + GET_MANY_LIMIT);
      const entries = await this.#kv.getMany<OrderEntry[]>(chunk.map((id) => orderKey(wsId, id)));
      entries.forEach((entry, j) => {
        if (entry.value) found.set(chunk[j]!, entry.value);
      });
    }
    return found;
  }

  /** The storage ids of the events that are the first with their order id. */
  async firstCopies(wsId: string, events: readonly SluiceEvent[]): Promise<Set<string>> {
    const firsts = new Set<string>();
    const unknown: [string, SluiceEvent][] = [];
    for (const event of events) {
      const orderId = orderIdOf(event);
      if (orderId === undefined) continue;
      const known = this.#firsts.get(`${wsId}\u0000${orderId}`);
      if (known === undefined) unknown.push([orderId, event]);
      else if (known === event.id) firsts.add(event.id);
    }
    if (unknown.length === 0) return firsts;
    const entries = await this.read(wsId, unknown.map(([orderId]) => orderId));
    for (const [orderId, event] of unknown) {
      const entry = entries.get(orderId);
      if (!entry) continue;
      this.remember(wsId, orderId, entry.ulid);
      if (entry.ulid === event.id) firsts.add(event.id);
    }
    return firsts;
  }
}
