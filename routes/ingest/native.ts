import { z } from "@hono/zod-openapi";
import { nativeEventSchema } from "../../core/event.ts";
import { readBody } from "../_body.ts";
import { requireKey } from "../_auth.ts";
import { serverContext } from "../_context.ts";
import type { RouteDeps } from "../_env.ts";
import { eventsOf, INGEST_BODY_LIMIT, ingestResponse } from "../_request.ts";
import { ingestResponses } from "../_schemas.ts";
import { contentEncodingHeader } from "./_openapi.ts";

const batchSchema = z.object({ events: z.array(nativeEventSchema).min(1).max(500) })
  .openapi("EventBatch");

/** `POST /v1/events`: the native dialect, one event or a batch, with a server key. */
export function nativeIngestRoutes({ app, rt }: RouteDeps): void {
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/events",
    operationId: "ingestEvents",
    tags: ["Ingestion"],
    summary: "Send one event, or a batch of up to 500 (512 KiB)",
    description:
      "Authenticate with an ingest key. The same event_id within the dedup window answers 409 (single) or `duplicate` (batch item). 202 means stored durably and queued. The body may be compressed (Content-Encoding gzip, deflate or br); the 512 KiB limit applies to the decoded body.",
    security: [{ bearer: [] }],
    request: {
      headers: contentEncodingHeader,
      body: {
        required: true,
        content: {
          "application/json": { schema: z.union([nativeEventSchema, batchSchema]) },
        },
      },
    },
    responses: ingestResponses,
  });
  app.post("/v1/events", requireKey(rt, "ingest"), async (c) => {
    const body = await readBody(c.req.raw, { limit: INGEST_BODY_LIMIT });
    const { batch, events } = eventsOf(body);
    const workspace = c.get("workspace");
    const results = await rt.ingestor.ingest(
      workspace,
      events,
      serverContext(c, workspace, "native"),
      batch ? "events" : undefined,
    );
    return ingestResponse(c, results, { batch });
  });
}
