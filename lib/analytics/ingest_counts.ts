/**
 * The counters the ingest group commit sums: volume (events by name and source, with day
 * rollups), browser/server pairs among duplicates, and rejected fields. Pure sums: the
 * ingest commit reads nothing for them. (Revenue is counted at fan-out, once per order.)
 *
 * @module
 */
import type { SluiceEvent } from "../../core/event.ts";
import type { FieldError } from "../../core/field_error.ts";
import type { EventIdEntry } from "../event_store.ts";
import { issueExampleKey } from "../kv/keys.ts";
import type { CounterBatch } from "./counters.ts";
import { type Origin, originOf } from "./labels.ts";
import { type IssueExample, issueExample } from "./examples.ts";

/** The event-id entry with the origin of the copy that was stored (for pair counting). */
export interface TaggedEventIdEntry extends EventIdEntry {
  origin?: Origin;
}

/** The counters of one accepted event: volume by name and source. */
export function countVolume(
  batch: CounterBatch,
  event: Pick<SluiceEvent, "workspace_id" | "received_at" | "event_name" | "source">,
): void {
  const { workspace_id: wsId, received_at: at } = event;
  batch.add(wsId, at, "events", "", 1);
  batch.add(wsId, at, "events_by_name", event.event_name, 1);
  batch.add(wsId, at, "events_by_source", event.source, 1);
}

/**
 * The pair dimension of a duplicate event id: the stored copy's origin and the repeat's
 * (`event_id|browser>server`); undefined when both came from the same side, or the stored
 * entry predates origin tags.
 */
export function duplicatePair(
  stored: Origin | undefined,
  repeat: Pick<SluiceEvent, "dialect">,
): string | undefined {
  const origin = originOf(repeat);
  return stored === undefined || stored === origin ? undefined : `event_id|${stored}>${origin}`;
}

/** Longest field path kept as a label. */
const FIELD_CHARS = 60;

/**
 * A rejected field's path as a label: batch positions and array indexes dropped
 * (`events.3.user_data.email` → `user_data.email`), only `[a-z0-9_.]` kept.
 */
export function fieldLabel(path: string): string {
  const label = path.split(".").filter((part) => part !== "" && !/^\d+$/.test(part))
    .filter((part, i) => !(i === 0 && (part === "events" || part === "batch")))
    .join(".").toLowerCase().replace(/[^a-z0-9_.]/g, "").slice(0, FIELD_CHARS);
  return label === "" ? "(body)" : label;
}

/** The example record of a rejected event's first bad field: its key, value and field label. */
export function rejectionExample(
  wsId: string,
  eventId: string | undefined,
  error: FieldError,
  at: number,
): { key: Deno.KvKey; field: string; example: IssueExample } {
  const field = fieldLabel(error.path);
  return {
    key: issueExampleKey(wsId, "ingest", field),
    field,
    example: issueExample(eventId, error.message, at),
  };
}
