/**
 * `GET /v1/deliveries/summary`: how each destination did over a time range. A capped scan of
 * the delivery rows and routes of the events in the range ({@linkcode scanDeliveryRows}); the
 * analytics counters can answer the counts in O(buckets) once they exist.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { PLATFORM_TYPES } from "../../connectors/mod.ts";
import type { Destination } from "./destinations.ts";
import type { DeliveryRow, DeliveryStatus } from "./rows.ts";
import { REPORT_MAX_SCANNED, scanDeliveryRows, type ScanRange } from "./row_scan.ts";

const count = z.number().int();
const countsSchema = z.object(
  {
    pending: count,
    delivered: count,
    accepted: count,
    retrying: count,
    failed: count,
    skipped: count,
  } satisfies Record<DeliveryStatus, z.ZodNumber>,
).openapi("DeliveryCounts");

/** Deliveries by status. */
type Counts = z.output<typeof countsSchema>;

/** One destination's deliveries over the range, as the API answers them. */
export const destinationSummarySchema = z.object({
  platform_id: z.string(),
  type: z.enum(PLATFORM_TYPES),
  name: z.string().nullable().openapi({
    description: "The platform's name; null when it was deleted since",
  }),
  counts: countsSchema,
  total: z.number().int(),
  p95_latency_ms: z.number().nullable().openapi({
    description: "95th percentile of the platform's answer times (rows with an answer); " +
      "null without any",
  }),
  last_error: z.string().nullable().openapi({
    description: "The newest reason a delivery failed or is being retried; null without any",
  }),
  last_error_at: z.string().nullable(),
}).openapi("DestinationDeliverySummary");

/** One destination's deliveries over the range. */
export type DestinationSummary = z.output<typeof destinationSummarySchema>;

/** The answer of `GET /v1/deliveries/summary`. */
export const deliverySummarySchema = z.object({
  data: z.array(destinationSummarySchema).openapi({
    description: "Every platform of the workspace (zeros when idle), then deleted platforms " +
      "that still have deliveries in the range",
  }),
  truncated: z.boolean().openapi({
    description: `The scan stopped after ${REPORT_MAX_SCANNED.toLocaleString("en")} ` +
      "deliveries: the counts cover events received from `covered_from` on",
  }),
  start: z.string(),
  end: z.string(),
  covered_from: z.string().openapi({
    description: "The counts cover events received from then to `end` (`start` unless truncated)",
  }),
}).openapi("DeliverySummary");

/** The answer of `GET /v1/deliveries/summary`. */
export type DeliverySummary = z.output<typeof deliverySummarySchema>;

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of `values`, or null when there are none.
 * Sorts `values` in place.
 */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return values[Math.max(0, Math.ceil((p / 100) * values.length) - 1)] ?? null;
}

/** One destination's tally while the scan runs. */
interface Tally {
  type: DeliveryRow["type"];
  counts: Counts;
  latencies: number[];
  lastError?: { reason: string; at: string };
}

function emptyCounts(): Counts {
  return { pending: 0, delivered: 0, accepted: 0, retrying: 0, failed: 0, skipped: 0 };
}

/**
 * Per destination, the deliveries of the events received in `range`: counts by status, the
 * 95th percentile latency of answered rows, and the newest failure or retry reason.
 */
export async function deliverySummary(
  kv: Deno.Kv,
  wsId: string,
  destinations: readonly Destination[],
  range: ScanRange & { maxScanned?: number },
): Promise<DeliverySummary> {
  const tallies = new Map<string, Tally>(
    destinations.map((d) => [d.id, { type: d.type, counts: emptyCounts(), latencies: [] }]),
  );
  const scan = await scanDeliveryRows(kv, wsId, range, (_, rows) => {
    for (const row of rows) {
      let tally = tallies.get(row.platform_id);
      if (!tally) {
        tally = { type: row.type, counts: emptyCounts(), latencies: [] };
        tallies.set(row.platform_id, tally);
      }
      tally.counts[row.status]++;
      if (row.latency_ms !== undefined) tally.latencies.push(row.latency_ms);
      const erred = row.status === "failed" || row.status === "retrying";
      if (erred && row.last_error && !(tally.lastError && tally.lastError.at >= row.updated_at)) {
        tally.lastError = { reason: row.last_error, at: row.updated_at };
      }
    }
  }, range.maxScanned);
  const names = new Map(destinations.map((d) => [d.id, d.name]));
  return {
    data: [...tallies].map(([id, tally]) => ({
      platform_id: id,
      type: tally.type,
      name: names.get(id) ?? null,
      counts: tally.counts,
      total: Object.values(tally.counts).reduce((sum, n) => sum + n, 0),
      p95_latency_ms: percentile(tally.latencies, 95),
      last_error: tally.lastError?.reason ?? null,
      last_error_at: tally.lastError?.at ?? null,
    })),
    truncated: scan.truncated,
    start: new Date(range.start).toISOString(),
    end: new Date(range.end).toISOString(),
    covered_from: new Date(scan.coveredFrom).toISOString(),
  };
}
