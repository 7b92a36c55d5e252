/**
 * The search box's index: every stored event is findable by its order id, email, click ids
 * and customer id through `["find", ws, hash, ulid]` → event id, where the hash is a SHA-256
 * of the workspace and the value (trimmed, lower-cased), so no value is kept in clear. The
 * entries ride in the event's own ingest commit and expire with it; erasure deletes them with
 * the person's events. A search hashes what was typed and lists that hash's entries, newest
 * first: one read, whatever the number of events.
 *
 * @module
 */
import { sha256Hex } from "../core/digest.ts";
import type { SluiceEvent } from "../core/event.ts";
import type { SideWrite } from "./ingest/group_commit.ts";
import { eventLookupKey, eventLookupPrefix } from "./kv/keys.ts";

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

/** The index entries an accepted event writes in its commit, kept as long as the event. */
export function lookupWrites(event: SluiceEvent, retentionMs: number): SideWrite[] {
  return lookupKeysOf(event).map((key) => ({
    key,
    value: event.event_id,
    bytes: event.event_id.length + 4,
    expireIn: retentionMs,
  }));
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
