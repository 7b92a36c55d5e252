/**
 * How deliveries went per destination over a time range, for the dashboard's overview:
 * delivered, failed, skipped and pending (pending, accepted and retrying) counts, and the
 * newest error. Read from the delivery rows and hand-off routes of the events in the range
 * (two range reads, capped), behind {@linkcode DeliveryCountsSource} so the overview can be
 * pointed at the analytics counters once they exist.
 *
 * @module
 */
import { encodeTime } from "ulid";
import { deliveryKey, deliveryPrefix, handoffKey, handoffPrefix } from "../kv/keys.ts";
import type { DeliveryRow, RoutedHandoff } from "./rows.ts";

/** One destination's counts. */
export interface DestinationCounts {
  delivered: number;
  failed: number;
  skipped: number;
  /** Pending, accepted (awaiting the platform's follow-up) and retrying. */
  pending: number;
  /** The newest failure's reason, and when. */
  last_error?: { reason: string; at: string };
}

/** What the overview reads: counts per destination id since `since` (epoch ms). */
export type DeliveryCountsSource = (
  wsId: string,
  since: number,
) => Promise<{ counts: Map<string, DestinationCounts>; complete: boolean }>;

/** Most entries one count reads from each range. */
const MAX_ENTRIES = 20_000;

function emptyCounts(): DestinationCounts {
  return { delivered: 0, failed: 0, skipped: 0, pending: 0 };
}

/** Counts from the delivery rows and hand-off routes of events stored since `since`. */
export function rowCounts(kv: Deno.Kv): DeliveryCountsSource {
  return async (wsId, since) => {
    const from = encodeTime(Math.max(0, since), 10);
    const counts = new Map<string, DestinationCounts>();
    const of = (id: string) => {
      let found = counts.get(id);
      if (!found) counts.set(id, found = emptyCounts());
      return found;
    };
    let complete = true;
    const answered = new Set<string>();
    let read = 0;
    for await (
      const entry of kv.list<DeliveryRow>({
        prefix: deliveryPrefix(wsId),
        start: deliveryKey(wsId, from, ""),
      })
    ) {
      if (++read > MAX_ENTRIES) {
        complete = false;
        break;
      }
      const row = entry.value;
      answered.add(`${String(entry.key[2])}/${row.platform_id}`);
      const c = of(row.platform_id);
      if (row.status === "delivered") c.delivered++;
      else if (row.status === "failed") c.failed++;
      else if (row.status === "skipped") c.skipped++;
      else c.pending++;
      if (row.status === "failed" && row.last_error) {
        if (!c.last_error || c.last_error.at < row.updated_at) {
          c.last_error = { reason: row.last_error, at: row.updated_at };
        }
      }
    }
    read = 0;
    for await (
      const entry of kv.list<RoutedHandoff>({
        prefix: handoffPrefix(wsId),
        start: handoffKey(wsId, from),
      })
    ) {
      if (++read > MAX_ENTRIES) {
        complete = false;
        break;
      }
      for (const [destinationId, route] of Object.entries(entry.value.routes ?? {})) {
        if (answered.has(`${String(entry.key[2])}/${destinationId}`)) continue;
        if (route.skipped === undefined) of(destinationId).pending++;
        else of(destinationId).skipped++;
      }
    }
    return { counts, complete };
  };
}
