import { monotonicFactory } from "ulid";
import { outboxDeadKey, outboxKey, outboxPrefix } from "../kv/keys.ts";
import type { EnqueueOptions, MessageHandler, QueueMessage, QueuePort } from "./types.ts";

/** One message in the outbox due-time index (`outboxKey`). */
export interface OutboxEntry {
  message: QueueMessage;
  /** Claims so far; a lease that expired (its worker died) counts as an attempt. */
  attempts: number;
  /** Claimed by a worker: the key's due time is then the lease expiry. */
  leased: boolean;
}

/** A message the outbox gave up on after its last attempt (`outboxDeadKey`). */
export interface DeadOutboxEntry {
  message: QueueMessage;
  attempts: number;
  /** Epoch ms of the last failure. */
  failed_at: number;
  /** The last handler error, truncated. */
  error: string;
}

/** Tuning of a {@link KvOutbox}; the defaults suit production. */
export interface KvOutboxOptions {
  /** How long a claim holds a message before another worker may take it; renewed every third of it while the handler runs. Default 30 s. */
  leaseMs?: number;
  /** Handlers running at once in this instance. Default 16. */
  concurrency?: number;
  /** Longest pause between polls when there is nothing to do. Default 250 ms. */
  idlePollMs?: number;
  /** Delays before each retry of a message whose handler threw; after the last, the message becomes a dead letter. Default 1 s, 5 s, 30 s, 2 min, 10 min (as the kv-queue adapter). */
  backoffMs?: readonly number[];
  /** How long dead letters are kept. Default 7 days. */
  deadLetterTtlMs?: number;
}

/** Bounds of one {@link KvOutbox.drain}. */
export interface DrainOptions {
  /** Most messages to handle. */
  maxMessages: number;
  /** After this many ms no further message is claimed (those running finish). */
  budgetMs: number;
}

/** What one {@link KvOutbox.drain} did. */
export interface DrainResult {
  /** Messages whose handler finished. */
  handled: number;
  /** Messages whose handler threw: queued again on the backoff schedule, or dead letters. */
  failed: number;
  /** Whether due messages were left when the drain stopped (its bounds were reached). */
  more: boolean;
}

/** How long dead letters are kept by default, ms. */
export const DEAD_LETTER_TTL_MS = 7 * 24 * 3_600_000;

const DEFAULTS = {
  leaseMs: 30_000,
  concurrency: 16,
  idlePollMs: 250,
  backoffMs: [1_000, 5_000, 30_000, 120_000, 600_000],
  deadLetterTtlMs: DEAD_LETTER_TTL_MS,
} satisfies Required<KvOutboxOptions>;

/** First pause after an empty poll; doubles up to `idlePollMs`. */
const MIN_POLL_MS = 10;
/** Longest pause between tries to settle a message while KV is busy or unreachable. */
const MAX_SETTLE_PAUSE_MS = 1_000;
/** Dead letters keep this much of the error, so message + error stay under KV's 64 KiB. */
const MAX_ERROR_CHARS = 1_000;

/** A claim this worker holds: the entry now lives at `key`, written at `versionstamp`. */
interface Lease {
  id: string;
  entry: OutboxEntry;
  key: Deno.KvKey;
  versionstamp: string;
  /** Epoch ms when the lease runs out (the due time in `key`). */
  until: number;
  /** Another worker took the message over (our lease had expired); leave it alone. */
  lost: boolean;
}

/**
 * The queue port on plain KV reads and writes (DESIGN.md "Scale"): messages wait in a due-time
 * index, a worker claims one by moving it (atomic check of its versionstamp) to a key whose
 * due time is its lease expiry, so a worker that dies simply lets the message come due again.
 * Works on every KV backend and with any number of processes sharing one database.
 *
 * Delivery is at least once: a message runs again only after its handler threw, or after its
 * lease expired (the worker died, or lost KV for longer than the lease while renewing).
 */
export class KvOutbox implements QueuePort {
  readonly kind = "kv-outbox";
  readonly #kv: Deno.Kv;
  readonly #options: Required<KvOutboxOptions>;
  readonly #nextId = monotonicFactory();
  readonly #running = new Set<Promise<unknown>>();
  #loop: Promise<void> | undefined;
  #enqueued = 0;
  #closing = false;
  #wake: (() => void) | undefined;

