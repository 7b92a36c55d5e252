import { CounterBatch } from "./counters.ts";

/** The key size commit budgets assume (lib/kv/limits.ts `keysPerCommit`). */
const TYPICAL_KEY_BYTES = 100;

interface KeyWrite {
  key: Deno.KvKey;
  /** Absent: delete the key. */
  value?: unknown;
  expireIn?: number;
}

/**
 * What analytics adds to one commit: counter sums plus the few records beside them (visitor
 * state, order entries, missing-order entries, issue examples). The last write to a key wins.
 */
export class AnalyticsWrites {
  #counters = new CounterBatch();
  readonly #records = new Map<string, KeyWrite>();
  readonly #committed: (() => void)[] = [];

  /** The counter sums. */
  get counters(): CounterBatch {
    return this.#counters;
  }

  /**
   * Moves the counter sums out, to be committed elsewhere summed with others (the seeding
   * of bench/analytics.ts); the records stay.
   */
  takeCounters(): CounterBatch {
    const taken = this.#counters;
    this.#counters = new CounterBatch();
    return taken;
  }

  /** Sets a record in the commit. */
  set(key: Deno.KvKey, value: unknown, expireIn?: number): void {
    this.#records.set(JSON.stringify(key), { key, value, expireIn });
  }

  /** Deletes a record in the commit. */
  delete(key: Deno.KvKey): void {
    this.#records.set(JSON.stringify(key), { key });
  }

  /** Runs `fn` once the commit holding these writes succeeded (caches of what it wrote). */
  onCommitted(fn: () => void): void {
    this.#committed.push(fn);
  }

  /** Call after the commit succeeded. */
  committed(): void {
    for (const fn of this.#committed.splice(0)) fn();
  }

  /** Adds another plan's writes to this one (its later writes win). */
  merge(other: AnalyticsWrites): void {
    this.#counters.merge(other.#counters);
    for (const [id, write] of other.#records) this.#records.set(id, write);
    this.#committed.push(...other.#committed);
  }

  /**
   * What {@link addTo} adds to a commit, in keys of typical size (lib/kv/limits.ts): the
   * mutations, or more when counter keys are longer than typical.
   */
  get mutations(): number {
    const counters = Math.max(
      this.#counters.keyCount,
      Math.ceil(this.#counters.keyBytes / TYPICAL_KEY_BYTES),
    );
    return counters + this.#records.size;
  }

  /** Adds every write to a commit. */
  addTo(op: Deno.AtomicOperation): void {
    this.#counters.addTo(op);
    for (const { key, value, expireIn } of this.#records.values()) {
      if (value === undefined) op.delete(key);
      else op.set(key, value, expireIn === undefined ? undefined : { expireIn });
    }
  }
}
