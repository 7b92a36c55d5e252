import type { Sealer } from "../crypto.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { openEvent, type SealedEvent } from "../event_store.ts";
import { eventPrefix } from "../kv/keys.ts";
import { readByIds } from "../kv/range_read.ts";
import { TtlCache } from "../ttl_cache.ts";

/** Tuning of an {@link EventLoader}. */
export interface EventLoaderOptions {
  /** How long an opened event is kept for the next load. Default 60 s. */
  ttlMs?: number;
  /** Most events kept. Default 50,000 (some 50 MB). */
  maxEntries?: number;
}

/**
 * Loads stored events for delivery and keeps them briefly: ingest hands over the events it
 * just committed, and fan-out and the send that follow within seconds find them here
 * instead of reading and decrypting them from KV. Stored events never change, so a kept
 * copy is never stale; a miss (another process, a long backlog) reads KV.
 */
export class EventLoader {
  readonly #kv: Deno.Kv;
  readonly #sealer: Sealer;
  readonly #opened: TtlCache<SluiceEvent>;

  constructor(kv: Deno.Kv, sealer: Sealer, options: EventLoaderOptions = {}) {
    this.#kv = kv;
    this.#sealer = sealer;
    this.#opened = new TtlCache(options.ttlMs ?? 60_000, options.maxEntries ?? 50_000);
  }

  /** Keeps an event that was just stored. */
  keep(event: SluiceEvent): void {
    this.#opened.set(cacheKey(event.workspace_id, event.id), event);
  }

  /** Drops kept copies of events that were erased. */
  forget(wsId: string, ids: readonly string[]): void {
    for (const id of ids) this.#opened.delete(cacheKey(wsId, id));
  }

  /** The events of `ids` that are still stored, in the order of `ids`. */
  async load(wsId: string, ids: readonly string[]): Promise<SluiceEvent[]> {
    const kept = new Map<string, SluiceEvent>();
    const missing: string[] = [];
    for (const id of ids) {
      const event = this.#opened.get(cacheKey(wsId, id));
      if (event) kept.set(id, event);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const sealed = await readByIds<SealedEvent>(this.#kv, missing, {
        prefix: eventPrefix(wsId),
      });
      for (const [id, value] of sealed) {
        const event = openEvent(value, this.#sealer);
        this.#opened.set(cacheKey(wsId, id), event);
        kept.set(id, event);
      }
    }
    const events: SluiceEvent[] = [];
    for (const id of ids) {
      const event = kept.get(id);
      if (event) events.push(event);
    }
    return events;
  }
}

function cacheKey(wsId: string, id: string): string {
  return `${wsId}\u0000${id}`;
}