  constructor(kv: Deno.Kv, options: KvOutboxOptions = {}) {
    this.#kv = kv;
    this.#options = { ...DEFAULTS, ...options };
    const { leaseMs, concurrency } = this.#options;
    if (!(leaseMs > 0)) throw new RangeError(`Cannot create a KvOutbox: leaseMs "${leaseMs}"`);
    if (!(concurrency >= 1)) {
      throw new RangeError(`Cannot create a KvOutbox: concurrency "${concurrency}"`);
    }
  }

  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage, options: EnqueueOptions = {}): void {
    const entry: OutboxEntry = { message, attempts: 0, leased: false };
    op.set(outboxKey(dueAt(options.delayMs), this.#nextId()), entry);
    this.#enqueued++;
  }

  /** Messages this instance has queued so far (some perhaps in operations not committed). */
  get enqueued(): number {
    return this.#enqueued;
  }

  async enqueue(message: QueueMessage, options: EnqueueOptions = {}): Promise<void> {
    const op = this.#kv.atomic();
    this.enqueueIn(op, message, options);
    await op.commit();
    if (!options.delayMs) this.#wake?.();
  }

  /** Polls for due messages until {@link close} is called or KV closes. */
  listen(handler: MessageHandler): Promise<void> {
    if (this.#loop) throw new Error("Cannot listen on a KvOutbox: it is already listening");
    if (this.#closing) return Promise.resolve();
    this.#loop = this.#poll(handler);
    return this.#loop;
  }

  /** Stops claiming messages and resolves once the running handlers have finished. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled(this.#running);
  }

  /**
   * Handles due messages within this call: claims them in waves of up to `concurrency`, at
   * most `maxMessages` in all and none after `budgetMs`, and resolves once those claimed are
   * settled. For hosts whose isolates do not live long enough to poll (Deno Deploy): a
   * drain after a request's answer, or from an outside scheduler. Safe beside `listen`
   * and beside other processes: each message is claimed by one lease.
   */
  async drain(handler: MessageHandler, options: DrainOptions): Promise<DrainResult> {
    const deadline = Date.now() + options.budgetMs;
    const result: DrainResult = { handled: 0, failed: 0, more: false };
    let claimed = 0;
    while (!this.#closing && claimed < options.maxMessages && Date.now() < deadline) {
      const wanted = Math.min(options.maxMessages - claimed, this.#options.concurrency);
      const { due } = await this.#listDue(wanted * 2);
      if (due.length === 0) return result;
      const leases = (await Promise.all(
        due.slice(0, wanted).map((entry) => this.#claim(entry).catch(() => undefined)),
      )).filter((lease) => lease !== undefined);
      claimed += leases.length;
      const outcomes = await Promise.all(leases.map((lease) => {
        const task = this.#run(lease, handler).finally(() => this.#running.delete(task));
        this.#running.add(task);
        return task;
      }));
      result.handled += outcomes.filter((ok) => ok).length;
      result.failed += outcomes.filter((ok) => !ok).length;
      if (leases.length === 0 && due.length <= wanted) return result;
    }
    result.more = (await this.#listDue(1)).due.length > 0;
    return result;
  }

  async #poll(handler: MessageHandler): Promise<void> {
    let pauseMs = 0;
    while (!this.#closing) {
      const free = this.#options.concurrency - this.#running.size;
      if (free <= 0) {
        await this.#sleep();
        continue;
      }
      let claimed = 0;
      let nextDueMs: number | undefined;
      try {
        ({ claimed, nextDueMs } = await this.#claimDue(free, handler));
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) break; // KV closed
        // Otherwise KV is unreachable for now: try again after the idle pause.
      }
      if (claimed > 0) {
        pauseMs = 0;
        continue;
      }
      pauseMs = Math.min(Math.max(pauseMs * 2, MIN_POLL_MS), this.#options.idlePollMs);
      const untilDue = nextDueMs === undefined ? pauseMs : nextDueMs - Date.now();
      await this.#sleep(Math.max(0, Math.min(pauseMs, untilDue)));
    }
    await Promise.allSettled(this.#running);
  }

  /** Claims up to `free` due messages and starts their handlers. */
  async #claimDue(
    free: number,
    handler: MessageHandler,
  ): Promise<{ claimed: number; nextDueMs?: number }> {
    // Twice what we can take: other workers may win some of the same entries.
    const { due, nextDueMs } = await this.#listDue(free * 2);
    let claimed = 0;
    while (due.length > 0 && claimed < free && !this.#closing) {
      const wave = due.splice(0, free - claimed);
      // A claim that throws (KV busy or unreachable) is one this worker does not get.
      const leases = await Promise.all(
        wave.map((entry) => this.#claim(entry).catch(() => undefined)),
      );
      for (const lease of leases) {
        if (!lease) continue;
        claimed++;
        const task = this.#run(lease, handler).finally(() => {
          this.#running.delete(task);
          this.#wake?.();
        });
        this.#running.add(task);
      }
    }
    return { claimed, nextDueMs };
  }

  /** Up to `limit` due entries in random order, and when the first one not yet due is due. */
  async #listDue(
    limit: number,
  ): Promise<{ due: Deno.KvEntry<OutboxEntry>[]; nextDueMs?: number }> {
    const now = Date.now();
    const due: Deno.KvEntry<OutboxEntry>[] = [];
    let nextDueMs: number | undefined;
    for await (const entry of this.#kv.list<OutboxEntry>({ prefix: outboxPrefix() }, { limit })) {
      const dueMs = entry.key[1];
      if (typeof dueMs !== "number") continue;
      if (dueMs > now) {
        nextDueMs = dueMs;
        break;
      }
      due.push(entry);
    }
    // Workers that list the same entries then mostly try different ones.
    shuffle(due);
    return { due, nextDueMs };
  }

  /** Moves a due entry to its lease key; undefined when another worker got there first. */
  async #claim(listed: Deno.KvEntry<OutboxEntry>): Promise<Lease | undefined> {
    const id = listed.key[2];
    if (typeof id !== "string") return undefined;
    const entry: OutboxEntry = {
      ...listed.value,
      attempts: listed.value.attempts + 1,
      leased: true,
    };
    const until = Date.now() + this.#options.leaseMs;
    const key = outboxKey(until, id);
    const result = await this.#kv.atomic().check(listed).delete(listed.key).set(key, entry)
      .commit();
    if (!result.ok) return undefined;
    const lease: Lease = { id, entry, key, versionstamp: result.versionstamp, until, lost: false };
    // A lease that ran out while its worker was gone; the message has had every attempt.
    if (entry.attempts > this.#options.backoffMs.length + 1) {
      await this.#settle(lease, { failed: new Error("The lease expired on the last attempt") });
      return undefined;
    }
    return lease;
  }

  /** Runs the handler under the lease and settles the message; false when the handler threw. */
  async #run(lease: Lease, handler: MessageHandler): Promise<boolean> {
    let renewing = Promise.resolve();
    const renewal = setInterval(() => {
      renewing = renewing.then(() => this.#renew(lease));
    }, this.#options.leaseMs / 3);
    let outcome: { failed?: unknown } = {};
    try {
      await handler(lease.entry.message);
    } catch (error) {
      outcome = { failed: error };
    } finally {
      clearInterval(renewal);
    }
    await renewing;
    await this.#settle(lease, outcome);
    return !("failed" in outcome);
  }

  /** Extends the lease while the handler runs, so long handlers are not taken over. */
  async #renew(lease: Lease): Promise<void> {
    if (lease.lost) return;
    const until = Date.now() + this.#options.leaseMs;
    const key = outboxKey(until, lease.id);
    try {
      const result = await this.#kv.atomic().check(lease).delete(lease.key).set(key, lease.entry)
        .commit();
      if (result.ok) {
        lease.key = key;
        lease.versionstamp = result.versionstamp;
        lease.until = until;
      } else lease.lost = true;
    } catch {
      // KV unreachable: the next renewal tries again while the lease may still hold.
    }
  }

  /** Deletes a handled message, or schedules its retry, or makes it a dead letter. */
  async #settle(lease: Lease, outcome: { failed?: unknown }): Promise<void> {
    if (lease.lost) return;
    const { id, entry } = lease;
    let next: { key: Deno.KvKey; value: unknown; expireIn?: number } | undefined;
    if ("failed" in outcome) {
      const delayMs = this.#options.backoffMs[entry.attempts - 1];
      if (delayMs !== undefined) {
        const retry: OutboxEntry = { ...entry, leased: false };
        next = { key: outboxKey(Date.now() + delayMs, id), value: retry };
      } else {
        const dead: DeadOutboxEntry = {
          message: entry.message,
          attempts: entry.attempts,
          failed_at: Date.now(),
          error: describe(outcome.failed),
        };
        const expireIn = this.#options.deadLetterTtlMs;
        next = { key: outboxDeadKey(id), value: dead, expireIn };
      }
    }
    const settle = (withNext: boolean) => {
      const op = this.#kv.atomic().check(lease).delete(lease.key);
      if (next && withNext) op.set(next.key, next.value, { expireIn: next.expireIn });
      return op.commit();
    };
    // Retried while the lease holds: a settle that never lands lets the message come due again
    // (a handled one then runs twice). SQLite says "database is locked" while another
    // connection writes; remote KV may be briefly unreachable.
    for (let pauseMs = 10;; pauseMs = Math.min(pauseMs * 2, MAX_SETTLE_PAUSE_MS)) {
      try {
        await settle(true);
        return;
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return; // KV closed: the lease expires
        if (Date.now() + pauseMs >= lease.until) {
          // Perhaps a dead letter too large to store: it must still leave the index, or it
          // would come back after every lease.
          if (next) await settle(false).catch(() => {});
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }

  /** Waits `ms` (forever when undefined) or until something wakes the loop. */
  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.#wake = done;
      if (this.#closing) done();
    });
  }
}

function dueAt(delayMs = 0): number {
  if (!Number.isFinite(delayMs)) {
    throw new RangeError(`Cannot enqueue a message: delayMs "${delayMs}" is not a finite number`);
  }
  return Date.now() + Math.max(0, Math.ceil(delayMs));
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, MAX_ERROR_CHARS);
}
