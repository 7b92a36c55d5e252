import { DEFAULT_KV_LIMITS, keysPerCommit, type KvLimits } from "../kv/limits.ts";
import type { QueuePort } from "../queue/mod.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { SealedEvent } from "../event_store.ts";
import { eventIdKey, eventKey } from "../kv/keys.ts";
import { CounterBatch, FAMILY } from "../analytics/counters.ts";
import { countVolume, duplicatePair, type TaggedEventIdEntry } from "../analytics/ingest_counts.ts";
import { type Origin, originOf } from "../analytics/labels.ts";
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
  /**
   * `analytics` (the default): volume counters with day rollups, origin-tagged event-id
   * entries and browser/server pairs (lib/analytics/ingest_counts.ts). `volume`: the hourly
   * volume counters alone, as before analytics (the benchmark's baseline).
   */
  counters: "analytics" | "volume";
  /** Where commit sizes, latencies and failures are counted. */
  metrics?: Metrics;
}

/** Key bytes an event's own writes take at most: its record, id entry, counters and check. */
const EVENT_KEY_BYTES = 500;

/** A key's size as KV counts it, give or take the encoding's few bytes per part. */
function keySize(key: Deno.KvKey): number {
  return key.reduce<number>((sum, part) => sum + String(part).length + 2, 0);
}

const DEFAULT_OPTIONS: CommitOptions = {
  limits: DEFAULT_KV_LIMITS,
  maxInFlight: 1,
  counters: "analytics",
};
const COUNTER_FLUSH_MS = 1_000;
/** Share of a commit's key bytes counter keys may take (they are up to ~110 bytes each). */
const COUNTER_KEY_SHARE = 0.4;
const COUNTER_KEY_BYTES = 110;
/** Notes (issue examples) one event commit carries. */
const MAX_NOTES_PER_COMMIT = 20;

/** A record set with the counters. */
interface Note {
  key: Deno.KvKey;
  value: unknown;
  expireIn: number;
}

