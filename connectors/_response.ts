/** Folder-private: reading platform answers (Retry-After, JSON bodies, HTTP statuses). */
import { retryAfterMs } from "../core/retry_after.ts";
import type { Classification, Outcome, PlatformResponse } from "./types.ts";

export { retryAfterMs };

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

/** One outcome for every event of a request. */
export function every(outcome: Outcome): Classification {
  return { outcome };
}

/** A retry outcome that honours the answer's Retry-After. */
export function retryOutcome(response: PlatformResponse, reason: string): Outcome {
  const afterMs = retryAfterMs(response.headers);
  return afterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, afterMs };
}

/**
 * The outcome an HTTP status alone gives (CONNECTORS.md §0.3): 2xx delivered; 408, 423,
 * 429 and 5xx retried (honouring Retry-After); 401 and 403 refused credentials; any other
 * status failed. `reason` describes the answer for the delivery log.
 */
export function statusOutcome(response: PlatformResponse, reason: string): Outcome {
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: "delivered" };
  if (status === 408 || status === 423 || status === 429 || status >= 500) {
    return retryOutcome(response, reason);
  }
  if (status === 401 || status === 403) return { kind: "auth_failed", reason };
  return { kind: "failed", reason };
}

/** `HTTP <status>: <first 300 characters of the body>`. */
export function httpReason(response: PlatformResponse): string {
  return `HTTP ${response.status}: ${response.body.slice(0, 300)}`.trim();
}
