/** Folder-private: reading platform answers (Retry-After, JSON bodies). */

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

/** The body parsed as JSON, or undefined when it is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Consecutive slices of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The base URL without trailing slashes. */
export function baseUrl(endpoint: string): string {
  return endpoint.replace(/\/+$/, "");
}
