/**
 * What fan-out adds to its commit: each route's row state, and what needs the visitor's
 * history or the order's first copy (funnel steps, first and last touch, revenue by touch,
 * order ids seen twice). Fan-out already opens the events and commits once per slice with a
 * hand-off check that makes a redelivered message a no-op, so this is counted exactly once
 * and off the ingest path; it costs one `getMany` per 10 visitors or order ids of a slice.
 * Revenue is counted here too, once per order id (purchases without one count each).
 *
 * @module
 */
import { decodeTime } from "ulid";
import type { SluiceEvent } from "../../core/event.ts";
import type { Routed } from "../delivery/first_sends.ts";
import type { RouteDecision } from "../delivery/rules.ts";
import { deliveriesOf } from "../delivery/rows.ts";
import { labelSetKey, orderKey, visitorKey } from "../kv/keys.ts";
import { TtlCache } from "../ttl_cache.ts";
import { DAY_MS, dayOf, FAMILY } from "./counters.ts";
import { clickCookiePlatformOf, originOf, stepBit, utmLabel } from "./labels.ts";
import { toMinorUnits } from "./money.ts";
import { ORDER_TTL_MS, type OrderBook, type OrderEntry, orderIdOf } from "./orders.ts";
import { countRowChange, type RowState } from "./transitions.ts";
import {
  type Touch,
  touchOf,
  VISITOR_TTL_MS,
  visitorHash,
  visitorIdOf,
  type VisitorRecord,
} from "./visitors.ts";
import { AnalyticsWrites } from "./writes.ts";

/** Most UTM source labels a workspace keeps; later sources count as `other`. */
export const MAX_UTM_LABELS = 50;
/** The label of a touch without a click platform or UTM source. */
export const NO_TOUCH = "none";

const GET_MANY_LIMIT = 10;
/** How long a visitor record read or written stays in memory, ms. */
const VISITOR_CACHE_MS = 10 * 60_000;

/**
 * Whether `touch` repeats the visitor's last one (same platform and source) within a day: the
 * pixel sends the landing campaign with every event of a visit, and rewriting the record for
 * each would cost a write per event. A day later it is written again, keeping it alive.
 */
function isRecentTouch(last: Touch | undefined, touch: Touch): boolean {
  return last !== undefined && last.platform === touch.platform && last.utm === touch.utm &&
    touch.at - last.at < DAY_MS;
}

/** The row a route stands for: pending, or skipped with its reason (as fan_out.ts writes it). */
function routeState(event: SluiceEvent, decision: RouteDecision): RowState {
  return decision.send
    ? { status: "pending", event_name: decision.event_name }
    : { status: "skipped", event_name: event.event_name, last_error: decision.reason };
}

/** A workspace's UTM source labels: the first {@link MAX_UTM_LABELS} seen, then `other`. */
class UtmLabels {
  readonly labels: string[];
  changed = false;

  constructor(labels: readonly string[]) {
    this.labels = [...labels];
  }

  resolve(source: string | undefined): string | undefined {
    const label = utmLabel(source);
    if (label === undefined || this.labels.includes(label)) return label;
    if (this.labels.length >= MAX_UTM_LABELS) return "other";
    this.labels.push(label);
    this.changed = true;
    return label;
  }
}

/** Plans fan-out's analytics writes; one instance per engine. */
export class FanOutCounts {
  readonly #kv: Deno.Kv;
  readonly #orders: OrderBook;
  /**
   * Visitor records this process read (null: none) or wrote in the last minutes: a visitor's
   * next events mostly come within a session. Exact while one process fans out a workspace
   * (its fan-out commits take turns); several processes may read a record another changed.
   */
  readonly #visitors = new TtlCache<VisitorRecord | null>(VISITOR_CACHE_MS, 50_000);

  constructor(kv: Deno.Kv, orders: OrderBook) {
    this.#kv = kv;
    this.#orders = orders;
  }

  /**
   * The writes of routing these events: for fan-out (`initial`), routes from no row plus
   * visitor, order and touch counting; for a replay, forward or retry, each row's move from
   * what it was to its new route. `typeOf` gives a destination's platform type.
   */
  async plan(
    wsId: string,
    routed: readonly Routed[],
    typeOf: (destinationId: string) => string,
    initial: boolean,
  ): Promise<AnalyticsWrites> {
    return initial
      ? await this.#planFanOut(wsId, routed, typeOf)
      : await this.#planRequeue(wsId, routed, typeOf);
  }

