import type { Context, MiddlewareHandler } from "hono";
import type { Hook, z } from "@hono/zod-openapi";
// Validation answers say what each field must be.
import "../core/field_messages.ts";
import { readBody } from "./_body.ts";
import { HttpError, problemOf, problemResponse } from "./_http_error.ts";
import { InvalidCursorError } from "../lib/kv/page.ts";
import type { IngestResult } from "../lib/ingest/ingestor.ts";
import type { FieldError } from "../core/field_error.ts";
import type { AppEnv } from "./_env.ts";

/** Largest management request body, bytes. */
export const MANAGEMENT_BODY_LIMIT = 64 * 1024;
/** Largest ingest request body, bytes (API.md: 512 KiB). */
export const INGEST_BODY_LIMIT = 512 * 1024;
/** Most events in one ingest request (API.md: 500). */
export const MAX_BATCH_EVENTS = 500;

/**
 * Reads a management route's JSON body ahead of its validator, with the statuses of
 * {@linkcode readBody}: 415 for another content type, 413 past 64 KiB, 400 for an empty or
 * malformed body. The parsed value goes into Hono's body cache, where the route's `json`
 * validator reads it, so the body is read once.
 */
export const readJsonBody: MiddlewareHandler<AppEnv> = async function readJsonBody(c, next) {
  const body = await readBody(c.req.raw, { limit: MANAGEMENT_BODY_LIMIT });
  c.req.bodyCache.json = Promise.resolve(body);
  await next();
};

/**
 * The one answer to a failed route validation (the apps' `defaultHook`): a path parameter
 * no id can match is 404; a bad query or body is 400 naming each field in `errors`.
 */
export const validationProblem: Hook<unknown, AppEnv, string, void> = (result, c) => {
  if (result.success) return;
  if (result.target === "param") throw notFoundParam(c, result.error);
  throw new HttpError(
    400,
    result.target === "query" ? "Invalid query parameters" : "The request body has invalid fields",
    { errors: fieldErrorsOf(result.error) },
  );
};

function notFoundParam(c: Context<AppEnv>, error: z.ZodError): HttpError {
  const [issue] = error.issues;
  const name = String(issue?.path[0] ?? "id");
  const value = c.req.param(name) ?? "";
  return new HttpError(404, `No ${name} "${value.slice(0, 64)}…" exists: ${issue?.message}`);
}

/** Zod issues as field errors: the dotted path to the field and what was wrong with it. */
function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

/** Runs a paged read; a cursor this endpoint did not issue becomes a 400 naming `cursor`. */
export async function withCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof InvalidCursorError)) throw error;
    throw new HttpError(400, error.message, {
      errors: [{ path: "cursor", message: "was not returned by this endpoint" }],
    });
  }
}

/** Splits a body into its events: `{"events": [...]}` is a batch, anything else one event. */
export function eventsOf(
  body: unknown,
  batchField = "events",
): { batch: boolean; events: unknown[] } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "The request body must be a JSON object");
  }
  const list = (body as Record<string, unknown>)[batchField];
  if (list === undefined) return { batch: false, events: [body] };
  if (!Array.isArray(list)) {
    throw new HttpError(400, `"${batchField}" must be an array`, {
      errors: [{ path: batchField, message: "must be an array" }],
    });
  }
  if (list.length === 0) {
    throw new HttpError(400, `"${batchField}" is empty`, {
      errors: [{ path: batchField, message: "must hold at least one event" }],
    });
  }
  if (list.length > MAX_BATCH_EVENTS) {
    throw new HttpError(
      413,
      `"${batchField}" holds ${list.length} events; at most ${MAX_BATCH_EVENTS} are accepted per request`,
    );
  }
  return { batch: true, events: list };
}

/** How an ingest endpoint answers (see {@link ingestResponse}). */
export interface IngestAnswerOptions {
  /** The body was a batch: 202 with per-event results. */
  batch?: boolean;
  /** Extra response headers (CORS). */
  headers?: Record<string, string>;
  /**
   * How one duplicate event is answered: 409 (the native API), or 200 with
   * `"duplicate": true` for senders that retry until they see a 2xx (Segment, shop hooks).
   */
  duplicateStatus?: 409 | 200;
}

/**
 * Answers an ingest request: one event → 202, 409 or 200 (duplicate, per
 * `duplicateStatus`) or 400; a batch → 202 with per-event results, or 400 when no event
 * could be accepted.
 */
export function ingestResponse(
  c: Context<AppEnv>,
  results: IngestResult[],
  { batch = false, headers = {}, duplicateStatus = 409 }: IngestAnswerOptions = {},
): Response {
  const traceId = c.get("traceId");
  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) counts[r.status]++;
  c.set("ingested", counts);
  if (!batch) {
    const [result] = results;
    if (result?.status === "accepted") {
      return c.json({ success: true, event_id: result.event_id, trace_id: traceId }, 202, headers);
    }
    if (result?.status === "duplicate" && duplicateStatus === 200) {
      return c.json(
        { success: true, duplicate: true, event_id: result.event_id, trace_id: traceId },
        200,
        headers,
      );
    }
    if (result?.status === "duplicate") {
      return problemResponse({
        ...problemOf(
          409,
          `Event "${result.event_id}" was already received within the dedup window`,
        ),
        event_id: result.event_id,
        trace_id: traceId,
      } as ReturnType<typeof problemOf>, headers);
    }
    return problemResponse(
      problemOf(400, "The event is invalid", result?.errors ?? []),
      headers,
    );
  }
  if (counts.rejected === results.length) {
    return problemResponse(
      problemOf(400, "No event in the batch is valid", results.flatMap((r) => r.errors ?? [])),
      headers,
    );
  }
  return c.json(
    {
      success: true,
      accepted: counts.accepted,
      duplicates: counts.duplicate,
      rejected: counts.rejected,
      trace_id: traceId,
      results,
    },
    202,
    headers,
  );
}
