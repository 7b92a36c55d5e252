/**
 * `POST /v1/deliveries/retry`: find the deliveries of a workspace in a time range that stand
 * in some statuses (e.g. everything a paused destination skipped or failed), for a resend.
 *
 * @module
 */
import { encodeTime } from "ulid";
import { deliveryPrefix, handoffPrefix } from "../kv/keys.ts";
import { type DeliveryRow, type DeliveryStatus, type RoutedHandoff, routeRow } from "./rows.ts";

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

/** The ULID bounds of events received in [start, end]. */
function ulidRange(prefix: readonly string[], start: number, end: number) {
  return {
    start: [...prefix, encodeTime(Math.max(0, start), 10)],
    end: [...prefix, `${encodeTime(Math.max(0, end), 10)}\u{10FFFF}`],
  };
}

/**
 * The deliveries in `filter`, read from the rows written after an answer and from the routes
 * fan-out keeps until then (pending and skipped deliveries have no row yet). A row, once
 * written, speaks for its route. Answers whether the search stopped at {@link MAX_SCANNED}.
 */
export async function findDeliveries(
  kv: Deno.Kv,
  wsId: string,
  filter: DeliveryFilter,
): Promise<{ matches: DeliveryMatches; truncated: boolean }> {
  const wanted = new Set(filter.statuses);
  const matches: DeliveryMatches = new Map();
  const answered = new Set<string>();
  let scanned = 0;
  const add = (ulid: string, row: DeliveryRow) => {
    if (filter.destinationId && row.platform_id !== filter.destinationId) return;
    answered.add(`${ulid}|${row.platform_id}`);
    if (!wanted.has(row.status)) return;
    const destinations = matches.get(ulid) ?? new Map<string, string>();
    destinations.set(row.platform_id, row.event_name);
    matches.set(ulid, destinations);
  };
  const rows = kv.list<DeliveryRow>(ulidRange(deliveryPrefix(wsId), filter.start, filter.end));
  for await (const entry of rows) {
    if (++scanned > MAX_SCANNED) return { matches, truncated: true };
    add(String(entry.key[2]), entry.value);
  }
  const handoffs = kv.list<RoutedHandoff>(
    ulidRange(handoffPrefix(wsId), filter.start, filter.end),
  );
  for await (const entry of handoffs) {
    if (++scanned > MAX_SCANNED) return { matches, truncated: true };
    const ulid = String(entry.key[2]);
    for (const [destinationId, route] of Object.entries(entry.value.routes ?? {})) {
      if (answered.has(`${ulid}|${destinationId}`)) continue;
      add(ulid, routeRow(destinationId, route, entry.value.at));
    }
  }
  return { matches, truncated: false };
}
