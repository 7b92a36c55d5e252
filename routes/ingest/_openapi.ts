import { z } from "@hono/zod-openapi";
import { CONTENT_CODINGS } from "../_body.ts";
import { ingestResponses, jsonResponse, problems } from "../_schemas.ts";

/** The `Content-Encoding` request header every ingest endpoint decodes. */
export const contentEncodingHeader = z.object({
  "content-encoding": z.enum([...CONTENT_CODINGS, "identity"]).optional().openapi({
    description:
      "A compressed body (gzip, deflate in the zlib format, or br) is decoded as it streams in; the decoded body has the same size limit (413 past it). Another coding answers 415; corrupt compressed data 400.",
  }),
});

/** Answer to an event whose id was already received, for senders that retry until a 2xx. */
export const duplicateSchema = z.object({
  success: z.literal(true),
  duplicate: z.literal(true),
  event_id: z.string(),
  trace_id: z.string(),
}).openapi("Duplicate");

/**
 * Ingest answers for senders that retry until they see a 2xx (Segment, shop and CRM hooks):
 * a duplicate is a 200 saying so, never a 409.
 */
export const retryingSenderResponses = {
  202: ingestResponses[202],
  200: jsonResponse(
    "Already received within the dedup window: nothing new is stored, and the 2xx stops the sender's retries",
    duplicateSchema,
  ),
  ...problems(400, 401, 403, 413, 415, 429),
};
