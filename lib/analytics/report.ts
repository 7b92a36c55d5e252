/**
 * What every analytics report shares: its inputs (the workspace, the span, its destinations)
 * and the pieces of its answer (the span as answered, a value with its change).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { CounterReader } from "./reader.ts";
import { type AnalyticsRange, type BucketPlan, bucketPlan, type Span } from "./range.ts";

/** A destination as reports name it. */
export interface DestinationRef {
  id: string;
  name: string;
  type: string;
}

/** What a report reads. */
export interface ReportContext {
  kv: Deno.Kv;
  wsId: string;
  range: AnalyticsRange;
  /** The workspace's destinations (counters of deleted ones are shown by id). */
  destinations: readonly DestinationRef[];
  /** Epoch ms the report is made at. */
  now: number;
}

/** The reader and bucket plan of a report's span. */
export function readerOf(ctx: ReportContext): { reader: CounterReader; plan: BucketPlan } {
  return {
    reader: new CounterReader(ctx.kv, ctx.wsId),
    plan: bucketPlan(ctx.range, ctx.now),
  };
}

/** The span an answer covers. */
export const rangeInfoSchema = z.object({
  start: z.string().openapi({ description: "First hour covered (UTC, ISO 8601)" }),
  end: z.string().openapi({ description: "End of the last hour covered, exclusive" }),
  tz: z.string().openapi({ description: "The IANA zone days were read in" }),
  widened_to_days: z.boolean().openapi({
    description:
      "True when edges older than 35 days were widened to whole UTC days (hourly counters are kept 35 days)",
  }),
}).openapi("AnalyticsRange", {
  example: {
    start: "2026-01-01T08:00:00.000Z",
    end: "2026-01-08T08:00:00.000Z",
    tz: "America/Los_Angeles",
    widened_to_days: false,
  },
});

/** The span an answer covers. */
export type RangeInfo = z.output<typeof rangeInfoSchema>;

/** The span as answered. */
export function rangeInfo(range: AnalyticsRange, plan: BucketPlan): RangeInfo {
  return {
    start: new Date(range.start).toISOString(),
    end: new Date(range.end).toISOString(),
    tz: range.tz,
    widened_to_days: plan.widened,
  };
}

/** A span as ISO strings. */
export function spanInfo(span: Span): { start: string; end: string } {
  return { start: new Date(span.start).toISOString(), end: new Date(span.end).toISOString() };
}

/** A count with its value in the previous span of the same length. */
export const changeSchema = z.object({
  value: z.number(),
  previous: z.number(),
  change_pct: z.number().nullable().openapi({
    description: "Change against the previous span, percent; null when that was 0",
  }),
}).openapi("AnalyticsChange", { example: { value: 1200, previous: 1000, change_pct: 20 } });

/** A count with its change. */
export function change(value: number, previous: number): z.output<typeof changeSchema> {
  return { value, previous, change_pct: percentChange(value, previous) };
}

/** The change from `previous` to `value`, percent with one decimal; null when `previous` is 0. */
export function percentChange(value: number, previous: number): number | null {
  return previous === 0 ? null : round(((value - previous) / previous) * 100, 1);
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `part / whole` rounded to 4 decimals; null when `whole` is 0. */
export function share(part: number, whole: number): number | null {
  return whole === 0 ? null : round(part / whole, 4);
}

/** The destination's reference, or one naming only its id (deleted since). */
export function destinationRef(ctx: ReportContext, id: string): DestinationRef {
  return ctx.destinations.find((d) => d.id === id) ?? { id, name: "(deleted)", type: "unknown" };
}

/** A destination as answers show it. */
export const destinationRefSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
}).openapi("AnalyticsDestination", {
  example: { id: "dst_01jq8y6m5r0c3x4v7n2b9k1h0d", name: "Meta", type: "meta" },
});

/** Splits a `a|b|c` counter dimension into its parts. */
export function dimParts(dim: string): string[] {
  return dim.split("|");
}
