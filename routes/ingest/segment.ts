import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { readBody } from "../_body.ts";
import {
  segmentBatchSchema,
  segmentMessageSchema,
  segmentToNative,
} from "../../lib/ingest/dialects/segment.ts";
import { HttpError } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { authenticateSecret, basicUser, bearerToken } from "../_auth.ts";
import { serverContext } from "../_context.ts";
import type { AppEnv, RouteDeps } from "../_env.ts";
import { eventsOf, INGEST_BODY_LIMIT, ingestResponse } from "../_request.ts";
import { ingestResponses } from "../_schemas.ts";

const CALLS = ["track", "identify", "page", "screen", "group", "alias"] as const;

/**
 * The Segment HTTP Tracking API: `/v1/batch` and one endpoint per call. The write key is
 * the HTTP Basic user name, a Bearer token, or `writeKey` in the body; `messageId`
 * becomes the event id, so Segment's retries are deduplicated.
 */
export function segmentRoutes({ app, rt }: RouteDeps): void {
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/batch",
    operationId: "segmentBatch",
    tags: ["Segment"],
    summary: "Segment batch (write key as Basic user name)",
    security: [{ basic: [] }],
    request: {
      body: { required: true, content: { "application/json": { schema: segmentBatchSchema } } },
    },
    responses: ingestResponses,
  });
  app.post("/v1/batch", (c) => ingestSegment(c, rt));
  for (const call of CALLS) {
    app.openAPIRegistry.registerPath({
      method: "post",
      path: `/v1/${call}`,
      operationId: `segment${call[0]!.toUpperCase()}${call.slice(1)}`,
      tags: ["Segment"],
      summary: `Segment ${call} call`,
      security: [{ basic: [] }],
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: segmentMessageSchema } },
        },
      },
      responses: ingestResponses,
    });
    app.post(`/v1/${call}`, (c) => ingestSegment(c, rt, call));
  }
}

const writeKeyOnly = z.object({ writeKey: z.string().optional() }).passthrough();

async function ingestSegment(c: Context<AppEnv>, rt: Runtime, call?: string): Promise<Response> {
  const body = await readBody(c.req.raw, { limit: INGEST_BODY_LIMIT });
  const header = c.req.header("authorization");
  const bodyKey = writeKeyOnly.safeParse(body).data?.writeKey;
  const { workspace } = await authenticateSecret(
    rt,
    basicUser(header) ?? bearerToken(header) ?? bodyKey,
    "ingest",
  );
  const { batch, events } = call ? { batch: false, events: [body] } : eventsOf(body, "batch");
  if (!call && !batch) {
    throw new HttpError(400, '"batch" is required', {
      errors: [{ path: "batch", message: "must be an array of messages" }],
    });
  }
  const batchContext = call ? {} : (body as { context?: unknown }).context;
  const inputs = events.map((message) => {
    if (typeof message !== "object" || message === null) return message;
    const m = message as Record<string, unknown>;
    const merged = batchContext && typeof batchContext === "object"
      ? { ...m, context: { ...batchContext, ...(m.context as object | undefined) } }
      : m;
    return segmentToNative(merged, call);
  });
  const results = await rt.ingestor.ingest(
    workspace,
    inputs,
    serverContext(c, workspace, "segment"),
    batch ? "batch" : undefined,
  );
  return ingestResponse(c, results, batch);
}
