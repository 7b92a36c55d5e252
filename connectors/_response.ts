/** Folder-private: reading platform answers (Retry-After, JSON bodies). */

export { retryAfterMs } from "../core/retry_after.ts";

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
