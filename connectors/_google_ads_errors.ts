/**
 * Folder-private: Google's REST error envelope (`{error: google.rpc.Status}`, AIP-193) as
 * both Google Ads paths answer it, read defensively: a detail or violation of an unexpected
 * shape is left out rather than failing the whole reading.
 *
 * @module
 */
import { z } from "zod";
import { parseJson, retryOutcome } from "./_response.ts";
import type { Outcome, PlatformResponse } from "./types.ts";

/** One `google.rpc.BadRequest.FieldViolation`. */
export interface FieldViolation {
  field: string;
  description?: string;
  reason?: string;
}

/** One error of a Google Ads API `GoogleAdsFailure`. */
export interface GoogleAdsError {
  /** The error code's enum name (`CLICK_NOT_FOUND`) and its family (`conversionUploadError`). */
  code?: string;
  family?: string;
  message?: string;
  /** The `conversions[index]` the error is about, when it names one. */
  index?: number;
}

/** A Google error answer, with what its details say. */
export interface GoogleStatus {
  /** The canonical code name (`INVALID_ARGUMENT`). */
  status?: string;
  message?: string;
  /** `google.rpc.ErrorInfo.reason` values (Data Manager `ErrorReason` names). */
  reasons: string[];
  violations: FieldViolation[];
  requestId?: string;
  /** `GoogleAdsFailure.errors` (legacy Google Ads API). */
  adsErrors: GoogleAdsError[];
}

const statusShape = z.object({
  code: z.number().optional(),
  status: z.string().optional(),
  message: z.string().optional(),
  details: z.array(z.unknown()).optional(),
});

const errorInfo = z.object({ reason: z.string() });
const requestInfo = z.object({ requestId: z.string() });
const badRequest = z.object({ fieldViolations: z.array(z.unknown()) });
const fieldViolation = z.object({
  field: z.string(),
  description: z.string().optional(),
  reason: z.string().optional(),
});
const adsFailure = z.object({ errors: z.array(z.unknown()), requestId: z.string().optional() });
const adsError = z.object({
  errorCode: z.record(z.string(), z.unknown()).optional(),
  message: z.string().optional(),
  location: z.object({
    fieldPathElements: z.array(z.object({
      fieldName: z.string().optional(),
      index: z.number().int().nonnegative().optional(),
    })).optional(),
  }).optional(),
});

function readAdsError(value: unknown): GoogleAdsError | undefined {
  const parsed = adsError.safeParse(value);
  if (!parsed.success) return undefined;
  const { errorCode, message, location } = parsed.data;
  const [family, code] = Object.entries(errorCode ?? {})
    .find((entry): entry is [string, string] => typeof entry[1] === "string") ?? [];
  const first = location?.fieldPathElements?.[0];
  const index = first?.fieldName === "conversions" ? first.index : undefined;
  return { code, family, message, index };
}

/** Reads a `google.rpc.Status` object (an error answer's `error`, or a `partialFailureError`). */
export function readStatus(value: unknown): GoogleStatus {
  const parsed = statusShape.safeParse(value);
  const out: GoogleStatus = { reasons: [], violations: [], adsErrors: [] };
  if (!parsed.success) return out;
  out.status = parsed.data.status;
  out.message = parsed.data.message;
  for (const detail of parsed.data.details ?? []) {
    const info = errorInfo.safeParse(detail);
    if (info.success) out.reasons.push(info.data.reason);
    const request = requestInfo.safeParse(detail);
    if (request.success) out.requestId ??= request.data.requestId;
    const bad = badRequest.safeParse(detail);
    for (const violation of bad.success ? bad.data.fieldViolations : []) {
      const one = fieldViolation.safeParse(violation);
      if (one.success) out.violations.push(one.data);
    }
    const failure = adsFailure.safeParse(detail);
    if (failure.success) {
      out.requestId ??= failure.data.requestId;
      for (const error of failure.data.errors) {
        const one = readAdsError(error);
        if (one) out.adsErrors.push(one);
      }
    }
  }
  return out;
}

/** Reads an error answer's body (`{"error": {...}}`); an empty reading when it is not one. */
export function readErrorBody(body: string): GoogleStatus {
  const json = parseJson(body);
  const error = typeof json === "object" && json !== null && "error" in json
    ? (json as { error: unknown }).error
    : undefined;
  return readStatus(error);
}

/**
 * `<label> <STATUS> <REASONS>: <message> (requestId …)`, naming Google's canonical code,
 * its error reasons (each once) and message for the delivery log; the HTTP status stands
 * in for a missing code, the body's start for a missing message.
 */
export function statusReason(
  label: string,
  response: PlatformResponse,
  status: GoogleStatus,
): string {
  const canonical = status.status ?? `HTTP ${response.status}`;
  const code = [...new Set([canonical, ...status.reasons])].join(" ");
  const message = status.message ?? (response.body.slice(0, 300) || "no message");
  const request = status.requestId ? ` (requestId ${status.requestId})` : "";
  return `${label} ${code}: ${message}${request}`;
}

const RETRY_STATUSES = new Set([
  "RESOURCE_EXHAUSTED",
  "UNAVAILABLE",
  "INTERNAL",
  "DEADLINE_EXCEEDED",
  "UNKNOWN",
  "ABORTED",
]);
const AUTH_STATUSES = new Set(["UNAUTHENTICATED", "PERMISSION_DENIED"]);

/**
 * The outcome the canonical code alone decides (CONNECTORS.md §0.3): throttling and server
 * errors retried (honouring Retry-After), refused credentials `auth_failed`; undefined for
 * the rest (the caller reads the details).
 */
export function canonicalOutcome(
  response: PlatformResponse,
  status: GoogleStatus,
  reason: string,
): Outcome | undefined {
  const code = status.status;
  if (
    response.status === 408 || response.status === 429 || response.status >= 500 ||
    (code !== undefined && RETRY_STATUSES.has(code))
  ) {
    return retryOutcome(response, reason);
  }
  if (response.status === 401 || response.status === 403 || (code && AUTH_STATUSES.has(code))) {
    return { kind: "auth_failed", reason };
  }
  return undefined;
}
