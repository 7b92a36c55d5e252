/** Formatting for pages: times, durations and counts, the same on every page. */

/** An epoch-ms or ISO time as `2026-01-31 14:05:09 UTC`. */
export function formatTime(at: number | string | undefined): string {
  if (at === undefined) return "—";
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** Milliseconds as `120 ms` or `1.4 s`. */
export function formatLatency(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** How long ago a time was, coarsely: `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`. */
export function formatAgo(at: number | string, now = Date.now()): string {
  const seconds = Math.max(0, (now - new Date(at).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return String(at);
  const units: [limit: number, size: number, name: string][] = [
    [3_600, 60, "minute"],
    [86_400, 3_600, "hour"],
    [Infinity, 86_400, "day"],
  ];
  if (seconds < 60) return "just now";
  const [, size, name] = units.find(([limit]) => seconds < limit)!;
  const n = Math.floor(seconds / size);
  return `${n} ${name}${n === 1 ? "" : "s"} ago`;
}
