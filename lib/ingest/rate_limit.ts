import { DEFAULT_KV_LIMITS, keysPerCommit, type KvLimits } from "../kv/limits.ts";
import { rateLimitKey } from "../kv/keys.ts";
import { errorText, log } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";

/** The answer to one request for budget. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

interface WindowState {
  scope: string;
  windowStart: number;
  windowMs: number;
  /** The total in KV at the last sync, this process's synced share included. */
  global: number;
  /** Taken here since the last sync. */
  unsynced: number;
}

const SYNC_INTERVAL_MS = 250;

/**
 * Fixed-window rate limits counted in KV (`sum` on KvU64) without a KV round trip per
 * request: each process counts locally and, every 250 ms, adds its share to KV and reads
 * the global total back. Across processes a limit may be overshot by one sync interval.
 */
export class RateLimiter {
  readonly #kv: Deno.Kv;
  /** Counters one sync commit writes. */
  readonly #perCommit: number;
  readonly #windows = new Map<string, WindowState>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #metrics?: Metrics;

  /** Counts in `kv`, syncing within `limits`; refusals are counted in `options.metrics`. */
  constructor(
    kv: Deno.Kv,
    limits: KvLimits = DEFAULT_KV_LIMITS,
    options: { metrics?: Metrics } = {},
  ) {
    this.#kv = kv;
    this.#perCommit = keysPerCommit(limits);
    this.#metrics = options.metrics;
  }

  /** Takes `cost` from the scope's budget of `limit` per window of `windowMs`. */
  take(
    scope: string,
    cost: number,
    limit: number,
    windowMs = 60_000,
    now = Date.now(),
  ): RateDecision {
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const id = `${scope}\u0000${windowStart}`;
    let state = this.#windows.get(id);
    if (!state) {
      state = { scope, windowStart, windowMs, global: 0, unsynced: 0 };
      this.#windows.set(id, state);
    }
    if (state.global + state.unsynced + cost > limit) {
      this.#metrics?.rateLimited.inc({ scope: scopeKind(scope) });
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)),
      };
    }
    state.unsynced += cost;
    this.#armSync();
    return { ok: true };
  }

  /** Writes the local counts to KV now. */
  async sync(): Promise<void> {
    const now = Date.now();
    const dirty: [WindowState, number][] = [];
    // A window long over is deleted from KV: `sum` cannot carry an expireIn.
    const stale: WindowState[] = [];
    for (const [id, state] of this.#windows) {
      if (state.windowStart + 2 * state.windowMs < now) {
        this.#windows.delete(id);
        stale.push(state);
      } else if (state.unsynced > 0) dirty.push([state, state.unsynced]);
    }
    for (let i = 0; i < dirty.length; i += this.#perCommit) {
      const chunk = dirty.slice(i, i + this.#perCommit);
      const op = this.#kv.atomic();
      for (const [state, delta] of chunk) {
        op.sum(rateLimitKey(state.scope, state.windowStart), BigInt(delta));
      }
      await op.commit();
      for (const [state, delta] of chunk) state.unsynced -= delta;
      for (let j = 0; j < chunk.length; j += 10) {
        const part = chunk.slice(j, j + 10);
        const totals = await this.#kv.getMany<Deno.KvU64[]>(
          part.map(([s]) => rateLimitKey(s.scope, s.windowStart)),
        );
        part.forEach(([state], k) => {
          state.global = Number(totals[k]?.value?.value ?? 0n);
        });
      }
    }
    for (let i = 0; i < stale.length; i += this.#perCommit) {
      const op = this.#kv.atomic();
      for (const state of stale.slice(i, i + this.#perCommit)) {
        op.delete(rateLimitKey(state.scope, state.windowStart));
      }
      await op.commit();
    }
  }

  /** Flushes and stops the sync timer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.sync();
  }

  #armSync(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(async () => {
      try {
        await this.sync();
      } catch (error) {
        this.#metrics?.kvCommitFailures.inc({ site: "rate_limit" });
        log.error("Rate-limit sync failed", { error: errorText(error) });
      } finally {
        this.#timer = undefined;
        if (this.#windows.size > 0) this.#armSync();
      }
    }, SYNC_INTERVAL_MS);
  }
}

/** A scope's kind for metrics: the part before its first colon (`ws`, `ip`), never an id. */
function scopeKind(scope: string): string {
  const kind = scope.slice(0, scope.indexOf(":"));
  return /^[a-z_]{1,16}$/.test(kind) ? kind : "other";
}
