/**
 * `POST /v1/deliveries/retry`: find the deliveries of a workspace in a time range that stand
 * in some statuses (e.g. everything a paused destination skipped or failed), for a resend.
 *
 * @module
 */
import type { DeliveryStatus } from "./rows.ts";
import { scanDeliveryRows } from "./row_scan.ts";

/** Which deliveries to find. */
export interface DeliveryFilter {
  /** One destination, or all. */
  destinationId?: string;
  statuses: readonly DeliveryStatus[];
  /** Epoch ms; events received in [start, end]. */
  start: number;
  end: number;
}

/** Events to resend, each with the destinations (and the names to send) it failed or skipped at. */
export type DeliveryMatches = Map<string, Map<string, string>>;

/** The most rows and hand-off records one search reads, so a request stays bounded. */
export const MAX_SCANNED = 200_000;

/**
 * The deliveries in `filter`, from {@link scanDeliveryRows} (rows merged with the routes
 * fan-out keeps until the first answer). Answers whether the search stopped at
 * {@link MAX_SCANNED}; the matches then cover the newest events of the range. Oldest event
 * first, so a resend keeps the order the events came in.
 */
export async function findDeliveries(
  kv: Deno.Kv,
  wsId: string,
  filter: DeliveryFilter,
): Promise<{ matches: DeliveryMatches; truncated: boolean }> {
  const wanted = new Set(filter.statuses);
  const newestFirst: [string, Map<string, string>][] = [];
  const { truncated } = await scanDeliveryRows(kv, wsId, filter, (ulid, rows) => {
    const destinations = new Map<string, string>();
    for (const row of rows) {
      if (filter.destinationId && row.platform_id !== filter.destinationId) continue;
      if (wanted.has(row.status)) destinations.set(row.platform_id, row.event_name);
    }
    if (destinations.size > 0) newestFirst.push([ulid, destinations]);
  }, MAX_SCANNED);
  return { matches: new Map(newestFirst.reverse()), truncated };
}
