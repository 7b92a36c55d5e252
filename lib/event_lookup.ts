/**
 * The search box's index: every stored event is findable by its order id, email, click ids
 * and customer id through `["find", ws, hash, ulid]` → event id, where the hash is a SHA-256
 * of the workspace and the value (trimmed, lower-cased), so no value is kept in clear. Fan-out
 * writes the entries in its commits (off the ingest path: random hash keys cost the ingest
 * commit a quarter of its throughput), so an event is findable once fan-out took it, usually
 * within a second; they expire with the event, and erasure deletes them with the person's
 * events. A search hashes what was typed and lists that hash's entries, newest first: one
 * read, whatever the number of events.
 *
 * @module
 */
import { sha256Hex } from "../core/digest.ts";
import type { SluiceEvent } from "../core/event.ts";
import type { Sealer } from "./crypto.ts";
import { openEvent, type SealedEvent } from "./event_store.ts";
import { eventLookupKey, eventLookupPrefix, eventPrefix } from "./kv/keys.ts";

/** Longest value indexed (ids and emails are shorter; longer text is not a search term). */
const MAX_TERM_LENGTH = 200;

/** A search term as indexed and as looked up: trimmed and lower-cased. */
function termOf(value: string): string {
  return value.trim().toLowerCase();
}

/** The hash a term is indexed under in a workspace. */
export function lookupHash(wsId: string, value: string): string {
  return sha256Hex(`${wsId}\u0000${termOf(value)}`).slice(0, 32);
}

/** The values an event is found by: its order id, email, click ids and customer id. */
export function lookupValues(
  event: Pick<SluiceEvent, "order_id" | "user_data">,
): string[] {
  const u = event.user_data;
  const values = [event.order_id, u.email, u.customer_id, ...Object.values(u.click_ids ?? {})];
  const terms = new Set<string>();
  for (const value of values) {
    if (typeof value !== "string") continue;
    const term = termOf(value);
    if (term !== "" && term.length <= MAX_TERM_LENGTH) terms.add(term);
  }
  return [...terms];
}

/** The index keys of a stored event. */
export function lookupKeysOf(
  event: Pick<SluiceEvent, "workspace_id" | "id" | "order_id" | "user_data">,
): Deno.KvKey[] {
  return lookupValues(event).map((term) =>
    eventLookupKey(event.workspace_id, lookupHash(event.workspace_id, term), event.id)
  );
}

/** One index entry to set: the event id under a value's hash, until the event's retention ends. */
export interface LookupEntry {
  key: Deno.KvKey;
  eventId: string;
  expireIn: number;
}

/**
 * The index entries of events reaching fan-out, each kept until its event's retention ends
 * (`retentionMs` after it was received); events already past it get none.
 */
export function lookupEntries(
  events: readonly SluiceEvent[],
  retentionMs: number,
  now: number,
): LookupEntry[] {
  return events.flatMap((event) => {
    const expireIn = event.received_at + retentionMs - now;
    if (expireIn <= 0) return [];
    return lookupKeysOf(event).map((key) => ({ key, eventId: event.event_id, expireIn }));
  });
}

/** One indexed event: its storage id and the sender's event id. */
export interface LookupHit {
  ulid: string;
  event_id: string;
}

/** The newest events indexed under `value` (at most `limit`), newest first. */
export async function lookUp(
  kv: Deno.Kv,
  wsId: string,
  value: string,
  limit: number,
): Promise<LookupHit[]> {
  const term = termOf(value);
  if (term === "" || term.length > MAX_TERM_LENGTH) return [];
  const hits: LookupHit[] = [];
  const entries = kv.list<string>(
    { prefix: eventLookupPrefix(wsId, lookupHash(wsId, term)) },
    { limit, reverse: true },
  );
  for await (const { key, value: eventId } of entries) {
    hits.push({ ulid: String(key.at(-1)), event_id: eventId });
  }
  return hits;
}

/**
 * Indexes a workspace's stored events again (those stored before fan-out indexed them, or
 * after a restore from elsewhere): opens each event and sets its entries, `perCommit` at a
 * time. Setting an entry twice changes nothing. An event that cannot be opened (sealed under a
 * secret this instance lacks) is counted and skipped. Answers what it saw.
 */
export async function reindexWorkspace(
  kv: Deno.Kv,
  sealer: Sealer,
  wsId: string,
  options: { retentionMs: number; perCommit: number; now?: number },
): Promise<{ events: number; entries: number; unreadable: number }> {
  const now = options.now ?? Date.now();
  let events = 0;
  let entries = 0;
  let unreadable = 0;
  let pending: LookupEntry[] = [];
  const flush = async () => {
    const op = kv.atomic();
    for (const { key, eventId, expireIn } of pending) op.set(key, eventId, { expireIn });
    if (!(await op.commit()).ok) throw new Error(`Cannot index the events of ${wsId}`);
    entries += pending.length;
    pending = [];
  };
  for await (const { value } of kv.list<SealedEvent>({ prefix: eventPrefix(wsId) })) {
    events++;
    let event: SluiceEvent;
    try {
      event = openEvent(value, sealer);
    } catch {
      unreadable++;
      continue;
    }
    pending.push(...lookupEntries([event], options.retentionMs, now));
    if (pending.length >= options.perCommit) await flush();
  }
  if (pending.length) await flush();
  return { events, entries, unreadable };
}
