/**
 * Folder-private: what `map()` does alike on every platform that batches: each event mapped
 * or skipped with the reason, the mapped ones cut into batches that keep their events'
 * positions, and every event skipped at once when nothing may be sent.
 *
 * @module
 */
import type { SluiceEvent } from "../core/event.ts";
import { chunk } from "./_response.ts";
import type { MapResult, SkippedEvent } from "./types.ts";

/** The mapped bodies one request carries, and their events' positions in `map()`'s input. */
export interface EventBatch {
  bodies: Record<string, unknown>[];
  eventIndexes: number[];
}

/** How `batchEvents()` maps and batches. */
export interface BatchOptions {
  /** Most events in one batch. */
  size: number;
  /** One event's body, or the reason it is not sent. */
  mapEvent(event: SluiceEvent): Record<string, unknown> | string;
}

/** Every event through `mapEvent`; the mapped ones in order, in batches of at most `size`. */
export function batchEvents(
  events: readonly SluiceEvent[],
  options: BatchOptions,
): { batches: EventBatch[]; skipped: SkippedEvent[] } {
  const skipped: SkippedEvent[] = [];
  const ready: { index: number; body: Record<string, unknown> }[] = [];
  events.forEach((event, index) => {
    const mapped = options.mapEvent(event);
    if (typeof mapped === "string") skipped.push({ index, reason: mapped });
    else ready.push({ index, body: mapped });
  });
  const batches = chunk(ready, options.size).map((batch) => ({
    bodies: batch.map((e) => e.body),
    eventIndexes: batch.map((e) => e.index),
  }));
  return { batches, skipped };
}

/** Nothing sent: every event skipped for `reason`. */
export function skipAll(events: readonly SluiceEvent[], reason: string): MapResult {
  return { requests: [], skipped: events.map((_, index) => ({ index, reason })) };
}
