/**
 * The time span an analytics answer covers, and the counter buckets that make it up.
 *
 * Counters exist per UTC hour, UTC day and week (Monday 00:00 UTC on). A span is always whole
 * UTC hours: an hour belongs to a span (or to a local day) when the hour *starts* inside it,
 * so a day in Asia/Kolkata (UTC+5:30, starting at 18:30 UTC) holds the hours starting 19:00
 * UTC through 18:00 UTC the next day. A total over a span reads its whole weeks from week
 * counters, the whole days around them from day counters and only the hours at its two edges
 * from hour counters: at most 46 hours and 12 days plus the weeks.
 *
 * @module
 */
import { DAY_MS, HOUR_MS, WEEK_MS, weekOf } from "./counters.ts";
import { addZonedDays, zonedDate, zonedDayStart } from "./tz.ts";

/** The preset ranges. */
export const RANGES = ["24h", "7d", "30d", "90d"] as const;

/** One preset range. */
export type RangeName = typeof RANGES[number];

/** A span of whole UTC hours, epoch ms, end exclusive. */
export interface Span {
  start: number;
  end: number;
}

/** The span an answer covers, and the zone its days are read in. */
export interface AnalyticsRange extends Span {
  tz: string;
}

/** How long hour counters are kept, days; older spans are widened to whole UTC days. */
export const HOUR_COUNTER_DAYS = 35;

/** The start of the first UTC hour at or after `at`. */
export function ceilHour(at: number): number {
  return Math.ceil(at / HOUR_MS) * HOUR_MS;
}

const floorDay = (at: number) => Math.floor(at / DAY_MS) * DAY_MS;
const ceilDay = (at: number) => Math.ceil(at / DAY_MS) * DAY_MS;

/**
 * The span of a query: `range=24h` is the current UTC hour and the 23 before it; `7d`,
 * `30d`, `90d` are today in `tz` and the 6, 29 or 89 days before it; `start`/`end`
 * (epoch ms; `end` defaults to now) cover the hours that start inside them.
 */
export function resolveRange(
  query: { range?: RangeName; start?: number; end?: number; tz: string },
  now: number,
): AnalyticsRange {
  const { tz } = query;
  if (query.start !== undefined) {
    return { start: ceilHour(query.start), end: ceilHour(query.end ?? now), tz };
  }
  const range = query.range ?? "7d";
  if (range === "24h") {
    const end = ceilHour(now + 1);
    return { start: end - 24 * HOUR_MS, end, tz };
  }
  const days = Number(range.slice(0, -1));
  const today = zonedDayStart(tz, now);
  return {
    start: ceilHour(addZonedDays(tz, today, 1 - days)),
    end: ceilHour(addZonedDays(tz, today, 1)),
    tz,
  };
}

/** The span of the same length just before. */
export function previousSpan(span: Span): Span {
  return { start: 2 * span.start - span.end, end: span.start };
}

/** The buckets a total over a span reads: runs of hours and days, and one run of weeks. */
export interface BucketPlan {
  /** Runs of UTC hours (at most two: the span's edges). */
  hours: Span[];
  /** Runs of whole UTC days between the hours and the weeks (at most two). */
  days: Span[];
  /** The whole weeks in the middle, or null. */
  weeks: Span | null;
  /** True when edges older than the hour counters' life were widened to whole days. */
  widened: boolean;
}

/** The buckets of a span; `now` dates the hour counters' life ({@link HOUR_COUNTER_DAYS}). */
export function bucketPlan(span: Span, now: number): BucketPlan {
  const cutoff = now - HOUR_COUNTER_DAYS * DAY_MS;
  let { start, end } = span;
  let widened = false;
  if (start < cutoff && start % DAY_MS !== 0) {
    start = floorDay(start);
    widened = true;
  }
  if (end < cutoff && end % DAY_MS !== 0) {
    end = ceilDay(end);
    widened = true;
  }
  const firstDay = ceilDay(start);
  const lastDay = floorDay(end);
  if (firstDay >= lastDay) {
    return { hours: end > start ? [{ start, end }] : [], days: [], weeks: null, widened };
  }
  const hours: Span[] = [];
  if (start < firstDay) hours.push({ start, end: firstDay });
  if (lastDay < end) hours.push({ start: lastDay, end });
  const firstWeek = firstDay === weekOf(firstDay) ? firstDay : weekOf(firstDay) + WEEK_MS;
  const lastWeek = weekOf(lastDay);
  if (firstWeek >= lastWeek) {
    return { hours, days: [{ start: firstDay, end: lastDay }], weeks: null, widened };
  }
  const days: Span[] = [];
  if (firstDay < firstWeek) days.push({ start: firstDay, end: firstWeek });
  if (lastWeek < lastDay) days.push({ start: lastWeek, end: lastDay });
  return { hours, days, weeks: { start: firstWeek, end: lastWeek }, widened };
}

/** One local day of a range: its date in the range's zone and its span of whole hours. */
export interface ZonedDay {
  date: string;
  span: Span;
}

/** The local days of a range in its zone, each as the hours that start inside it. */
export function zonedDays(range: AnalyticsRange): ZonedDay[] {
  const days: ZonedDay[] = [];
  let day = zonedDayStart(range.tz, range.start);
  while (ceilHour(day) < range.end) {
    const next = addZonedDays(range.tz, day, 1);
    const span = {
      start: Math.max(range.start, ceilHour(day)),
      end: Math.min(range.end, ceilHour(next)),
    };
    if (span.end > span.start) days.push({ date: zonedDate(range.tz, day), span });
    day = next;
  }
  return days;
}

/** Whether a span is one whole UTC day (a local day in UTC, or in a zone at offset 0 then). */
export function isUtcDay(span: Span): boolean {
  return span.start % DAY_MS === 0 && span.end - span.start === DAY_MS;
}

/** The UTC hour starts of a span. */
export function hoursOf(span: Span): number[] {
  const hours: number[] = [];
  for (let at = span.start; at < span.end; at += HOUR_MS) hours.push(at);
  return hours;
}
