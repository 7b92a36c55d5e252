/**
 * When each API key was last used, without a KV write per request: a use is noted in memory
 * (a map set on the request path), and a timer writes each key's latest use at most once per
 * interval (5 minutes), many keys per commit, with KV's `max` so processes never move a time
 * back. Closing writes what is left. Readers merge what this process has not written yet.
 *
 * @module
 */
import { apiKeyUsedKey } from "../kv/keys.ts";

/** How often one key's last use is written, at most. */
export const USAGE_WRITE_INTERVAL_MS = 5 * 60_000;
/** How often the timer looks for uses to write. */
export const USAGE_TICK_MS = 60_000;
/** Keys written per commit (well inside KV's 1,000 mutations). */
const KEYS_PER_COMMIT = 100;

interface Use {
  wsId: string;
  keyId: string;
  at: number;
}

/** Last uses of API keys, coalesced in memory and written off the request path. */
export class KeyUsage {
  readonly #kv: Deno.Kv;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** Uses not written yet, by key id. */
  readonly #pending = new Map<string, Use>();
  /** When this process last wrote each key's use. */
  readonly #written = new Map<string, number>();
  #flushing: Promise<number> | undefined;

  constructor(
    kv: Deno.Kv,
    options: { intervalMs?: number; now?: () => number } = {},
  ) {
    this.#kv = kv;
    this.#intervalMs = options.intervalMs ?? USAGE_WRITE_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Notes that a key authenticated now: memory only, never a KV call. */
  touch(wsId: string, keyId: string): void {
    this.#pending.set(keyId, { wsId, keyId, at: this.#now() });
  }

  /** Drops what is pending for a key (it was revoked). */
  forget(keyId: string): void {
    this.#pending.delete(keyId);
    this.#written.delete(keyId);
  }

  /** When each of a workspace's keys was last used (epoch ms), stored or still pending here. */
  async lastUsed(wsId: string, keyIds: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (let i = 0; i < keyIds.length; i += 10) {
      const ids = keyIds.slice(i, i + 10);
      const entries = await this.#kv.getMany<Deno.KvU64[]>(
        ids.map((id) => apiKeyUsedKey(wsId, id)),
      );
      entries.forEach((entry, j) => {
        if (entry.value) found.set(ids[j]!, Number(entry.value.value));
      });
    }
    for (const id of keyIds) {
      const pending = this.#pending.get(id);
      if (pending && pending.wsId === wsId && pending.at > (found.get(id) ?? -1)) {
        found.set(id, pending.at);
      }
    }
    return found;
  }

  /**
   * Writes pending uses of keys not written within the interval (`all`: every pending use, on
   * close); answers how many keys it wrote. Concurrent calls share one flush.
   */
  flush(options: { all?: boolean } = {}): Promise<number> {
    this.#flushing ??= this.#write(options.all ?? false).finally(() => this.#flushing = undefined);
    return this.#flushing;
  }

  /** Flushes every `tickMs` until the answer is called; the timer does not keep the process alive. */
  start(tickMs = USAGE_TICK_MS): () => void {
    const timer = setInterval(() => {
      this.flush().catch(() => {
        // Left pending: the next tick tries again.
      });
    }, tickMs);
    Deno.unrefTimer(timer);
    return () => clearInterval(timer);
  }

  async #write(all: boolean): Promise<number> {
    const now = this.#now();
    const due: Use[] = [];
    for (const use of this.#pending.values()) {
      const last = this.#written.get(use.keyId);
      if (all || last === undefined || now - last >= this.#intervalMs) due.push(use);
    }
    for (const [keyId, at] of this.#written) {
      if (now - at >= this.#intervalMs && !this.#pending.has(keyId)) this.#written.delete(keyId);
    }
    for (let i = 0; i < due.length; i += KEYS_PER_COMMIT) {
      const batch = due.slice(i, i + KEYS_PER_COMMIT);
      const op = this.#kv.atomic();
      for (const use of batch) {
        op.max(apiKeyUsedKey(use.wsId, use.keyId), BigInt(use.at));
      }
      await op.commit();
      for (const use of batch) {
        // A use noted while the commit ran stays pending for the next flush.
        if (this.#pending.get(use.keyId) === use) this.#pending.delete(use.keyId);
        this.#written.set(use.keyId, now);
      }
    }
    return due.length;
  }
}
