import type { QueuePort } from "./queue/mod.ts";
import type { EventIdEntry, StoredEvent } from "./event_store.ts";
import { eventIdKey, eventKey, statKey } from "./kv_keys.ts";

/** One event waiting to be committed. */
export interface CommitItem {
  stored: StoredEvent;
  /** How long the same event id counts as a duplicate, ms. */
  dedupWindowMs: number;
  /** How long the event is kept, ms. */
  retentionMs: number;
  /** Approximate serialised size, bytes. */
  bytes: number;
}

/** What became of one submitted event. */
export type CommitOutcome = "accepted" | "duplicate";

/** Limits of one atomic commit (DESIGN.md "Known KV limits"). */
export interface CommitLimits {
  /** Checks per commit: 100 on SQLite and Deno Deploy, 10 on self-hosted denokv. */
  maxChecks: number;
  maxMutations: number;
  maxBytes: number;
  /** Commits allowed in flight at once; the next group fills while they run. */
  maxInFlight: number;
}

const DEFAULT_LIMITS: CommitLimits = {
  maxChecks: 100,
  maxMutations: 1000,
  maxBytes: 700 * 1024,
  maxInFlight: 4,
};
const HOUR_MS = 3_600_000;
const COUNTER_FLUSH_MS = 1_000;

interface Pending {
  item: CommitItem;
  /** The versionstamp the event-id entry must still have: null = absent. */
  expected: string | null;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

type CounterKey = string;

/**
 * Group commit (DESIGN.md step 5): events from concurrent requests are collected and
 * written together. Each commit holds, atomically, the dedup checks, the event records,
 * the event-id index, summed analytics counters and one queue message per workspace.
 * An event is either fully accepted and queued, or not accepted.
 */
export class GroupCommitter {
  readonly #kv: Deno.Kv;
  readonly #queue: QueuePort;
  readonly #limits: CommitLimits;
  #pending: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  #counters = new Map<CounterKey, bigint>();
  #counterTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(kv: Deno.Kv, queue: QueuePort, limits: Partial<CommitLimits> = {}) {
    this.#kv = kv;
    this.#queue = queue;
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Commits the items with whatever else is pending; resolves once they are durable. */
  submit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    if (this.#closed) return Promise.reject(new Error("Cannot submit: the committer is closed"));
    const promises = items.map((item) =>
      new Promise<CommitOutcome>((resolve, reject) => {
        this.#pending.push({ item, expected: null, resolve, reject });
      })
    );
    this.#schedule();
    return Promise.all(promises);
  }

  /** Adds to an analytics counter in a coming commit (bot drops, duplicates, rejections). */
  count(wsId: string, metric: string, dimension = "", by = 1): void {
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const key = JSON.stringify([wsId, hour, metric, dimension]);
    this.#counters.set(key, (this.#counters.get(key) ?? 0n) + BigInt(by));
    this.#armCounterFlush();
  }

