/**
 * Analytics counters: what is counted, under which key, and the batch that sums them into
 * the commits that already run (the ingest group commit, fan-out, delivery rows).
 *
 * Every counter is a `Deno.KvU64` summed per workspace, bucket and dimension, written once per
 * grain: its UTC hour, its UTC day and its week (Monday 00:00 UTC on), so a read costs
 * O(buckets) (at most 46 edge hours, 12 edge days and the whole weeks between them), never
 * O(events). The ingest volume metrics keep hours and days only (their series are per day). Counters of states
 * (delivery rows) move: a row that leaves a state adds −1 there (wrapping `sum`, read back as
 * a signed 64-bit number) and +1 to its new state, so each event counts once however often
 * it is retried or replayed. docs/analytics.md lists every family with its dimensions.
 *
 * @module
 */
import { analyticsCounterKey, statDayKey, statKey } from "../kv/keys.ts";

/** One hour, ms. */
export const HOUR_MS = 3_600_000;
/** One day, ms. */
export const DAY_MS = 86_400_000;
/** One week, ms. */
export const WEEK_MS = 7 * DAY_MS;
/** Weeks start on Mondays: the first Monday after the epoch (a Thursday) is day 4. */
const WEEK_OFFSET_MS = 4 * DAY_MS;

/**
 * The ingest volume metrics, kept in the `["stat", ws, hour, metric, dim]` layout the ingest
 * commit always wrote, with a `["stat_d", …]` day rollup beside it.
 */
export const VOLUME_METRICS = [
  "events",
  "events_by_name",
  "events_by_source",
  "duplicates",
  "rejected",
  "bot_dropped",
] as const;

/** One ingest volume metric. */
export type VolumeMetric = typeof VOLUME_METRICS[number];

/** The analytics counter families (`["an", ws, family, grain, bucket, dim]`), by role. */
export const FAMILY = {
  /** `v|<currency>`: order value in minor units; `n|<currency>`: orders with a value (fan-out). */
  revenue: "rev",
  /** `event_id|<first origin>><second origin>`, `order_id|…`: browser/server copies. */
  pairs: "pair",
  /** `<field path>`: events rejected at ingest for that field. */
  rejectedFields: "rej",
  /** `<dest>|<event name>|<state>|<reason class>`: delivery rows by state (moves). */
  deliveries: "dlv",
  /** `<dest>|<state>[|<reason class>]` (moves) and `<dest>|retries` (attempts retried). */
  destinations: "dst",
  /** `received`, and `<dest>|<state>[|<reason class>]` for each order's first event (moves). */
  orders: "ord",
  /**
   * `b<i>`: accept→delivery latency histogram, `b<i>|<dest>` per destination; `sum|<dest>` ms
   * and `n|<dest>`.
   */
  latency: "lat",
  /** `<dest>|<identifier>`: sent events carrying the identifier, `<dest>|_sent` all (moves). */
  identifiers: "idf",
  /** The same for sent purchases. */
  purchaseIdentifiers: "idp",
  /** `<step mask>`: visitors whose funnel steps of the UTC day form the mask (moves; days only). */
  funnel: "fun",
  /** `<model>|<kind>|<label>|n` orders, `<model>|<kind>|<label>|v|<currency>` minor units. */
  attribution: "att",
  /** `<dest>|mismatch`: purchases sent again under a new event id for an order already seen. */
  dedup: "dd",
} as const;

/** One analytics counter family. */
export type Family = typeof FAMILY[keyof typeof FAMILY];

const VOLUME = new Set<string>(VOLUME_METRICS);
/** Families without hour buckets (their state is per UTC day). */
const NO_HOURS = new Set<string>([FAMILY.funnel]);

/** The start of the UTC hour holding `at`. */
export function hourOf(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
}

