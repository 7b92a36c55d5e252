/**
 * Reads counters back: totals over a bucket plan, or one value per bucket. Each run of
 * buckets is one range scan, so a read costs the buckets it covers times the dimensions
 * they hold, never the events behind them.
 *
 * @module
 */
import { analyticsCounterPrefix, statDayPrefix, statPrefix } from "../kv/keys.ts";
import { counterValue, type Family, grainsOf } from "./counters.ts";
import type { BucketPlan, Span } from "./range.ts";

/** Counter values by dimension. */
export type Totals = Map<string, number>;

/** The volume metrics' dimension key: metric and dimension, as `metric\u0000dim`. */
export function volumeDim(metric: string, dimension = ""): string {
  return `${metric}\u0000${dimension}`;
}

/** The one run of days covering some day runs and the weeks between them. */
function daysAround(days: readonly Span[], weeks: Span): Span {
  return {
    start: Math.min(weeks.start, ...days.map((d) => d.start)),
    end: Math.max(weeks.end, ...days.map((d) => d.end)),
  };
}

/** What is read: one analytics family, or the ingest volume counters. */
export type CounterSource = Family | "volume";

/** Reads one workspace's counters. */
export class CounterReader {
  readonly #kv: Deno.Kv;
  readonly #wsId: string;

  constructor(kv: Deno.Kv, wsId: string) {
    this.#kv = kv;
    this.#wsId = wsId;
  }

  /**
   * Totals by dimension over a plan's hours, days and weeks (the volume counters, which have
   * no weeks, read their days instead).
   */
  async totals(source: CounterSource, plan: BucketPlan): Promise<Totals> {
    const totals: Totals = new Map();
    const add = (_bucket: number, dim: string, value: number) =>
      totals.set(dim, (totals.get(dim) ?? 0) + value);
    const weeks = source !== "volume" && grainsOf(source).includes("w");
    const days = weeks || !plan.weeks ? plan.days : [daysAround(plan.days, plan.weeks)];
    await Promise.all([
      ...plan.hours.map((span) => this.#scan(source, "h", span, add)),
      ...days.map((span) => this.#scan(source, "d", span, add)),
      ...(weeks && plan.weeks ? [this.#scan(source, "w", plan.weeks, add)] : []),
    ]);
    return totals;
  }

  /** Values by bucket start, then dimension, for the buckets of one grain in a span. */
  async series(
    source: CounterSource,
    grain: "h" | "d" | "w",
    span: Span,
  ): Promise<Map<number, Totals>> {
    const series = new Map<number, Totals>();
    await this.#scan(source, grain, span, (bucket, dim, value) => {
      let values = series.get(bucket);
      if (!values) series.set(bucket, values = new Map());
      values.set(dim, (values.get(dim) ?? 0) + value);
    });
    return series;
  }

  async #scan(
    source: CounterSource,
    grain: "h" | "d" | "w",
    span: Span,
    add: (bucket: number, dim: string, value: number) => void,
  ): Promise<void> {
    if (span.end <= span.start) return;
    const prefix: Deno.KvKey = source === "volume"
      ? (grain === "h" ? statPrefix(this.#wsId) : statDayPrefix(this.#wsId))
      : analyticsCounterPrefix(this.#wsId, source, grain);
    const entries = this.#kv.list<Deno.KvU64>(
      { start: [...prefix, span.start], end: [...prefix, span.end] },
      { batchSize: 1000 },
    );
    const at = prefix.length;
    for await (const { key, value } of entries) {
      const bucket = key[at];
      if (typeof bucket !== "number" || !(value instanceof Deno.KvU64)) continue;
      const dim = source === "volume"
        ? volumeDim(String(key[at + 1]), String(key[at + 2] ?? ""))
        : String(key[at + 1]);
      add(bucket, dim, counterValue(value));
    }
  }
}
