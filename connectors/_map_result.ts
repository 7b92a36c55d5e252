/**
 * Folder-private: what `map()` does alike on every platform that batches: each event mapped
 * or skipped with the reason, the mapped ones sent in batches whose requests keep their
 * events' positions, and every event skipped at once when nothing may be sent.
 *
 * @module
 */
import type { SluiceEvent } from "../core/event.ts";
import { chunk } from "./_response.ts";
import type { MapResult, OutboundRequest, SkippedEvent } from "./types.ts";

/** How `mapInBatches()` maps, batches and sends. */
export interface BatchOptions {
  /** Most events in one request. */
  size: number;
  /** One event's body, or the reason it is not sent. */
  mapEvent(event: SluiceEvent): Record<string, unknown> | string;
  /** The request carrying one batch's bodies, in order. */
  request(bodies: Record<string, unknown>[]): Omit<OutboundRequest, "eventIndexes">;
}

/**
 * Every event through `mapEvent`: those mapped to a reason skipped, the others in order, in
 * requests of at most `size` events.
 */
export function mapInBatches(events: readonly SluiceEvent[], options: BatchOptions): MapResult {
  const skipped: SkippedEvent[] = [];
  const ready: { index: number; body: Record<string, unknown> }[] = [];
  events.forEach((event, index) => {
    const mapped = options.mapEvent(event);
    if (typeof mapped === "string") skipped.push({ index, reason: mapped });
    else ready.push({ index, body: mapped });
  });
  const requests = chunk(ready, options.size).map((batch) => ({
    ...options.request(batch.map((e) => e.body)),
    eventIndexes: batch.map((e) => e.index),
  }));
  return { requests, skipped };
}

/** Nothing sent: every event skipped for `reason`. */
export function skipAll(events: readonly SluiceEvent[], reason: string): MapResult {
  return { requests: [], skipped: events.map((_, index) => ({ index, reason })) };
}