  async #planRequeue(
    wsId: string,
    routed: readonly Routed[],
    typeOf: (destinationId: string) => string,
  ): Promise<AnalyticsWrites> {
    const writes = new AnalyticsWrites();
    const firsts = await this.#orders.firstCopies(wsId, routed.map((r) => r.event));
    for (const { event, decisions } of routed) {
      const rows = new Map(
        (await deliveriesOf(this.#kv, wsId, event.id)).map((row) => [row.platform_id, row]),
      );
      for (const [destinationId, decision] of decisions) {
        countRowChange(writes, wsId, {
          ulid: event.id,
          destinationId,
          type: typeOf(destinationId),
          before: rows.get(destinationId),
          after: routeState(event, decision),
          event,
          firstOfOrder: firsts.has(event.id),
        });
      }
    }
    return writes;
  }

  async #planFanOut(
    wsId: string,
    routed: readonly Routed[],
    typeOf: (destinationId: string) => string,
  ): Promise<AnalyticsWrites> {
    const writes = new AnalyticsWrites();
    const hashes = new Map<string, string>();
    for (const { event } of routed) {
      const visitorId = visitorIdOf(event);
      if (visitorId !== undefined) hashes.set(event.id, visitorHash(wsId, visitorId));
    }
    const orderIds = routed.flatMap(({ event }) => orderIdOf(event) ?? []);
    const [visitors, orders, labels] = await Promise.all([
      this.#readVisitors(wsId, [...new Set(hashes.values())]),
      this.#orders.read(wsId, orderIds),
      this.#kv.get<string[]>(labelSetKey(wsId, "utm_source")),
    ]);
    const utm = new UtmLabels(labels.value ?? []);
    for (const { event, decisions } of routed) {
      const at = decodeTime(event.id);
      const hash = hashes.get(event.id);
      const before = hash === undefined ? undefined : visitors.get(hash);
      const touch = touchOf(event, utm.resolve(event.utm?.source), at);
      let record = hash === undefined ? undefined : this.#countStep(writes, wsId, event, before);
      const firstOfOrder = this.#countOrder(writes, wsId, event, orders, decisions, () => {
        this.#countRevenue(writes, wsId, event, before?.first ?? touch, touch ?? before?.last);
      });
      if (hash !== undefined && touch && !isRecentTouch(before?.last, touch)) {
        record = { ...(record ?? { day: dayOf(at), steps: 0 }), last: touch };
        record.first ??= before?.first ?? touch;
      }
      if (hash !== undefined && record && record !== before) {
        visitors.set(hash, record);
        writes.set(visitorKey(wsId, hash), record, VISITOR_TTL_MS);
        const written = record;
        writes.onCommitted(() => this.#visitors.set(`${wsId}\u0000${hash}`, written));
      }
      for (const [destinationId, decision] of decisions) {
        countRowChange(writes, wsId, {
          ulid: event.id,
          destinationId,
          type: typeOf(destinationId),
          after: routeState(event, decision),
          event,
          firstOfOrder,
        });
      }
    }
    if (utm.changed) writes.set(labelSetKey(wsId, "utm_source"), utm.labels);
    return writes;
  }

  /**
   * Counts a funnel step the visitor had not taken yet that UTC day: its day mask moves
   * from the old steps to the new. Answers the visitor's record after the event.
   */
  #countStep(
    writes: AnalyticsWrites,
    wsId: string,
    event: SluiceEvent,
    before: VisitorRecord | undefined,
  ): VisitorRecord | undefined {
    const bit = stepBit(event.event_name);
    if (bit === 0) return before;
    const day = dayOf(decodeTime(event.id));
    const steps = before?.day === day ? before.steps : 0;
    if ((steps & bit) !== 0) return before;
    if (steps !== 0) writes.counters.add(wsId, day, FAMILY.funnel, String(steps), -1);
    writes.counters.add(wsId, day, FAMILY.funnel, String(steps | bit), 1);
    return { ...before, day, steps: steps | bit };
  }

  /**
   * A purchase's order: the first event with its order id is recorded and counted received;
   * a later one under another event id is a mismatched pair (browser and server sent the same
   * order with different ids), counted for each destination it goes to. `count` counts the
   * order's revenue, once. Answers whether the event is the order's first copy.
   */
  #countOrder(
    writes: AnalyticsWrites,
    wsId: string,
    event: SluiceEvent,
    orders: Map<string, OrderEntry>,
    decisions: ReadonlyMap<string, RouteDecision>,
    count: () => void,
  ): boolean {
    if (event.event_name !== "purchase") return false;
    const orderId = orderIdOf(event);
    if (orderId === undefined) {
      count();
      return false;
    }
    const at = decodeTime(event.id);
    const entry = orders.get(orderId);
    if (entry === undefined) {
      const first: OrderEntry = {
        ulid: event.id,
        event_id: event.event_id,
        origin: originOf(event),
      };
      orders.set(orderId, first);
      writes.set(orderKey(wsId, orderId), first, ORDER_TTL_MS);
      writes.onCommitted(() => this.#orders.remember(wsId, orderId, event.id));
      writes.counters.add(wsId, at, FAMILY.orders, "received", 1);
      count();
      return true;
    }
    if (entry.ulid === event.id) return true;
    if (entry.event_id !== event.event_id) {
      writes.counters.add(wsId, at, FAMILY.pairs, `order_id|${entry.origin}>${originOf(event)}`, 1);
      for (const [destinationId, decision] of decisions) {
        if (decision.send) {
          writes.counters.add(wsId, at, FAMILY.dedup, `${destinationId}|mismatch`, 1);
        }
      }
    }
    return false;
  }

  /**
   * Counts an order's revenue per currency, and under its first and last touch by click
   * platform and UTM source.
   */
  #countRevenue(
    writes: AnalyticsWrites,
    wsId: string,
    event: SluiceEvent,
    first: Touch | undefined,
    last: Touch | undefined,
  ): void {
    const at = decodeTime(event.id);
    const cookie = clickCookiePlatformOf(event);
    const minor = event.currency && event.value !== undefined
      ? toMinorUnits(event.value, event.currency)
      : 0;
    if (minor > 0) {
      writes.counters.add(wsId, at, FAMILY.revenue, `v|${event.currency}`, minor);
      writes.counters.add(wsId, at, FAMILY.revenue, `n|${event.currency}`, 1);
    }
    for (const [model, touch] of [["first", first], ["last", last]] as const) {
      const labels = [
        ["click", touch?.platform ?? cookie ?? NO_TOUCH],
        ["utm", touch?.utm ?? NO_TOUCH],
      ] as const;
      for (const [kind, label] of labels) {
        const dim = `${model}|${kind}|${label}`;
        writes.counters.add(wsId, at, FAMILY.attribution, `${dim}|n`, 1);
        if (minor > 0) {
          writes.counters.add(wsId, at, FAMILY.attribution, `${dim}|v|${event.currency}`, minor);
        }
      }
    }
  }

  /** The visitors' records: those this process read or wrote lately, the rest from KV. */
  async #readVisitors(
    wsId: string,
    hashes: readonly string[],
  ): Promise<Map<string, VisitorRecord>> {
    const found = new Map<string, VisitorRecord>();
    const unknown: string[] = [];
    for (const hash of hashes) {
      const known = this.#visitors.get(`${wsId}\u0000${hash}`);
      if (known === undefined) unknown.push(hash);
      else if (known !== null) found.set(hash, known);
    }
    const chunks: string[][] = [];
    for (let i = 0; i < unknown.length; i += GET_MANY_LIMIT) {
      chunks.push(unknown.slice(i, i + GET_MANY_LIMIT));
    }
    await Promise.all(chunks.map(async (chunk) => {
      const entries = await this.#kv.getMany<VisitorRecord[]>(
        chunk.map((hash) => visitorKey(wsId, hash)),
      );
      entries.forEach((entry, j) => {
        const hash = chunk[j]!;
        this.#visitors.set(`${wsId}\u0000${hash}`, entry.value);
        if (entry.value) found.set(hash, entry.value);
      });
    }));
    return found;
  }
}
