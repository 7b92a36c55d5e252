/**
 * The counters' upkeep, one pass per workspace: fold the volume hours of finished UTC days
 * (volume_fold.ts), then delete what is past its life. KV's `sum` cannot carry `expireIn`, so
 * counters never expire by themselves: hour counters go after 35 days; folded days, day and
 * week counters after the workspace's `counter_retention_days` (default 400, longer than the
 * events' `retention_days`, so charts over a year stay whole after the events are gone). The
 * runtime runs a pass over every workspace a minute after it starts and then hourly.
 *
 * @module
 */
import {
  analyticsCounterPrefix,
  statDayPrefix,
  statFoldPrefix,
  statPrefix,
  workspacesPrefix,
} from "../kv/keys.ts";
import { keysPerCommit, type KvLimits } from "../kv/limits.ts";
import { errorText, log } from "../log.ts";
import type { Workspace } from "../workspaces.ts";
import { DAY_MS, FAMILY, WEEK_MS } from "./counters.ts";
import { HOUR_COUNTER_DAYS } from "./range.ts";
import { foldVolume } from "./volume_fold.ts";

/** Days daily counters are kept when the workspace does not say. */
export const DEFAULT_COUNTER_RETENTION_DAYS = 400;

/** The first pass after start, ms. */
const FIRST_PASS_MS = 60_000;

/** A workspace's counter retention, days. */
export function counterRetentionDays(settings: { counter_retention_days?: number }): number {
  return settings.counter_retention_days ?? DEFAULT_COUNTER_RETENTION_DAYS;
}

/** Folds and sweeps every workspace's counters. */
export class CounterRetention {
  readonly #kv: Deno.Kv;
  readonly #perCommit: number;

  constructor(kv: Deno.Kv, limits: KvLimits) {
    this.#kv = kv;
    this.#perCommit = keysPerCommit(limits);
  }

  /** One pass over every workspace; answers how many counters were deleted. */
  async sweepAll(now = Date.now()): Promise<number> {
    let deleted = 0;
    for await (const entry of this.#kv.list<Workspace>({ prefix: workspacesPrefix() })) {
      deleted += await this.sweep(entry.value, now);
    }
    return deleted;
  }

  /** Folds the workspace's finished days, then deletes its expired counters; answers how many. */
  async sweep(workspace: Workspace, now = Date.now()): Promise<number> {
    const wsId = workspace.id;
    await foldVolume(this.#kv, wsId, now);
    const hourCutoff = now - HOUR_COUNTER_DAYS * DAY_MS;
    const dayCutoff = now - counterRetentionDays(workspace.settings) * DAY_MS;
    const ranges: [Deno.KvKey, number][] = [
      [statPrefix(wsId), hourCutoff],
      [statFoldPrefix(wsId), dayCutoff],
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

  /** Runs a pass soon, then every `intervalMs`, until the returned function is called. */
  start(intervalMs: number): () => void {
    const pass = () =>
      this.sweepAll().catch((error) => {
        log.warn("Counter upkeep failed; it runs again later", { error: errorText(error) });
      });
    const first = setTimeout(pass, Math.min(FIRST_PASS_MS, intervalMs));
    const timer = setInterval(pass, intervalMs);
    Deno.unrefTimer(first);
    Deno.unrefTimer(timer);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }

  async #deleteBefore(prefix: Deno.KvKey, cutoff: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const keys: Deno.KvKey[] = [];
      const old = this.#kv.list({ start: [...prefix, 0], end: [...prefix, cutoff] }, {
        limit: this.#perCommit,
      });
      for await (const { key } of old) keys.push(key);
      if (keys.length === 0) return deleted;
      const op = this.#kv.atomic();
      for (const key of keys) op.delete(key);
      await op.commit();
      deleted += keys.length;
    }
  }
}
