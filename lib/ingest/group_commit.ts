import { DEFAULT_KV_LIMITS, type KvLimits } from "../kv/limits.ts";
import type { QueuePort } from "../queue/mod.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { EventIdEntry, SealedEvent } from "../event_store.ts";
import { eventIdKey, eventKey, statKey } from "../kv/keys.ts";
import { type Metrics, secondsSince } from "../metrics/metrics.ts";

/** One event waiting to be committed. */
export interface CommitItem {
  /** The event, for its ids and counters. */
  event: SluiceEvent;
  /** What is written to KV. */
  sealed: SealedEvent;
  /** How long the same event id counts as a duplicate, ms. */
  dedupWindowMs: number;
  /** How long the event is kept, ms. */
  retentionMs: number;
  /** Other keys set atomically with the event, only if it is accepted (identity graph records). */
  sideWrites?: readonly SideWrite[];
}

/** One more key an accepted event sets; within a commit the last write of a key wins. */
export interface SideWrite {
  key: Deno.KvKey;
  value: unknown;
  /** Byte size of `value` as stored, for sizing the commit. */
  bytes: number;
  expireIn: number;
}

/** What became of one submitted event. */
export type CommitOutcome = "accepted" | "duplicate";

/** How the committer sizes and paces its commits. */
export interface CommitOptions {
  /** What one atomic commit may hold (lib/kv/limits.ts). */
  limits: KvLimits;
  /**
   * Commits allowed in flight at once; the next group fills while they run. One suits a
   * local SQLite file (it has one writer, and bigger groups amortise each commit); a
   * remote KV, where a commit is a network round trip, wants several.
   */
  maxInFlight: number;
  /** Where commit sizes, latencies and failures are counted. */
  metrics?: Metrics;
}

/** Key bytes an event's own writes take at most: its record, id entry, counters and check. */
const EVENT_KEY_BYTES = 500;

/** A key's size as KV counts it, give or take the encoding's few bytes per part. */
function keySize(key: Deno.KvKey): number {
  return key.reduce<number>((sum, part) => sum + String(part).length + 2, 0);
}

const DEFAULT_OPTIONS: CommitOptions = { limits: DEFAULT_KV_LIMITS, maxInFlight: 1 };
const HOUR_MS = 3_600_000;
const COUNTER_FLUSH_MS = 1_000;

interface Pending {
  item: CommitItem;
  /** The versionstamp the event-id entry must still have: null = absent. */
  expected: string | null;
  /** Committed alone, after its group failed with an error other than a dedup conflict. */
  isolated: boolean;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

interface Counter {
  wsId: string;
  hour: number;
  metric: string;
  dimension: string;
  by: number;
}

/** Counter increments summed by (workspace, hour, metric, dimension). */
class CounterBatch {
  readonly entries = new Map<string, Counter>();

  add(wsId: string, at: number, metric: string, dimension: string, by: number): void {
    const hour = at - (at % HOUR_MS);
    const key = `${wsId}\u0000${hour}\u0000${metric}\u0000${dimension}`;
    const counter = this.entries.get(key);
    if (counter) counter.by += by;
    else this.entries.set(key, { wsId, hour, metric, dimension, by });
  }

  merge(other: CounterBatch): void {
    for (const c of other.entries.values()) this.add(c.wsId, c.hour, c.metric, c.dimension, c.by);
  }

  addTo(op: Deno.AtomicOperation): void {
    for (const c of this.entries.values()) {
      op.sum(statKey(c.wsId, c.hour, c.metric, c.dimension), BigInt(c.by));
    }
  }
}

/**
 * Group commit (DESIGN.md step 5): events from concurrent requests are collected and
 * written together. Each commit holds, atomically, the dedup checks, the event records,
 * the event-id index, summed analytics counters and one queue message per workspace.
 * An event is either fully accepted and queued, or not accepted.
 */
export class GroupCommitter {
  readonly #kv: Deno.Kv;
  readonly #queue: QueuePort;
  readonly #options: CommitOptions;
  #pending: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  #counters = new CounterBatch();
  #counterTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(kv: Deno.Kv, queue: QueuePort, options: Partial<CommitOptions> = {}) {
    this.#kv = kv;
    this.#queue = queue;
    this.#options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** Commits the items with whatever else is pending; resolves once they are durable. */
  submit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    if (this.#closed) return Promise.reject(new Error("Cannot submit: the committer is closed"));
    const promises = items.map((item) =>
      new Promise<CommitOutcome>((resolve, reject) => {
        this.#pending.push({ item, expected: null, isolated: false, resolve, reject });
      })
    );
    this.#schedule();
    return Promise.all(promises);
  }

  /** Adds to an analytics counter in a coming commit (bot drops, duplicates, rejections). */
  count(wsId: string, metric: string, dimension = "", by = 1): void {
    this.#counters.add(wsId, Date.now(), metric, dimension, by);
    this.#armCounterFlush();
  }

