import type { Sealer } from "./crypto.ts";
import type { SluiceEvent } from "./event.ts";
import { eventIdKey, eventKey, eventPrefix, handoffKey } from "./kv_keys.ts";

/** An event as kept in KV: `user_data` sealed with AES-GCM, everything else plain. */
export type StoredEvent = Omit<SluiceEvent, "user_data"> & { user_data_sealed: string };

/** The dedup entry and lookup index of an event id. */
export interface EventIdEntry {
  /** Storage id of the event that holds this id. */
  ulid: string;
  /** Epoch ms until which the same id is a duplicate. */
  dedup_until: number;
}

/** When an event was handed to fan-out. */
export interface HandoffRecord {
  at: number;
}

/** A pagination cursor that was not issued by `EventStore.list`. */
export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    super(`Invalid cursor "${cursor.slice(0, 40)}"`);
    this.name = "InvalidCursorError";
  }
}

/** Seals an event for storage. */
export function sealEvent(event: SluiceEvent, sealer: Sealer): StoredEvent {
  const { user_data, ...rest } = event;
  return { ...rest, user_data_sealed: sealer.seal(JSON.stringify(user_data)) };
}

/** Opens a stored event. */
export function openEvent(stored: StoredEvent, sealer: Sealer): SluiceEvent {
  const { user_data_sealed, ...rest } = stored;
  return { ...rest, user_data: JSON.parse(sealer.open(user_data_sealed)) };
}

/** An event with what Sluice knows of its way through. */
export interface EventView {
  event: SluiceEvent;
  handed_off_at?: number;
}

/** Reads and lists a workspace's stored events. */
export class EventStore {
  readonly #kv: Deno.Kv;
  readonly #sealer: Sealer;

  constructor(kv: Deno.Kv, sealer: Sealer) {
    this.#kv = kv;
    this.#sealer = sealer;
  }

  /** The newest event stored under a sender's event id, or null. */
  async getByEventId(wsId: string, eventId: string): Promise<EventView | null> {
    const entry = await this.#kv.get<EventIdEntry>(eventIdKey(wsId, eventId));
    return entry.value ? await this.getByUlid(wsId, entry.value.ulid) : null;
  }

  /** One event by storage id, or null. */
  async getByUlid(wsId: string, ulid: string): Promise<EventView | null> {
    const [stored, handoff] = await this.#kv.getMany<[StoredEvent, HandoffRecord]>([
      eventKey(wsId, ulid),
      handoffKey(wsId, ulid),
    ]);
    if (!stored.value) return null;
    const view: EventView = { event: openEvent(stored.value, this.#sealer) };
    if (handoff.value) view.handed_off_at = handoff.value.at;
    return view;
  }

  /** Newest-first page of events; `cursor` continues a previous page. */
  async list(
    wsId: string,
    options: { limit: number; cursor?: string; filter?: (event: SluiceEvent) => boolean },
  ): Promise<{ data: SluiceEvent[]; next_cursor: string | null }> {
    const data: SluiceEvent[] = [];
    const iter = this.#kv.list<StoredEvent>({ prefix: eventPrefix(wsId) }, {
      reverse: true,
      cursor: options.cursor,
      batchSize: Math.min(500, options.limit * 2),
    });
    let scanned = 0;
    try {
      for await (const entry of iter) {
        const event = openEvent(entry.value, this.#sealer);
        if (!options.filter || options.filter(event)) data.push(event);
        if (data.length >= options.limit || ++scanned >= 5000) {
          return { data, next_cursor: iter.cursor || null };
        }
      }
    } catch (error) {
      if (options.cursor && scanned === 0) throw new InvalidCursorError(options.cursor);
      throw error;
    }
    return { data, next_cursor: null };
  }
}
