/**
 * The accept→delivery latency histogram: 13 bins from 250 ms to "over 6 hours", counted per
 * bin; a percentile is read back from the bins.
 *
 * @module
 */

/** Upper bounds of the bins, ms; the last bin holds everything slower. */
export const LATENCY_BOUNDS_MS = [
  250,
  500,
  1_000,
  2_000,
  5_000,
  10_000,
  30_000,
  60_000,
  300_000,
  900_000,
  3_600_000,
  21_600_000,
] as const;

/** The bin of a latency: 0 for ≤ 250 ms … 12 for over 6 hours. */
export function latencyBin(ms: number): number {
  const index = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return index < 0 ? LATENCY_BOUNDS_MS.length : index;
}

/**
 * The `p` percentile (0–1) of a histogram (counts by bin), interpolated linearly inside its
 * bin; in the open last bin, its lower bound. Null when the histogram is empty.
 */
export function percentileMs(counts: readonly number[], p: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total <= 0) return null;
  const rank = p * total;
  let below = 0;
  for (let bin = 0; bin < counts.length; bin++) {
    const n = counts[bin] ?? 0;
    if (n > 0 && below + n >= rank) {
      const lower = bin === 0 ? 0 : LATENCY_BOUNDS_MS[bin - 1]!;
      const upper = LATENCY_BOUNDS_MS[bin];
      if (upper === undefined) return lower;
      return Math.round(lower + (upper - lower) * ((rank - below) / n));
    }
    below += n;
  }
  return LATENCY_BOUNDS_MS.at(-1)!;
}

/** One destination's accept→delivery latency over a span. */
export interface DestinationLatency {
  average_ms: number;
  /** Null when its deliveries predate the per-destination histogram. */
  p95_ms: number | null;
  samples: number;
}

/** Sums the latency family's per-destination counters, then answers each destination's figures. */
export class LatencyTally {
  readonly #byDest = new Map<string, { sum: number; n: number; bins: number[] }>();

  /** Adds one counter: `sum|<dest>`, `n|<dest>` or `b<i>|<dest>` (workspace bins are skipped). */
  add(dim: string, value: number): void {
    const bar = dim.indexOf("|");
    if (bar < 0) return;
    const part = dim.slice(0, bar);
    const dest = dim.slice(bar + 1);
    let tally = this.#byDest.get(dest);
    if (!tally) {
      tally = { sum: 0, n: 0, bins: Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0) };
      this.#byDest.set(dest, tally);
    }
    if (part === "sum" || part === "n") tally[part] += value;
    else if (part.startsWith("b")) tally.bins[Number(part.slice(1))]! += value;
  }

  /** Each destination with timed deliveries. */
  results(): Map<string, DestinationLatency> {
    const results = new Map<string, DestinationLatency>();
    for (const [dest, { sum, n, bins }] of this.#byDest) {
      if (n <= 0) continue;
      results.set(dest, {
        average_ms: Math.round(sum / n),
        p95_ms: percentileMs(bins, 0.95),
        samples: n,
      });
    }
    return results;
  }
}