  /** Counters ride along with event commits; when none come, they are flushed alone. */
  #armCounterFlush(): void {
    if (this.#closed) return;
    this.#counterTimer ??= setTimeout(() => {
      this.#counterTimer = undefined;
      if (this.#counters.entries.size === 0) return;
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
    if (this.#counters.entries.size) await this.#commitCountersOnly();
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#pending.length > 0 && this.#inFlight < this.#options.maxInFlight) {
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
    const { checks: maxChecks, mutations: maxMutations, bytes: maxBytes, keyBytes: maxKeyBytes } =
      this.#options.limits;
    // Per event: 1 check, 2 sets, ≤ 3 counter sums, its side writes; per workspace: 1 enqueue.
    let bytes = 0;
    let keyBytes = 0;
    let mutations = 50;
    let count = 0;
    for (const pending of this.#pending) {
      if (pending.isolated) {
        if (count === 0) count = 1;
        break;
      }
      const { sealed, sideWrites = [] } = pending.item;
      const sideKeyBytes = sideWrites.reduce((sum, w) => sum + keySize(w.key), 0);
      const itemKeyBytes = EVENT_KEY_BYTES + sideKeyBytes;
      const itemBytes = sideWrites.reduce((sum, w) => sum + w.bytes, sealed.length + sideKeyBytes);
      const itemMutations = 6 + sideWrites.length;
      if (
        count > 0 && (count >= maxChecks || mutations + itemMutations > maxMutations ||
          bytes + itemBytes > maxBytes || keyBytes + itemKeyBytes > maxKeyBytes)
      ) break;
      bytes += itemBytes;
      keyBytes += itemKeyBytes;
      mutations += itemMutations;
      count++;
    }
    return this.#pending.splice(0, count);
  }

  async #commit(group: Pending[]): Promise<void> {
    const seen = new Map<string, Pending>();
    const unique: Pending[] = [];
    const repeats: Pending[] = [];
    for (const pending of group) {
      const key = `${pending.item.event.workspace_id}\u0000${pending.item.event.event_id}`;
      if (seen.has(key)) repeats.push(pending);
      else {
        seen.set(key, pending);
        unique.push(pending);
      }
    }
    const counters = this.#counters;
    this.#counters = new CounterBatch();
    const metrics = this.#options.metrics;
    const started = performance.now();
    try {
      const op = this.#kv.atomic();
      const idsByWorkspace = new Map<string, string[]>();
      const now = Date.now();
      for (const { item, expected } of unique) {
        const { event: stored } = item;
        const idKey = eventIdKey(stored.workspace_id, stored.event_id);
        const entry: EventIdEntry = { ulid: stored.id, dedup_until: now + item.dedupWindowMs };
        op.check({ key: idKey, versionstamp: expected })
          .set(eventKey(stored.workspace_id, stored.id), item.sealed, {
            expireIn: item.retentionMs,
          })
          .set(idKey, entry, { expireIn: Math.max(item.retentionMs, item.dedupWindowMs) });
        const ids = idsByWorkspace.get(stored.workspace_id) ?? [];
        ids.push(stored.id);
        idsByWorkspace.set(stored.workspace_id, ids);
      }
      const sideWrites = new Map<string, SideWrite>();
      for (const { item } of unique) {
        for (const write of item.sideWrites ?? []) sideWrites.set(JSON.stringify(write.key), write);
      }
      for (const { key, value, expireIn } of sideWrites.values()) op.set(key, value, { expireIn });
      const eventCounters = new CounterBatch();
      eventCounters.merge(counters);
      for (const { item: { event: stored } } of unique) {
        const { workspace_id: wsId, received_at: at } = stored;
        eventCounters.add(wsId, at, "events", "", 1);
        eventCounters.add(wsId, at, "events_by_name", stored.event_name, 1);
        eventCounters.add(wsId, at, "events_by_source", stored.source, 1);
      }
      eventCounters.addTo(op);
      for (const [wsId, ids] of idsByWorkspace) {
        this.#queue.enqueueIn(op, { type: "ingested", workspace_id: wsId, ids });
      }
      const result = await op.commit();
      if (result.ok) {
        metrics?.commitDuration.observe(secondsSince(started));
        metrics?.commitSize.observe(unique.length);
        for (const pending of unique) pending.resolve("accepted");
        for (const pending of repeats) {
          pending.resolve("duplicate");
          this.count(pending.item.event.workspace_id, "duplicates");
        }
        return;
      }
      this.#mergeCounters(counters);
      await this.#resolveConflicts(unique, repeats);
    } catch (error) {
      metrics?.kvCommitFailures.inc({ site: "group_commit" });
      this.#mergeCounters(counters);
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      // One bad event must not fail the others: retry each on its own.
      this.#pending.unshift(...group.map((pending) => ({ ...pending, isolated: true })));
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
        chunk.map((p) => eventIdKey(p.item.event.workspace_id, p.item.event.event_id)),
      );
      chunk.forEach((pending, j) => {
        const entry = entries[j]!;
        if (entry.value === null) retry.push({ ...pending, expected: null });
        else if (entry.value.dedup_until > now) {
          pending.resolve("duplicate");
          this.count(pending.item.event.workspace_id, "duplicates");
        } else retry.push({ ...pending, expected: entry.versionstamp });
      });
    }
    this.#pending.unshift(...retry, ...repeats);
    this.#schedule();
  }

  #mergeCounters(counters: CounterBatch): void {
    this.#counters.merge(counters);
    if (this.#counters.entries.size) this.#armCounterFlush();
  }

  async #commitCountersOnly(): Promise<void> {
    const counters = this.#counters;
    this.#counters = new CounterBatch();
    try {
      const op = this.#kv.atomic();
      counters.addTo(op);
      const result = await op.commit();
      if (!result.ok) this.#mergeCounters(counters);
    } catch {
      this.#options.metrics?.kvCommitFailures.inc({ site: "counters" });
      this.#mergeCounters(counters);
    }
  }
}
