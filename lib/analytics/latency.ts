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
