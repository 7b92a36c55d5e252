import { statPrefix, workspacesPrefix } from "../kv/keys.ts";
import { keysPerCommit, type KvLimits } from "../kv/limits.ts";
import { errorText, log } from "../log.ts";
import type { Workspace } from "../workspaces.ts";

/** How long counters are kept when a workspace sets no `counter_retention_days`. */
export const DEFAULT_COUNTER_RETENTION_DAYS = 400;

const DAY_MS = 86_400_000;

/**
 * A family of hourly counters whose keys are `[...prefix(wsId), hourMs, …]`. KV's `sum` cannot
 * carry an `expireIn`, so counters are deleted by range once older than the retention. The
 * event counters of the group commit (`["stat", wsId, hourMs, …]`) are the default family;
 * lib/analytics adds its own with {@link CounterRetention.addFamily}.
 */
export interface CounterFamily {
  /** The workspace's prefix before the hour. */
  prefix(wsId: string): Deno.KvKey;
}

/** The event counters written by the group commit. */
export const EVENT_COUNTERS: CounterFamily = { prefix: statPrefix };

/**
 * Deletes hourly counters past each workspace's `counter_retention_days` (default 400), which
 * outlives the events' `retention_days`: charts over a year stay whole after the events are gone.
 */
export class CounterRetention {
  readonly #kv: Deno.Kv;
  readonly #perCommit: number;
  readonly #families: CounterFamily[] = [EVENT_COUNTERS];

  constructor(kv: Deno.Kv, limits: KvLimits) {
    this.#kv = kv;
    this.#perCommit = keysPerCommit(limits);
  }

  /** Adds a family of counters kept as long as the setting says. */
  addFamily(family: CounterFamily): void {
    this.#families.push(family);
  }

  /** Sweeps every workspace; answers how many counters were deleted. */
  async sweepAll(now = Date.now()): Promise<number> {
    let deleted = 0;
    for await (const entry of this.#kv.list<Workspace>({ prefix: workspacesPrefix() })) {
      deleted += await this.sweep(entry.value, now);
    }
    return deleted;
  }

  /** Deletes one workspace's counters of hours that ended before its retention; answers how many. */
  async sweep(workspace: Workspace, now = Date.now()): Promise<number> {
    const days = workspace.settings.counter_retention_days ?? DEFAULT_COUNTER_RETENTION_DAYS;
    const cutoff = now - days * DAY_MS;
    let deleted = 0;
    for (const family of this.#families) {
      const prefix = family.prefix(workspace.id);
      for (;;) {
        const keys: Deno.KvKey[] = [];
        const old = this.#kv.list({ start: prefix, end: [...prefix, cutoff] }, {
          limit: this.#perCommit,
        });
        for await (const entry of old) keys.push(entry.key);
        if (keys.length === 0) break;
        const op = this.#kv.atomic();
        for (const key of keys) op.delete(key);
        await op.commit();
        deleted += keys.length;
      }
    }
    return deleted;
  }

  /** Sweeps every `intervalMs` until the returned function is called; failures are logged. */
  start(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.sweepAll().catch((error) => {
        log.warn("Counter retention sweep failed; it runs again later", {
          error: errorText(error),
        });
      });
    }, intervalMs);
    Deno.unrefTimer(timer);
    return () => clearInterval(timer);
  }
}
