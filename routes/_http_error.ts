import type { FieldError } from "../core/field_error.ts";
import { BatchOverLimitError, RateLimitedError } from "../lib/ingest/ingestor.ts";

/** The RFC 7807 problem document Sluice answers errors with. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ["invalid-request", "Invalid request"],
  401: ["unauthorized", "Missing or invalid credential"],
  403: ["forbidden", "Forbidden"],
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  409: ["duplicate", "Duplicate"],
  413: ["payload-too-large", "Payload too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  422: ["unprocessable", "Unprocessable request"],
  429: ["rate-limited", "Too many requests"],
  500: ["internal", "Internal error"],
  503: ["unavailable", "Service unavailable"],
};

/** Base of the stable `type` URIs of Sluice problems. */
export const PROBLEM_BASE = "https://sluice.dev/problems/";

/** An error that becomes a problem+json response with its status. */
export class HttpError extends Error {
  readonly status: number;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(
    status: number,
    detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "HttpError";
    this.status = status;
    this.errors = options.errors;
    this.headers = options.headers;
  }

  /** The problem document for this error. */
  toProblem(): Problem {
    return problemOf(this.status, this.message, this.errors);
  }
}

/** Builds a problem document for a status. */
export function problemOf(status: number, detail: string, errors?: FieldError[]): Problem {
  const [slug, title] = TITLES[status] ?? ["error", "Error"];
  return { type: PROBLEM_BASE + slug, title, status, detail, ...(errors ? { errors } : {}) };
}

/** A problem+json Response. */
export function problemResponse(
  problem: Problem,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/**
 * The one mapping from errors to HTTP: an HttpError as it is, a domain error to its status
 * (a rate limit to 429 with Retry-After, a batch no wait would admit to 413); undefined
 * for anything unexpected.
 */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof BatchOverLimitError) {
    return new HttpError(413, error.message, {
      errors: [{
        path: error.field,
        message:
          `holds ${error.size} events; the workspace accepts at most ${error.limitPerMinute} per minute`,
      }],
    });
  }
  if (error instanceof RateLimitedError) {
    return new HttpError(429, error.message, {
      headers: { "retry-after": String(error.retryAfterSeconds) },
    });
  }
  return undefined;
}
