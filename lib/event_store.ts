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

/** How long a workspace keeps events, ms; undefined when the workspace is gone. */
export type RetentionOf = (wsId: string) => Promise<number | undefined>;

/**
 * Whether an event is past its retention: received `retentionMs` or longer ago. KV's
 * `expireIn` deletes lazily, so reads check this as well.
 */
export function isPastRetention(
  event: Pick<SluiceEvent, "received_at">,
  retentionMs: number,
  now: number,
): boolean {
  return event.received_at + retentionMs <= now;
}

/**
 * Reads and lists a workspace's stored events. With `retentionOf`, an event past the
 * workspace's retention is not returned, although KV may not have deleted it yet.
 */
export class EventStore {
  readonly #kv: Deno.Kv;
  readonly #retentionOf?: RetentionOf;
  /** Opens and seals this instance's stored events. */
  readonly sealer: Sealer;

  constructor(kv: Deno.Kv, sealer: Sealer, options: { retentionOf?: RetentionOf } = {}) {
    this.#kv = kv;
    this.sealer = sealer;
    this.#retentionOf = options.retentionOf;
  }

  /** The test that hides events past the workspace's retention (none without `retentionOf`). */
  async #visible(wsId: string): Promise<(event: SluiceEvent) => boolean> {
    const retentionMs = await this.#retentionOf?.(wsId);
    if (retentionMs === undefined) return () => true;
    const now = Date.now();
    return (event) => !isPastRetention(event, retentionMs, now);
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
    if (!(await this.#visible(wsId))(view.event)) return null;
    if (handoff.value) view.handed_off_at = handoff.value.at;
    return view;
  }

  /** Newest-first page of events; `cursor` continues a previous page. */
  async list(
    wsId: string,
    options: {
      limit: number;
      cursor?: string;
      filter?: (event: SluiceEvent) => boolean | Promise<boolean>;
    },
  ): Promise<{ data: SluiceEvent[]; next_cursor: string | null }> {
    const visible = await this.#visible(wsId);
    return await listPage<SealedEvent, SluiceEvent>(this.#kv, eventPrefix(wsId), {
      limit: options.limit,
      cursor: options.cursor,
      select: async (sealed) => {
        const event = openEvent(sealed, this.sealer);
        if (!visible(event)) return undefined;
        return !options.filter || await options.filter(event) ? event : undefined;
      },
    });
  }
}
