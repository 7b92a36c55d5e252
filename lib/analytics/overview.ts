/**
 * `GET /v1/analytics/overview`: did the events arrive, did the platforms take them, what
 * came in, and how fast: each against the previous span of the same length.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { FAMILY } from "./counters.ts";
import {
  type DestinationLatency,
  LATENCY_BOUNDS_MS,
  LatencyTally,
  percentileMs,
} from "./latency.ts";
import { fromMinorUnits } from "./money.ts";
import { bucketPlan, previousSpan } from "./range.ts";
import { type CounterReader, type Totals, volumeDim } from "./reader.ts";
import {
  change,
  changeSchema,
  dimParts,
  percentChange,
  rangeInfo,
  rangeInfoSchema,
  readerOf,
  type ReportContext,
  round,
  share,
  spanInfo,
} from "./report.ts";
import type { BucketPlan } from "./range.ts";

/** The overview. */
export const overviewSchema = z.object({
  range: rangeInfoSchema,
  previous: z.object({ start: z.string(), end: z.string() }).openapi({
    description: "The span of the same length just before, that changes compare with",
  }),
  events: changeSchema.openapi({ description: "Events accepted (duplicates not counted)" }),
  duplicates: changeSchema,
  rejected: changeSchema,
  deliveries: z.object({
    delivered: z.number().int().openapi({ description: "Delivered or accepted by the platform" }),
    failed: z.number().int(),
    skipped: z.number().int(),
    pending: z.number().int().openapi({ description: "Not sent yet, or waiting to retry" }),
    retries: z.number().int().openapi({ description: "Attempts that were retried" }),
    rate: z.number().nullable().openapi({
      description: "delivered / (delivered + failed), 0–1; null before any answer",
    }),
    previous_rate: z.number().nullable(),
    change_pts: z.number().nullable().openapi({
      description: "Change of the rate against the previous span, percentage points",
    }),
  }).openapi("OverviewDeliveries"),
  failed: changeSchema.openapi({ description: "Deliveries that failed" }),
  revenue: z.array(z.object({
    currency: z.string(),
    amount: z.number().openapi({ description: "Purchase value in the currency's major unit" }),
    purchases: z.number().int(),
    previous_amount: z.number(),
    change_pct: z.number().nullable(),
  })).openapi({ description: "Purchases with a value, per currency (never converted)" }),
  active_destinations: z.object({
    count: z.number().int(),
    previous: z.number().int(),
    ids: z.array(z.string()),
  }).openapi({ description: "Destinations that had an event routed to them (not skipped)" }),
  latency: z.object({
    average_ms: z.number().nullable(),
    p95_ms: z.number().nullable().openapi({
      description: "From the histogram, interpolated inside its bin",
    }),
    samples: z.number().int(),
    previous_average_ms: z.number().nullable(),
    previous_p95_ms: z.number().nullable(),
    destinations: z.array(z.object({
      id: z.string(),
      average_ms: z.number(),
      p95_ms: z.number().nullable().openapi({
        description: "Null when its deliveries predate the per-destination histogram",
      }),
      samples: z.number().int(),
    })).openapi({ description: "Per destination with timed deliveries in the span, by id" }),
  }).openapi({ description: "From receipt to the platform's acceptance, first deliveries only" }),
}).openapi("AnalyticsOverview", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    previous: { start: "2025-12-25T00:00:00.000Z", end: "2026-01-01T00:00:00.000Z" },
    events: { value: 1200, previous: 1000, change_pct: 20 },
    duplicates: { value: 40, previous: 30, change_pct: 33.3 },
    rejected: { value: 3, previous: 0, change_pct: null },
    deliveries: {
      delivered: 2300,
      failed: 12,
      skipped: 88,
      pending: 0,
      retries: 30,
      rate: 0.9948,
      previous_rate: 0.99,
      change_pts: 0.5,
    },
    failed: { value: 12, previous: 20, change_pct: -40 },
    revenue: [{
      currency: "EUR",
      amount: 5230.5,
      purchases: 61,
      previous_amount: 4100,
      change_pct: 27.6,
    }],
    active_destinations: { count: 2, previous: 2, ids: ["dst_…", "dst_…"] },
    latency: {
      average_ms: 640,
      p95_ms: 1800,
      samples: 2300,
      previous_average_ms: 700,
      previous_p95_ms: 2000,
      destinations: [{ id: "dst_…", average_ms: 640, p95_ms: 1800, samples: 2300 }],
    },
  },
});

/** The overview. */
export type Overview = z.output<typeof overviewSchema>;

interface PeriodFigures {
  volume: Totals;
  states: Map<string, number>;
  retries: number;
  active: string[];
  revenue: Map<string, { minor: number; purchases: number }>;
  averageMs: number | null;
  p95Ms: number | null;
  samples: number;
  byDestination: Map<string, DestinationLatency>;
}

