import { z } from "@hono/zod-openapi";

/** RFC 7807 problem document (every error body). */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
}).openapi("Problem");

/** Error responses, for route docs. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, {
    description: `Problem (${status})`,
    content: { "application/problem+json": { schema: problemSchema } },
  }]));
}

/** A JSON response, for route docs. */
export function jsonResponse(description: string, schema: z.ZodType) {
  return { description, content: { "application/json": { schema } } };
}

/** A JSON request body, for route docs. */
export function jsonBody(schema: z.ZodType, description?: string) {
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
