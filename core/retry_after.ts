/**
 * Milliseconds to wait from a `Retry-After` header: delta-seconds, or an HTTP-date measured
 * against the response's own `Date` header (so classification stays free of the clock).
 * Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  const date = Date.parse(headers.get("date") ?? "");
  if (Number.isNaN(at) || Number.isNaN(date)) return undefined;
  return Math.max(0, at - date);
}