  /** Counters ride along with event commits; when none come, they are flushed alone. */
  #armCounterFlush(): void {
    if (this.#closed) return;
    this.#counterTimer ??= setTimeout(() => {
      this.#counterTimer = undefined;
      if (this.#counters.size === 0) return;
      if (this.#pending.length === 0 && this.#inFlight === 0) this.#commitCountersOnly();
      else this.#armCounterFlush();
    }, COUNTER_FLUSH_MS);
  }

  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void> {
    if (this.#pending.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Commits what is pending, including buffered counters, then refuses new work. */
  async close(): Promise<void> {
    await this.idle();
    clearTimeout(this.#counterTimer);
    this.#counterTimer = undefined;
    if (this.#counters.size) await this.#commitCountersOnly();
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#drain();
    }, 0);
  }

  #drain(): void {
    while (this.#pending.length > 0 && this.#inFlight < this.#limits.maxInFlight) {
      const group = this.#takeGroup();
      this.#inFlight++;
      this.#commit(group).finally(() => {
        this.#inFlight--;
        if (this.#pending.length > 0) this.#drain();
        else if (this.#inFlight === 0) this.#idle.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  /** Takes the longest prefix of pending events that fits one commit. */
  #takeGroup(): Pending[] {
    const { maxChecks, maxMutations, maxBytes } = this.#limits;
    // Per event: 1 check, 2 sets, ≤ 3 counter sums; per workspace: 1 enqueue.
    const maxEvents = Math.min(maxChecks, Math.floor((maxMutations - 50) / 6));
    let bytes = 0;
    let count = 0;
    for (const pending of this.#pending) {
      if (count >= maxEvents || (count > 0 && bytes + pending.item.bytes > maxBytes)) break;
      bytes += pending.item.bytes;
      count++;
    }
    return this.#pending.splice(0, count);
  }

  async #commit(group: Pending[]): Promise<void> {
    const seen = new Map<string, Pending>();
    const unique: Pending[] = [];
    const repeats: Pending[] = [];
    for (const pending of group) {
      const key = `${pending.item.stored.workspace_id}\u0000${pending.item.stored.event_id}`;
      if (seen.has(key)) repeats.push(pending);
      else {
        seen.set(key, pending);
        unique.push(pending);
      }
    }
    const counters = this.#counters;
    this.#counters = new Map();
    try {
      const op = this.#kv.atomic();
      const idsByWorkspace = new Map<string, string[]>();
      const now = Date.now();
      for (const { item, expected } of unique) {
        const { stored } = item;
        const idKey = eventIdKey(stored.workspace_id, stored.event_id);
        const entry: EventIdEntry = { ulid: stored.id, dedup_until: now + item.dedupWindowMs };
        op.check({ key: idKey, versionstamp: expected })
          .set(eventKey(stored.workspace_id, stored.id), stored, { expireIn: item.retentionMs })
          .set(idKey, entry, { expireIn: Math.max(item.retentionMs, item.dedupWindowMs) });
        const ids = idsByWorkspace.get(stored.workspace_id) ?? [];
        ids.push(stored.id);
        idsByWorkspace.set(stored.workspace_id, ids);
      }
      const allCounters = new Map(counters);
      for (const { item: { stored } } of unique) {
        const hour = Math.floor(stored.received_at / HOUR_MS) * HOUR_MS;
        for (
          const [metric, dim] of [["events", ""], ["events_by_name", stored.event_name], [
            "events_by_source",
            stored.source,
          ]]
        ) {
          const key = JSON.stringify([stored.workspace_id, hour, metric, dim]);
          allCounters.set(key, (allCounters.get(key) ?? 0n) + 1n);
        }
      }
      addCounters(op, allCounters);
      for (const [wsId, ids] of idsByWorkspace) {
        this.#queue.enqueueIn(op, { type: "ingested", workspace_id: wsId, ids });
      }
      const result = await op.commit();
      if (result.ok) {
        for (const pending of unique) pending.resolve("accepted");
        for (const pending of repeats) pending.resolve("duplicate");
        return;
      }
      this.#mergeCounters(counters);
      await this.#resolveConflicts(unique, repeats);
    } catch (error) {
      this.#mergeCounters(counters);
      for (const pending of [...unique, ...repeats]) pending.reject(error);
    }
  }

  /**
   * A check failed: some event id already exists. Read each entry; live ones are
   * duplicates, expired ones (expireIn deletes lazily) are retried against their
   * versionstamp, absent ones are retried as they were.
   */
  async #resolveConflicts(unique: Pending[], repeats: Pending[]): Promise<void> {
    const now = Date.now();
    const retry: Pending[] = [];
    for (let i = 0; i < unique.length; i += 10) {
      const chunk = unique.slice(i, i + 10);
      const entries = await this.#kv.getMany<EventIdEntry[]>(
        chunk.map((p) => eventIdKey(p.item.stored.workspace_id, p.item.stored.event_id)),
      );
      chunk.forEach((pending, j) => {
        const entry = entries[j]!;
        if (entry.value === null) retry.push({ ...pending, expected: null });
        else if (entry.value.dedup_until > now) {
          pending.resolve("duplicate");
          this.count(pending.item.stored.workspace_id, "duplicates");
        } else retry.push({ ...pending, expected: entry.versionstamp });
      });
    }
    this.#pending.unshift(...retry, ...repeats);
    this.#schedule();
  }

  #mergeCounters(counters: Map<CounterKey, bigint>): void {
    for (const [key, value] of counters) {
      this.#counters.set(key, (this.#counters.get(key) ?? 0n) + value);
    }
    if (this.#counters.size) this.#armCounterFlush();
  }

  async #commitCountersOnly(): Promise<void> {
    const counters = this.#counters;
    this.#counters = new Map();
    try {
      const op = this.#kv.atomic();
      addCounters(op, counters);
      const result = await op.commit();
      if (!result.ok) this.#mergeCounters(counters);
    } catch {
      this.#mergeCounters(counters);
    }
  }
}

function addCounters(op: Deno.AtomicOperation, counters: Map<CounterKey, bigint>): void {
  for (const [key, value] of counters) {
    const [wsId, hour, metric, dim] = JSON.parse(key) as [string, number, string, string];
    op.sum(statKey(wsId, hour, metric, dim), value);
  }
}
