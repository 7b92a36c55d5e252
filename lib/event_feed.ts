/**
 * The live feed's read: the events stored after a given one, oldest first. One range read
 * that starts at the last event seen, so a poll that finds nothing new costs a single
 * empty read, and ingest pays nothing for the live view.
 *
 * @module
 */
import type { SluiceEvent } from "../core/event.ts";
import type { Sealer } from "./crypto.ts";
import { openEvent, type SealedEvent } from "./event_store.ts";
import { eventKey, eventPrefix } from "./kv/keys.ts";

/** Most events one read returns. */
export const FEED_MAX = 100;

/**
 * Events stored after `afterUlid`, oldest first, at most `limit`; without `afterUlid`, the
 * newest `limit`.
 */
export async function eventsAfter(
  kv: Deno.Kv,
  sealer: Sealer,
  wsId: string,
  afterUlid: string | undefined,
  limit = FEED_MAX,
): Promise<SluiceEvent[]> {
  const count = Math.max(1, Math.min(limit, FEED_MAX));
  const found: SluiceEvent[] = [];
  if (afterUlid === undefined) {
    for await (
      const entry of kv.list<SealedEvent>({ prefix: eventPrefix(wsId) }, {
        reverse: true,
        limit: count,
      })
    ) {
      found.push(openEvent(entry.value, sealer));
    }
    return found.reverse();
  }
  const iter = kv.list<SealedEvent>(
    { prefix: eventPrefix(wsId), start: eventKey(wsId, afterUlid) },
    { limit: count + 1 },
  );
  for await (const entry of iter) {
    if (entry.key[2] === afterUlid) continue;
    found.push(openEvent(entry.value, sealer));
    if (found.length >= count) break;
  }
  return found;
}
