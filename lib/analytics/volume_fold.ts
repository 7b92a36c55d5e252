/**
 * Hourly volume, folded per UTC day. A series of hours (`volume?interval=hour`, or local days
 * in a zone whose days are not UTC days, like Asia/Kolkata) would otherwise read every hour
 * counter of its span: 24 hours × every event name and source, thousands of keys for a month.
 * Once a UTC day is over (and {@link FOLD_GRACE_MS} more, for commits still in flight), the
 * counter upkeep folds its hour counters into one record per day, `["stat_fold", ws, day,
 * part]`: each dimension with its 24 hourly counts. `["stat_fold_mark", ws]` holds the days
 * folded, `{from, to}`: each has its records, or had no counts; a day and the mark move in one
 * commit, so a crash folds a day again or not at all. Reads take folded days from their records
 * and the rest (today, days the upkeep has not reached, a day too large for one commit, marked
 * `{unfolded: true}`) from the hour counters, which retention deletes after 35 days; folds are
 * kept as long as day counters. A count committed more than the grace after its day ended is
 * in the hour counter but not in the record (the day counter has it).
 *
 * @module
 */
import { statFoldKey, statFoldMarkKey, statFoldPrefix } from "../kv/keys.ts";
import { DAY_MS, dayOf, HOUR_MS } from "./counters.ts";
import { HOUR_COUNTER_DAYS, type Span } from "./range.ts";
import { CounterReader, type Totals } from "./reader.ts";

/** How long after a UTC day ends its hours are folded. */
export const FOLD_GRACE_MS = 15 * 60_000;

/** Bytes of one record part (KV values hold 64 KiB). */
const PART_BYTES = 48_000;
/** Parts of one day: past this the day stays unfolded (its hours are read). */
const MAX_PARTS = 12;

/**
 * One part of a folded day: dimensions (`metric\u0000dim`) and their 24 hourly counts; a day
 * too large to fold has one record `{unfolded: true}` instead.
 */
type FoldedPart = { dims: string[]; hours: number[][] } | { unfolded: true };

/** The days folded: every UTC day in [from, to) has its records, or had no counts at all. */
export interface FoldMark {
  from: number;
  to: number;
}

/** The hour counters of one UTC day, as parts of at most {@link PART_BYTES}. */
async function foldDay(
  kv: Deno.Kv,
  wsId: string,
  day: number,
): Promise<{ dims: string[]; hours: number[][] }[]> {
  const byDim = new Map<string, number[]>();
  const read = await new CounterReader(kv, wsId).series("volume", "h", {
    start: day,
    end: day + DAY_MS,
  });
  for (const [hour, totals] of read) {
    for (const [dim, n] of totals) {
      let hours = byDim.get(dim);
      if (!hours) byDim.set(dim, hours = new Array<number>(24).fill(0));
      hours[(hour - day) / HOUR_MS] = n;
    }
  }
  const parts: { dims: string[]; hours: number[][] }[] = [];
  let part: { dims: string[]; hours: number[][] } = { dims: [], hours: [] };
  let bytes = 0;
  for (const [dim, hours] of byDim) {
    const size = dim.length + 8 + hours.reduce((n, h) => n + String(h).length + 1, 0);
    if (bytes + size > PART_BYTES && part.dims.length) {
      parts.push(part);
      part = { dims: [], hours: [] };
      bytes = 0;
    }
    part.dims.push(dim);
    part.hours.push(hours);
    bytes += size;
  }
  if (part.dims.length) parts.push(part);
  return parts;
}

/**
 * Folds the workspace's finished UTC days not folded yet (at most the hour counters' 35
 * days); answers how many days it folded. Safe to run from several processes: the mark is
 * checked, and the loser stops.
 */
