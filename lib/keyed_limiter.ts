/**
 * Caps concurrent work per key (a destination, a webhook), so one slow endpoint holds only
 * its own slots and never those of the others. Waiters run in arrival order.
 */
export class KeyedLimiter {
  readonly #perKey: number;
  readonly #slots = new Map<string, { free: number; waiting: (() => void)[] }>();

  constructor(perKey: number) {
    this.#perKey = perKey;
  }

  /** Runs `work` once one of the key's slots is free. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = { free: this.#perKey, waiting: [] };
      this.#slots.set(key, slot);
    }
    if (slot.free === 0) await new Promise<void>((resolve) => slot.waiting.push(resolve));
    else slot.free--;
    try {
      return await work();
    } finally {
      const next = slot.waiting.shift();
      if (next) next();
      else if (++slot.free === this.#perKey) this.#slots.delete(key);
    }
  }
}
