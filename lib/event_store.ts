import { listPage } from "./kv/page.ts";
import { Sealer } from "./crypto.ts";
import type { SluiceEvent } from "../core/event.ts";
import { eventIdKey, eventKey, eventPrefix, handoffKey } from "./kv/keys.ts";

/**
 * An event as kept in KV: its JSON sealed with AES-256-GCM (iv ‖ ciphertext ‖ tag), so
 * PII is encrypted at rest; stored as bytes, which KV writes without V8 serialisation.
 */
export type SealedEvent = Uint8Array;

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

/** The sealer of stored events, keyed from the master secret. */
export function eventSealer(masterSecret: string): Sealer {
  return new Sealer(masterSecret, "event");
}

/** Seals an event, given as its JSON, for storage. */
export function sealEvent(eventJson: string, sealer: Sealer): SealedEvent {
  return sealer.sealBytes(eventJson);
}

/** Opens a stored event. */
export function openEvent(sealed: SealedEvent, sealer: Sealer): SluiceEvent {
  return JSON.parse(sealer.openBytes(sealed));
}

/** An event with what Sluice knows of its way through. */
export interface EventView {
  event: SluiceEvent;
  handed_off_at?: number;
}

/** Reads and lists a workspace's stored events. */
export class EventStore {
  readonly #kv: Deno.Kv;
  /** Opens and seals this instance's stored events. */
  readonly sealer: Sealer;

  constructor(kv: Deno.Kv, sealer: Sealer) {
    this.#kv = kv;
    this.sealer = sealer;
  }

  /** The newest event stored under a sender's event id, or null. */
  async getByEventId(wsId: string, eventId: string): Promise<EventView | null> {
    const entry = await this.#kv.get<EventIdEntry>(eventIdKey(wsId, eventId));
    return entry.value ? await this.getByUlid(wsId, entry.value.ulid) : null;
  }

  /** One event by storage id, or null. */
  async getByUlid(wsId: string, ulid: string): Promise<EventView | null> {
    const [stored, handoff] = await this.#kv.getMany<[SealedEvent, HandoffRecord]>([
      eventKey(wsId, ulid),
      handoffKey(wsId, ulid),
    ]);
    if (!stored.value) return null;
    const view: EventView = { event: openEvent(stored.value, this.sealer) };
    if (handoff.value) view.handed_off_at = handoff.value.at;
    return view;
  }

  /** Newest-first page of events; `cursor` continues a previous page. */
  list(
    wsId: string,
    options: {
      limit: number;
      cursor?: string;
      filter?: (event: SluiceEvent) => boolean | Promise<boolean>;
    },
  ): Promise<{ data: SluiceEvent[]; next_cursor: string | null }> {
    return listPage<SealedEvent, SluiceEvent>(this.#kv, eventPrefix(wsId), {
      limit: options.limit,
      cursor: options.cursor,
      select: async (sealed) => {
        const event = openEvent(sealed, this.sealer);
        return !options.filter || await options.filter(event) ? event : undefined;
      },
    });
  }
}