/** The start of the UTC day holding `at`. */
export function dayOf(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** The start of the week (Monday 00:00 UTC) holding `at`. */
export function weekOf(at: number): number {
  return Math.floor((at - WEEK_OFFSET_MS) / WEEK_MS) * WEEK_MS + WEEK_OFFSET_MS;
}

/** The grains a counter family is kept at. */
export function grainsOf(metric: string): readonly ("h" | "d" | "w")[] {
  if (VOLUME.has(metric)) return ["h", "d"];
  return NO_HOURS.has(metric) ? ["d", "w"] : ["h", "d", "w"];
}

interface Counter {
  wsId: string;
  hour: number;
  metric: string;
  dimension: string;
  by: number;
}

/**
 * Counter increments summed by (workspace, hour, metric, dimension) before they reach a
 * commit, so a commit of many events writes each counter once. `rollups: false` writes
 * the hour keys only (the ingest commit before analytics: the benchmark's baseline).
 */
export class CounterBatch {
  readonly #entries = new Map<string, Counter>();
  readonly #rollups: boolean;
  #keys = 0;
  #bytes = 0;

  constructor(options: { rollups?: boolean } = {}) {
    this.#rollups = options.rollups ?? true;
  }

  /** Counters held (each writes one key per grain). */
  get size(): number {
    return this.#entries.size;
  }

  /** Keys {@link addTo} writes for what is held. */
  get keyCount(): number {
    return this.#keys;
  }

  /** Bytes of the keys {@link addTo} writes, as KV counts them (about 100 per key). */
  get keyBytes(): number {
    return this.#bytes;
  }

  /** Adds `by` (negative: a state left) to a counter in the hour holding `at`. */
  add(wsId: string, at: number, metric: string, dimension: string, by = 1): void {
    const hour = hourOf(at);
    const key = `${wsId}\u0000${hour}\u0000${metric}\u0000${dimension}`;
    const counter = this.#entries.get(key);
    if (counter) {
      counter.by += by;
      return;
    }
    this.#entries.set(key, { wsId, hour, metric, dimension, by });
    const keys = this.#keysPer(metric);
    this.#keys += keys;
    // Each string part of a key costs its length plus 2, a number 9 (prefix and grain: 7).
    this.#bytes += keys * (7 + wsId.length + 2 + metric.length + 2 + 9 + dimension.length + 2);
  }

  /** Adds another batch's counters to this one. */
  merge(other: CounterBatch): void {
    for (const c of other.#entries.values()) this.add(c.wsId, c.hour, c.metric, c.dimension, c.by);
  }

  /**
   * Adds the sums to a commit, at most `maxKeys` keys; answers the counters that did not fit
   * (for the next commit). Counters that net to zero write nothing.
   */
  addTo(op: Deno.AtomicOperation, maxKeys = Infinity): CounterBatch {
    const rest = new CounterBatch({ rollups: this.#rollups });
    let keys = 0;
    for (const c of this.#entries.values()) {
      if (c.by === 0) continue;
      const cost = this.#keysPer(c.metric);
      if (keys + cost > maxKeys) {
        rest.add(c.wsId, c.hour, c.metric, c.dimension, c.by);
        continue;
      }
      keys += cost;
      const by = BigInt.asUintN(64, BigInt(c.by));
      for (const key of this.#keysOf(c)) op.sum(key, by);
    }
    return rest;
  }

  #keysPer(metric: string): number {
    return this.#rollups ? grainsOf(metric).length : 1;
  }

  #keysOf(c: Counter): Deno.KvKey[] {
    if (VOLUME.has(c.metric)) {
      const hourKey = statKey(c.wsId, c.hour, c.metric, c.dimension);
      if (!this.#rollups) return [hourKey];
      return [hourKey, statDayKey(c.wsId, dayOf(c.hour), c.metric, c.dimension)];
    }
    const start = { h: c.hour, d: dayOf(c.hour), w: weekOf(c.hour) };
    const grains = this.#rollups ? grainsOf(c.metric) : ["h" as const];
    return grains.map((grain) =>
      analyticsCounterKey(c.wsId, c.metric, grain, start[grain], c.dimension)
    );
  }
}

/** A counter value read back: signed, so a state counter briefly below zero reads negative. */
export function counterValue(value: Deno.KvU64): number {
  return Number(BigInt.asIntN(64, value.value));
}
