/**
 * How deliveries went per destination over a span, for the dashboard's overview: delivered,
 * failed, skipped and pending counts, delivered and failed per bucket (the sparkline), and
 * the average and p95 accept→delivery latency. Read from the analytics counters (the `dst` and `lat`
 * families, docs/analytics.md): two range scans whose size is buckets × destinations × states,
 * whatever the number of events. Each bucket's counts are those `GET /v1/analytics/coverage`
 * answers for that bucket's span, summed over event names.
 *
 * @module
 */
import { DAY_MS, FAMILY, HOUR_MS } from "../analytics/counters.ts";
import { isUtcDay, type Span } from "../analytics/range.ts";
import { CounterReader, type Totals } from "../analytics/reader.ts";
import { dimParts, type ReportContext } from "../analytics/report.ts";
import { LatencyTally } from "../analytics/latency.ts";

/** One destination's deliveries over a span. */
export interface DestinationCounts {
  /** Delivered or accepted by the platform. */
  delivered: number;
  failed: number;
  skipped: number;
  /** Not answered yet, or waiting to retry. */
  pending: number;
  /** Delivered (or accepted) and failed per bucket, in the buckets' order. */
  series: { delivered: number[]; failed: number[] };
  /** Average accept→delivery latency of first deliveries, ms; null without any. */
  average_latency_ms: number | null;
  /** Their p95, from the destination's latency histogram; null without any. */
  p95_latency_ms: number | null;
}

/**
 * What the overview reads: counts per destination id over the context's span, cut into
 * `buckets` (consecutive spans of whole UTC hours covering it).
 */
export type DeliveryCountsSource = (
  ctx: ReportContext,
  buckets: readonly Span[],
) => Promise<Map<string, DestinationCounts>>;

const NONE: Totals = new Map();

/** Counts from the analytics counters (`dst` states, `lat` sums), per destination. */
export const counterCounts: DeliveryCountsSource = async (ctx, buckets) => {
  const counts = new Map<string, DestinationCounts>();
  const first = buckets[0];
  const last = buckets.at(-1);
  if (!first || !last) return counts;
  const reader = new CounterReader(ctx.kv, ctx.wsId);
  // Buckets that are whole UTC days read day counters; any other, hours.
  const grain = buckets.every(isUtcDay) ? "d" : "h";
  const hull = { start: first.start, end: last.end };
  const [states, latency] = await Promise.all([
    reader.series(FAMILY.destinations, grain, hull),
    reader.series(FAMILY.latency, grain, hull),
  ]);
  const of = (id: string) => {
    let found = counts.get(id);
    if (!found) {
      found = {
        delivered: 0,
        failed: 0,
        skipped: 0,
        pending: 0,
        series: { delivered: buckets.map(() => 0), failed: buckets.map(() => 0) },
        average_latency_ms: null,
        p95_latency_ms: null,
      };
      counts.set(id, found);
    }
    return found;
  };
  const width = grain === "d" ? DAY_MS : HOUR_MS;
  const latencies = new LatencyTally();
  buckets.forEach((bucket, i) => {
    for (let at = bucket.start; at < bucket.end; at += width) {
      for (const [dim, n] of states.get(at) ?? NONE) {
        const [dest = "", state = ""] = dimParts(dim);
        const c = of(dest);
        if (state === "delivered" || state === "accepted") {
          c.delivered += n;
          c.series.delivered[i]! += n;
        } else if (state === "failed") {
          c.failed += n;
          c.series.failed[i]! += n;
        } else if (state === "skipped") c.skipped += n;
        else if (state === "pending" || state === "retrying") c.pending += n;
      }
      for (const [dim, n] of latency.get(at) ?? NONE) latencies.add(dim, n);
    }
  });
  for (const [dest, { average_ms, p95_ms }] of latencies.results()) {
    const c = of(dest);
    c.average_latency_ms = average_ms;
    c.p95_latency_ms = p95_ms;
  }
  return counts;
};