export async function foldVolume(kv: Deno.Kv, wsId: string, now = Date.now()): Promise<number> {
  const end = dayOf(now - FOLD_GRACE_MS);
  // The first day whose every hour counter is still kept.
  const kept = dayOf(now - HOUR_COUNTER_DAYS * DAY_MS) + DAY_MS;
  let entry = await kv.get<FoldMark>(statFoldMarkKey(wsId));
  // A gap (the upkeep stopped for longer than the hours are kept) starts the folds afresh.
  const from = entry.value && entry.value.to >= kept ? entry.value.from : kept;
  let folded = 0;
  for (let day = Math.max(entry.value?.to ?? 0, from); day < end; day += DAY_MS) {
    const parts = await foldDay(kv, wsId, day);
    const op = kv.atomic().check(entry);
    if (parts.length <= MAX_PARTS) {
      parts.forEach((part, i) => op.set(statFoldKey(wsId, day, i), part));
    } else op.set(statFoldKey(wsId, day, 0), { unfolded: true });
    const mark: FoldMark = { from, to: day + DAY_MS };
    const result = await op.set(statFoldMarkKey(wsId), mark).commit();
    if (!result.ok) return folded;
    entry = { key: statFoldMarkKey(wsId), value: mark, versionstamp: result.versionstamp };
    folded++;
  }
  return folded;
}

/** Adds the hours of `values` that fall in `span` to the series. */
function addHours(
  series: Map<number, Totals>,
  start: number,
  span: Span,
  dim: string,
  values: number[],
) {
  values.forEach((n, i) => {
    const hour = start + i * HOUR_MS;
    if (n === 0 || hour < span.start || hour >= span.end) return;
    let totals = series.get(hour);
    if (!totals) series.set(hour, totals = new Map());
    totals.set(dim, (totals.get(dim) ?? 0) + n);
  });
}

/** Volume per UTC hour, and the UTC days of it read from folds. */
export interface HourlyVolume {
  /** Counters by hour start, then dimension (`metric\u0000dim`). */
  series: Map<number, Totals>;
  /** Days read from folds (a folded day without records had no counts). */
  folded: Set<number>;
}

/**
 * The volume counters per UTC hour of a span: folded days from their records, every other
 * hour from its counters (which retention deletes after 35 days; folds live as long as day
 * counters). `folded` lets the caller tell an old day without hours from a quiet one.
 */
export async function hourlyVolume(kv: Deno.Kv, wsId: string, span: Span): Promise<HourlyVolume> {
  const series = new Map<number, Totals>();
  const folded = new Set<number>();
  if (span.end <= span.start) return { series, folded };
  const mark = (await kv.get<FoldMark>(statFoldMarkKey(wsId))).value;
  const firstDay = dayOf(span.start);
  const foldedStart = Math.max(mark?.from ?? 0, firstDay);
  const foldedEnd = Math.min(mark?.to ?? 0, span.end);
  for (let day = foldedStart; day < foldedEnd; day += DAY_MS) folded.add(day);
  if (foldedEnd > foldedStart) {
    const prefix = statFoldPrefix(wsId);
    const records = kv.list<FoldedPart>({
      start: [...prefix, foldedStart],
      end: [...prefix, foldedEnd],
    });
    for await (const { key, value } of records) {
      const day = Number(key[2]);
      if ("unfolded" in value) folded.delete(day);
      else value.dims.forEach((dim, i) => addHours(series, day, span, dim, value.hours[i]!));
    }
  }
  // Every run of days not folded, from the hour counters.
  const runs: Span[] = [];
  for (let day = firstDay; day < span.end; day += DAY_MS) {
    if (folded.has(day)) continue;
    let runEnd = day + DAY_MS;
    while (runEnd < span.end && !folded.has(runEnd)) runEnd += DAY_MS;
    runs.push({ start: Math.max(day, span.start), end: Math.min(runEnd, span.end) });
    day = runEnd - DAY_MS;
  }
  const reader = new CounterReader(kv, wsId);
  for (const read of await Promise.all(runs.map((run) => reader.series("volume", "h", run)))) {
    for (const [hour, totals] of read) series.set(hour, totals);
  }
  return { series, folded };
}