async function figures(reader: CounterReader, plan: BucketPlan): Promise<PeriodFigures> {
  const [volume, destinations, revenue, latency] = await Promise.all([
    reader.totals("volume", plan),
    reader.totals(FAMILY.destinations, plan),
    reader.totals(FAMILY.revenue, plan),
    reader.totals(FAMILY.latency, plan),
  ]);
  const states = new Map<string, number>();
  const routed = new Set<string>();
  let retries = 0;
  for (const [dim, n] of destinations) {
    const [dest = "", state = ""] = dimParts(dim);
    if (state === "retries") retries += n;
    else states.set(state, (states.get(state) ?? 0) + n);
    if (state !== "skipped" && state !== "retries" && n > 0) routed.add(dest);
  }
  const money = new Map<string, { minor: number; purchases: number }>();
  for (const [dim, n] of revenue) {
    const [kind, currency = ""] = dimParts(dim);
    const entry = money.get(currency) ?? { minor: 0, purchases: 0 };
    if (kind === "v") entry.minor += n;
    else entry.purchases += n;
    money.set(currency, entry);
  }
  const bins = LATENCY_BOUNDS_MS.map((_, i) => latency.get(`b${i}`) ?? 0);
  bins.push(latency.get(`b${LATENCY_BOUNDS_MS.length}`) ?? 0);
  let sum = 0;
  let samples = 0;
  const byDestination = new LatencyTally();
  for (const [dim, n] of latency) {
    if (dim.startsWith("sum|")) sum += n;
    else if (dim.startsWith("n|")) samples += n;
    byDestination.add(dim, n);
  }
  return {
    volume,
    states,
    retries,
    active: [...routed].sort(),
    revenue: money,
    averageMs: samples === 0 ? null : Math.round(sum / samples),
    p95Ms: percentileMs(bins, 0.95),
    samples,
    byDestination: byDestination.results(),
  };
}

function deliveryRate(states: Map<string, number>): number | null {
  const delivered = (states.get("delivered") ?? 0) + (states.get("accepted") ?? 0);
  return share(delivered, delivered + (states.get("failed") ?? 0));
}

/** Builds the overview of a span and the one before it. */
export async function overview(ctx: ReportContext): Promise<Overview> {
  const { reader, plan } = readerOf(ctx);
  const before = previousSpan(ctx.range);
  const [now, then] = await Promise.all([
    figures(reader, plan),
    figures(reader, bucketPlan(before, ctx.now)),
  ]);
  const volume = (f: PeriodFigures, metric: string) => f.volume.get(volumeDim(metric)) ?? 0;
  const state = (f: PeriodFigures, name: string) => f.states.get(name) ?? 0;
  const rate = deliveryRate(now.states);
  const previousRate = deliveryRate(then.states);
  const currencies = [...new Set([...now.revenue.keys(), ...then.revenue.keys()])].sort();
  return {
    range: rangeInfo(ctx.range, plan),
    previous: spanInfo(before),
    events: change(volume(now, "events"), volume(then, "events")),
    duplicates: change(volume(now, "duplicates"), volume(then, "duplicates")),
    rejected: change(volume(now, "rejected"), volume(then, "rejected")),
    deliveries: {
      delivered: state(now, "delivered") + state(now, "accepted"),
      failed: state(now, "failed"),
      skipped: state(now, "skipped"),
      pending: state(now, "pending") + state(now, "retrying"),
      retries: now.retries,
      rate,
      previous_rate: previousRate,
      change_pts: rate === null || previousRate === null
        ? null
        : round((rate - previousRate) * 100, 2),
    },
    failed: change(state(now, "failed"), state(then, "failed")),
    revenue: currencies.map((currency) => {
      const current = now.revenue.get(currency) ?? { minor: 0, purchases: 0 };
      const previous = then.revenue.get(currency) ?? { minor: 0, purchases: 0 };
      return {
        currency,
        amount: fromMinorUnits(current.minor, currency),
        purchases: current.purchases,
        previous_amount: fromMinorUnits(previous.minor, currency),
        change_pct: percentChange(current.minor, previous.minor),
      };
    }),
    active_destinations: {
      count: now.active.length,
      previous: then.active.length,
      ids: now.active,
    },
    latency: {
      average_ms: now.averageMs,
      p95_ms: now.p95Ms,
      samples: now.samples,
      previous_average_ms: then.averageMs,
      previous_p95_ms: then.p95Ms,
      destinations: [...now.byDestination].sort(([a], [b]) => a.localeCompare(b)).map((
        [id, figures],
      ) => ({ id, ...figures })),
    },
  };
}
