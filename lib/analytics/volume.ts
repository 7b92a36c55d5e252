/**
 * `GET /v1/analytics/volume`: events per hour or per local day, by event name and source.
 *
 * Hours are UTC hours. Days are the range's zone's days, each the hours that start in it: a
 * day that is a whole UTC day (UTC, or a zone at offset 0 then) reads its day counter,
 * another sums its hours, read from finished days' folded records (volume_fold.ts, kept as
 * long as day counters) and the hour counters after them. A local day whose hours are in
 * neither (older than 35 days and never folded) reads the UTC day of the same date, and the
 * answer says `widened_to_days`.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { DAY_MS, dayOf, type VolumeMetric } from "./counters.ts";
import { HOUR_COUNTER_DAYS, hoursOf, isUtcDay, type Span, zonedDays } from "./range.ts";
import { type Totals, volumeDim } from "./reader.ts";
import { rangeInfo, rangeInfoSchema, readerOf, type ReportContext } from "./report.ts";
import { hourlyVolume } from "./volume_fold.ts";

/** Bucket widths. */
export const INTERVALS = ["hour", "day"] as const;

/** One bucket width. */
export type Interval = typeof INTERVALS[number];

/** Longest span answered per hour, days. */
export const MAX_HOURLY_DAYS = 31;

const counts = {
  total: z.number().int(),
  counts: z.array(z.number().int()).openapi({ description: "One count per bucket" }),
};

/** Volume per bucket. */
export const volumeSchema = z.object({
  range: rangeInfoSchema,
  interval: z.enum(INTERVALS),
  buckets: z.array(z.object({
    start: z.string().openapi({ description: "Bucket start, UTC ISO 8601" }),
    label: z.string().openapi({ description: "The hour (ISO) or the local date (YYYY-MM-DD)" }),
  })),
  events: z.array(z.number().int()).openapi({ description: "Events accepted, per bucket" }),
  duplicates: z.array(z.number().int()),
  rejected: z.array(z.number().int()),
  by_name: z.array(z.object({ name: z.string(), ...counts })),
  by_source: z.array(z.object({ source: z.string(), ...counts })),
}).openapi("AnalyticsVolume", {
  example: {
    range: {
      start: "2026-01-01T08:00:00.000Z",
      end: "2026-01-03T08:00:00.000Z",
      tz: "America/Los_Angeles",
      widened_to_days: false,
    },
    interval: "day",
    buckets: [
      { start: "2026-01-01T08:00:00.000Z", label: "2026-01-01" },
      { start: "2026-01-02T08:00:00.000Z", label: "2026-01-02" },
    ],
    events: [120, 98],
    duplicates: [3, 1],
    rejected: [0, 2],
    by_name: [{ name: "purchase", total: 18, counts: [10, 8] }],
    by_source: [{ source: "web", total: 218, counts: [120, 98] }],
  },
});

/** Volume per bucket. */
export type Volume = z.output<typeof volumeSchema>;

interface Bucket {
  start: number;
  label: string;
  /** The hour counters it sums, or the day counter it reads. */
  read: { hours: number[] } | { day: number };
}

/**
 * The buckets of the answer and what each reads. A local day that is a whole UTC day reads
 * its day counter; any other sums its hours when every UTC day they fall on can be read by
 * the hour (`byHours`: folded, or within the hour counters' 35 days), and otherwise reads the
 * UTC day holding its noon (the same date for zones within ±12 h).
 */
function bucketsOf(
  ctx: ReportContext,
  interval: Interval,
  byHours: (day: number) => boolean,
): { buckets: Bucket[]; approx: boolean } {
  if (interval === "hour") {
    const buckets = hoursOf(ctx.range).map((start) => ({
      start,
      label: new Date(start).toISOString(),
      read: { hours: [start] },
    }));
    return { buckets, approx: false };
  }
  let approx = false;
  const buckets = zonedDays(ctx.range).map(({ date, span }): Bucket => {
    if (isUtcDay(span)) return { start: span.start, label: date, read: { day: span.start } };
    const hours = hoursOf(span);
    if (hours.every((hour) => byHours(dayOf(hour)))) {
      return { start: span.start, label: date, read: { hours } };
    }
    approx = true;
    return { start: span.start, label: date, read: { day: dayOf(span.start + DAY_MS / 2) } };
  });
  return { buckets, approx };
}

/** The hours of the local days that are not whole UTC days (none in UTC). */
function localHours(ctx: ReportContext, interval: Interval): Span {
  if (interval === "hour") return ctx.range;
  const spans = zonedDays(ctx.range).map((d) => d.span).filter((span) => !isUtcDay(span));
  return spans.length === 0
    ? { start: 0, end: 0 }
    : { start: spans[0]!.start, end: spans.at(-1)!.end };
}

/** The smallest span holding these bucket starts, each `width` long. */
function hull(starts: readonly number[], width: number): Span {
  return starts.length === 0
    ? { start: 0, end: 0 }
    : { start: Math.min(...starts), end: Math.max(...starts) + width };
}

/** Builds the volume series. */
export async function volume(ctx: ReportContext, interval: Interval): Promise<Volume> {
  const { reader, plan } = readerOf(ctx);
  const { series: hourly, folded } = await hourlyVolume(
    ctx.kv,
    ctx.wsId,
    localHours(ctx, interval),
  );
  const hourCutoff = ctx.now - HOUR_COUNTER_DAYS * DAY_MS;
  const { buckets, approx } = bucketsOf(
    ctx,
    interval,
    (day) => folded.has(day) || day >= hourCutoff,
  );
  const dayStarts = buckets.flatMap((b) => "day" in b.read ? [b.read.day] : []);
  const daily = await reader.series("volume", "d", hull(dayStarts, DAY_MS));
  const valuesOf = ({ read }: Bucket): Totals => {
    if ("day" in read) return daily.get(read.day) ?? new Map();
    const sum: Totals = new Map();
    for (const hour of read.hours) {
      for (const [dim, n] of hourly.get(hour) ?? []) sum.set(dim, (sum.get(dim) ?? 0) + n);
    }
    return sum;
  };
  const values = buckets.map(valuesOf);
  const column = (dim: string) => values.map((v) => v.get(dim) ?? 0);
  const breakdown = (metric: VolumeMetric) => {
    const names = new Set<string>();
    const prefix = volumeDim(metric);
    for (const v of values) {
      for (const dim of v.keys()) if (dim.startsWith(prefix)) names.add(dim.slice(prefix.length));
    }
    return [...names].map((name) => {
      const counts = column(volumeDim(metric, name));
      return { name, total: counts.reduce((a, b) => a + b, 0), counts };
    }).sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  };
  return {
    // The span's edges are read exactly (hours or folds), or its days are `approx`.
    range: { ...rangeInfo(ctx.range, plan), widened_to_days: approx },
    interval,
    buckets: buckets.map((b) => ({ start: new Date(b.start).toISOString(), label: b.label })),
    events: column(volumeDim("events")),
    duplicates: column(volumeDim("duplicates")),
    rejected: column(volumeDim("rejected")),
    by_name: breakdown("events_by_name"),
    by_source: breakdown("events_by_source").map(({ name, ...rest }) => ({
      source: name,
      ...rest,
    })),
  };
}
