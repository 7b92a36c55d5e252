import { z } from "@hono/zod-openapi";

/** RFC 7807 problem document (every error body). */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
}).openapi("Problem");

/** One error response, for route docs. */
export function problemAnswer(status: number) {
  return {
    description: `Problem (${status})`,
    content: { "application/problem+json": { schema: problemSchema } },
  };
}

/** Error responses by status, for route docs. */
export function problems<const S extends number>(
  ...statuses: S[]
): Record<S, ReturnType<typeof problemAnswer>> {
  return Object.fromEntries(statuses.map((status) => [status, problemAnswer(status)])) as Record<
    S,
    ReturnType<typeof problemAnswer>
  >;
}

/** Longest id Sluice generates (`dst_…`, `rule_…`, `key_…`, webhook and delivery ULIDs). */
const MAX_ID_LENGTH = 64;

/**
 * A path parameter that holds an id. A longer value names nothing, so it answers 404
 * before KV is read (KV refuses keys past 2 KiB).
 */
export function pathId(maxLength: number = MAX_ID_LENGTH) {
  return z.string().max(maxLength, `is longer than any id (at most ${maxLength} characters)`);
}

/** A JSON response: its schema types the handler's answer and documents it. */
export function jsonResponse<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body: its schema validates the request and documents it. */
export function jsonBody<S extends z.ZodType>(schema: S, description?: string) {
  return { description, required: true, content: { "application/json": { schema } } };
}

/** Answer to one accepted event. */
export const acceptedSchema = z.object({
  success: z.literal(true),
  event_id: z.string(),
  trace_id: z.string(),
}).openapi("Accepted");

/** Answer to a batch. */
export const batchAcceptedSchema = z.object({
  success: z.literal(true),
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.number().int(),
  trace_id: z.string(),
  results: z.array(z.object({
    event_id: z.string().optional(),
    status: z.enum(["accepted", "duplicate", "rejected"]),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })),
}).openapi("BatchAccepted");

/** Ingest answers. */
export const ingestResponses = {
  202: {
    description: "Stored durably and queued: a single event, or a batch with per-event results",
    content: { "application/json": { schema: z.union([acceptedSchema, batchAcceptedSchema]) } },
  },
  ...problems(400, 401, 403, 409, 413, 415, 429),
};

/** A `start`/`end` query parameter: unix seconds or ISO 8601, parsed to epoch ms. */
export const timeQuery = z.string().max(40).transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `"${text}" is neither unix seconds nor ISO 8601` });
    return z.NEVER;
  }
  return ms;
}).openapi({ description: "Unix seconds or ISO 8601", example: "2026-12-01T00:00:00Z" });
