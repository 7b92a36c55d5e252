/**
 * How old counters are removed. KV's `sum` cannot carry `expireIn`, so counters never expire
 * by themselves: a sweep deletes a workspace's hour counters older than 35 days and its day
 * and week counters older than its `counter_retention_days` (default 400). It runs in the background,
 * at most once per UTC day per workspace and process, started by the workspace's ingest; a
 * workspace that stops sending keeps its last counters until it sends again.
 *
 * @module
 */
import { errorText, log } from "../log.ts";
import { analyticsCounterPrefix, statDayPrefix, statPrefix } from "../kv/keys.ts";
import { DAY_MS, FAMILY, WEEK_MS } from "./counters.ts";
import { HOUR_COUNTER_DAYS } from "./range.ts";

/** Days daily counters are kept when the workspace does not say. */
export const DEFAULT_COUNTER_RETENTION_DAYS = 400;

/** Deletes per commit. */
const DELETES_PER_COMMIT = 500;

/** A workspace's counter retention, days. */
export function counterRetentionDays(settings: { counter_retention_days?: number }): number {
  return settings.counter_retention_days ?? DEFAULT_COUNTER_RETENTION_DAYS;
}

/** Sweeps old counters, once a day per workspace. */
export class CounterSweeper {
  readonly #kv: Deno.Kv;
  readonly #swept = new Map<string, number>();
  readonly #running = new Set<Promise<unknown>>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Starts a sweep of the workspace in the background unless one ran this UTC day. */
  touch(wsId: string, retentionDays: number, now = Date.now()): void {
    const today = Math.floor(now / DAY_MS);
    if (this.#swept.get(wsId) === today) return;
    this.#swept.set(wsId, today);
    const running = this.sweep(wsId, retentionDays, now).catch((error) => {
      this.#swept.delete(wsId);
      log.error("Counter sweep failed", { workspace_id: wsId, error: errorText(error) });
    }).finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Resolves once the sweeps started so far have finished (before KV closes). */
  async idle(): Promise<void> {
    await Promise.all(this.#running);
  }

  /** Deletes the workspace's expired counters now; answers how many keys it deleted. */
  async sweep(wsId: string, retentionDays: number, now = Date.now()): Promise<number> {
    const hourCutoff = now - HOUR_COUNTER_DAYS * DAY_MS;
    const dayCutoff = now - retentionDays * DAY_MS;
    const ranges: [Deno.KvKey, number][] = [
      [statPrefix(wsId), hourCutoff],
      [statDayPrefix(wsId), dayCutoff],
    ];
    for (const family of Object.values(FAMILY)) {
      ranges.push([analyticsCounterPrefix(wsId, family, "h"), hourCutoff]);
      ranges.push([analyticsCounterPrefix(wsId, family, "d"), dayCutoff]);
      // A week goes once it has ended before the cutoff.
      ranges.push([analyticsCounterPrefix(wsId, family, "w"), dayCutoff - WEEK_MS]);
    }
    let deleted = 0;
    for (const [prefix, cutoff] of ranges) deleted += await this.#deleteBefore(prefix, cutoff);
    return deleted;
  }

  async #deleteBefore(prefix: Deno.KvKey, cutoff: number): Promise<number> {
    let deleted = 0;
    let keys: Deno.KvKey[] = [];
    const flush = async () => {
      const op = this.#kv.atomic();
      for (const key of keys) op.delete(key);
      await op.commit();
      deleted += keys.length;
      keys = [];
    };
    const old = this.#kv.list({ start: [...prefix, 0], end: [...prefix, cutoff] }, {
      batchSize: 1000,
    });
    for await (const { key } of old) {
      keys.push(key);
      if (keys.length >= DELETES_PER_COMMIT) await flush();
    }
    if (keys.length) await flush();
    return deleted;
  }
}
