interface Entry<V> {
  value: V;
  expires: number;
}

/**
 * A small in-memory cache whose entries expire; for hot lookups that may be seconds stale.
 *
 * Entries live in two generations: new ones go to the current map, and when it is full (half
 * the capacity) it becomes the previous one and the old previous one is dropped whole. Every
 * operation is O(1); deleting the oldest entries one by one from a single Map is not (its
 * iterator walks the holes they leave, which cost a fifth of a busy process).
 */
export class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #generationSize: number;
  #current = new Map<string, Entry<V>>();
  #previous = new Map<string, Entry<V>>();

  /** Keeps entries for `ttlMs`, and at most `maxEntries` (the oldest half goes first). */
  constructor(ttlMs: number, maxEntries = 10_000) {
    this.#ttlMs = ttlMs;
    this.#generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  /** The cached value, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.#current.get(key) ?? this.#previous.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Caches a value for the TTL. */
  set(key: string, value: V): void {
    if (!this.#current.has(key) && this.#current.size >= this.#generationSize) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#previous.delete(key);
    this.#current.set(key, { value, expires: Date.now() + this.#ttlMs });
  }

  /** Forgets a key. */
  delete(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }
}