interface Pending {
  item: CommitItem;
  /** The versionstamp the event-id entry must still have: null = absent. */
  expected: string | null;
  /** Committed alone, after its group failed with an error other than a dedup conflict. */
  isolated: boolean;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
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
  #counters: CounterBatch;
  /** Records that ride along with counters (issue examples), the last value per key. */
  #notes = new Map<string, Note>();
  #counterTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(kv: Deno.Kv, queue: QueuePort, options: Partial<CommitOptions> = {}) {
    this.#kv = kv;
    this.#queue = queue;
    this.#options = { ...DEFAULT_OPTIONS, ...options };
    this.#counters = this.#newCounters();
  }

  #newCounters(): CounterBatch {
    return new CounterBatch({ rollups: this.#options.counters === "analytics" });
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

  /** Sets a small record (the latest example of an issue) in a coming commit, with the counters. */
  note(key: Deno.KvKey, value: unknown, expireInMs: number): void {
    this.#notes.set(JSON.stringify(key), { key, value, expireIn: expireInMs });
    this.#armCounterFlush();
  }

  /** Counters ride along with event commits; when none come, they are flushed alone. */
  #armCounterFlush(): void {
    if (this.#closed) return;
    this.#counterTimer ??= setTimeout(() => {
      this.#counterTimer = undefined;
      if (this.#counters.size === 0 && this.#notes.size === 0) return;
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
    if (this.#counters.size || this.#notes.size) await this.#commitCountersOnly();
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
    this.#counters = this.#newCounters();
    const notes = this.#takeNotes();
    const analytics = this.#options.counters === "analytics";
    const metrics = this.#options.metrics;
    const started = performance.now();
    try {
      const op = this.#kv.atomic();
      const idsByWorkspace = new Map<string, string[]>();
      const now = Date.now();
      for (const { item, expected } of unique) {
        const { event: stored } = item;
        const idKey = eventIdKey(stored.workspace_id, stored.event_id);
        const entry: TaggedEventIdEntry = {
          ulid: stored.id,
          dedup_until: now + item.dedupWindowMs,
          ...(analytics ? { origin: originOf(stored) } : {}),
        };
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
      const eventCounters = this.#newCounters();
      eventCounters.merge(counters);
      for (const { item } of unique) countVolume(eventCounters, item.event);
      for (const [wsId, ids] of idsByWorkspace) {
        this.#queue.enqueueIn(op, { type: "ingested", workspace_id: wsId, ids });
      }
      const { mutations, keyBytes } = this.#options.limits;
      const room = Math.min(
        mutations - 50 - 2 * unique.length - idsByWorkspace.size,
        Math.floor((keyBytes * COUNTER_KEY_SHARE) / COUNTER_KEY_BYTES),
      );
      // Counters that do not fit ride along with the next commit.
      const overflow = eventCounters.addTo(op, room - notes.length);
      for (const { key, value, expireIn } of notes) op.set(key, value, { expireIn });
      const result = await op.commit();
      if (result.ok) {
        metrics?.commitDuration.observe(secondsSince(started));
        metrics?.commitSize.observe(unique.length);
        this.#mergeCounters(overflow);
        for (const pending of unique) pending.resolve("accepted");
        for (const pending of repeats) {
          pending.resolve("duplicate");
          const key = `${pending.item.event.workspace_id}\u0000${pending.item.event.event_id}`;
          this.#countDuplicate(seen.get(key)?.item.event, pending.item.event);
        }
        return;
      }
      this.#mergeCounters(counters);
      this.#restoreNotes(notes);
      await this.#resolveConflicts(unique, repeats);
    } catch (error) {
      metrics?.kvCommitFailures.inc({ site: "group_commit" });
      this.#mergeCounters(counters);
      this.#restoreNotes(notes);
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
      const entries = await this.#kv.getMany<TaggedEventIdEntry[]>(
        chunk.map((p) => eventIdKey(p.item.event.workspace_id, p.item.event.event_id)),
      );
      chunk.forEach((pending, j) => {
        const entry = entries[j]!;
        if (entry.value === null) retry.push({ ...pending, expected: null });
        else if (entry.value.dedup_until > now) {
          pending.resolve("duplicate");
          this.#countDuplicate(entry.value.origin, pending.item.event);
        } else retry.push({ ...pending, expected: entry.versionstamp });
      });
    }
    this.#pending.unshift(...retry, ...repeats);
    this.#schedule();
  }

  /**
   * Counts a duplicate, and a browser/server pair when the copies came from different sides
   * (`stored`: the kept copy, or its origin as the event-id entry recorded it).
   */
  #countDuplicate(stored: SluiceEvent | Origin | undefined, repeat: SluiceEvent): void {
    this.count(repeat.workspace_id, "duplicates");
    if (this.#options.counters !== "analytics") return;
    const origin = typeof stored === "object" ? originOf(stored) : stored;
    const pair = duplicatePair(origin, repeat);
    if (pair) this.count(repeat.workspace_id, FAMILY.pairs, pair);
  }

  #mergeCounters(counters: CounterBatch): void {
    this.#counters.merge(counters);
    if (this.#counters.size) this.#armCounterFlush();
  }

  /** Takes the buffered notes (a few at most: one per issue seen since the last commit). */
  #takeNotes(): Note[] {
    const notes = [...this.#notes.values()].slice(0, MAX_NOTES_PER_COMMIT);
    for (const note of notes) this.#notes.delete(JSON.stringify(note.key));
    return notes;
  }

  /** Puts back notes a failed commit did not write, unless newer ones replaced them. */
  #restoreNotes(notes: readonly Note[]): void {
    for (const note of notes) {
      const id = JSON.stringify(note.key);
      if (!this.#notes.has(id)) this.#notes.set(id, note);
    }
    if (this.#notes.size) this.#armCounterFlush();
  }

  /** Commits buffered counters and notes on their own, in as many commits as they need. */
  async #commitCountersOnly(): Promise<void> {
    let counters = this.#counters;
    const notes = [...this.#notes.values()];
    this.#counters = this.#newCounters();
    this.#notes.clear();
    const room = Math.floor(keysPerCommit(this.#options.limits) / 2);
    try {
      while (counters.size > 0 || notes.length > 0) {
        const op = this.#kv.atomic();
        const rest = counters.addTo(op, room);
        const written = notes.slice(0, room);
        for (const { key, value, expireIn } of written) op.set(key, value, { expireIn });
        const result = await op.commit();
        if (!result.ok) throw new Error("Cannot commit analytics counters");
        counters = rest;
        notes.splice(0, written.length);
      }
    } catch {
      this.#options.metrics?.kvCommitFailures.inc({ site: "counters" });
      this.#mergeCounters(counters);
      this.#restoreNotes(notes);
    }
  }
}
