/**
 * Every delivery of a workspace's events in a time range, newest event first, for the
 * dashboard's reports (`GET /v1/deliveries/failures`, `GET /v1/deliveries/summary`): the rows
 * written after an answer merged with the routes fan-out keeps until then (pending and
 * skipped deliveries have no row yet). Two reverse range reads walked side by side, so only
 * one event's rows are held at a time; capped, so a request stays bounded.
 *
 * @module
 */
import { decodeTime, encodeTime } from "ulid";
import { deliveryPrefix, handoffPrefix } from "../kv/keys.ts";
import { type DeliveryRow, type RoutedHandoff, routeRow } from "./rows.ts";

/** Events received in [start, end], epoch ms. */
export interface ScanRange {
  start: number;
  end: number;
}

/** How far a scan got. */
export interface ScanResult {
  /** Rows and hand-off records read. */
  scanned: number;
  /** The scan stopped at its cap before the start of the range. */
  truncated: boolean;
  /**
   * Epoch ms: the scan saw every delivery of the events received from then to the range's
   * end. The range's start, unless truncated.
   */
  coveredFrom: number;
}

/** Most rows and hand-off records one report reads unless told otherwise. */
export const REPORT_MAX_SCANNED = 50_000;

const BATCH_SIZE = 500;

/** The ULID bounds of events received in [start, end]. */
function ulidRange(prefix: readonly string[], range: ScanRange) {
  return {
    start: [...prefix, encodeTime(Math.max(0, range.start), 10)],
    end: [...prefix, `${encodeTime(Math.max(0, range.end), 10)}\u{10FFFF}`],
  };
}

/**
 * Calls `visit` with each event's deliveries (storage id, rows by destination), newest event
 * first, for the events received in `range`. A row, once written, speaks for its route.
 * Stops after `maxScanned` entries; the event it stopped in is left out.
 */
export async function scanDeliveryRows(
  kv: Deno.Kv,
  wsId: string,
  range: ScanRange,
  visit: (ulid: string, rows: DeliveryRow[]) => void,
  maxScanned: number = REPORT_MAX_SCANNED,
): Promise<ScanResult> {
  const options = { reverse: true, batchSize: BATCH_SIZE };
  const rows = kv.list<DeliveryRow>(ulidRange(deliveryPrefix(wsId), range), options);
  const handoffs = kv.list<RoutedHandoff>(ulidRange(handoffPrefix(wsId), range), options);
  let row = await rows.next();
  let handoff = await handoffs.next();
  let scanned = 0;
  let coveredFrom = range.end;
  while (!row.done || !handoff.done) {
    const rowUlid = row.done ? "" : String(row.value.key[2]);
    const handoffUlid = handoff.done ? "" : String(handoff.value.key[2]);
    const ulid = rowUlid > handoffUlid ? rowUlid : handoffUlid;
    const found = new Map<string, DeliveryRow>();
    while (!row.done && String(row.value.key[2]) === ulid) {
      if (++scanned > maxScanned) return { scanned: maxScanned, truncated: true, coveredFrom };
      found.set(row.value.value.platform_id, row.value.value);
      row = await rows.next();
    }
    if (!handoff.done && handoffUlid === ulid) {
      if (++scanned > maxScanned) return { scanned: maxScanned, truncated: true, coveredFrom };
      const { routes = {}, at } = handoff.value.value;
      for (const [destinationId, route] of Object.entries(routes)) {
        if (!found.has(destinationId)) found.set(destinationId, routeRow(destinationId, route, at));
      }
      handoff = await handoffs.next();
    }
    visit(ulid, [...found.values()]);
    coveredFrom = decodeTime(ulid);
  }
  return { scanned, truncated: false, coveredFrom: range.start };
}
