import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { readBody } from "../_body.ts";
import {
  SEGMENT_CALLS,
  segmentBatchSchema,
  segmentInput,
  segmentMessageSchema,
} from "../../lib/ingest/dialects/segment.ts";
import { HttpError } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { authenticateSecret, basicUser, bearerToken } from "../_auth.ts";
import { serverContext } from "../_context.ts";
import type { AppEnv, RouteDeps } from "../_env.ts";
import { eventsOf, INGEST_BODY_LIMIT, ingestResponse } from "../_request.ts";
import { contentEncodingHeader, retryingSenderResponses } from "./_openapi.ts";

const DUPLICATES =
  "A `messageId` already received within the dedup window answers 200 with `duplicate: true` (single call) or `status: duplicate` (batch item), as Segment does, so a retrying library stops.";

/**
 * The Segment HTTP Tracking API: `/v1/batch` (and its alias `/v1/import`, where Segment's
 * mobile libraries post) and one endpoint per call. The write key is the HTTP Basic user
 * name, a Bearer token, or `writeKey` in the body; `messageId` becomes the event id, so
 * Segment's retries are deduplicated. Bodies may be compressed (gzip, deflate, br).
 */
export function segmentRoutes({ app, rt }: RouteDeps): void {
  for (const path of ["/v1/batch", "/v1/import"]) {
    app.openAPIRegistry.registerPath({
      method: "post",
      path,
      operationId: path === "/v1/batch" ? "segmentBatch" : "segmentImport",
      tags: ["Segment"],
      summary: path === "/v1/batch"
        ? "Segment batch (write key as Basic user name)"
        : "Segment batch: alias of /v1/batch, where Segment's mobile libraries post",
      description: `Up to 500 messages (512 KiB decoded). ${DUPLICATES}`,
      security: [{ basic: [] }],
      request: {
        headers: contentEncodingHeader,
        body: { required: true, content: { "application/json": { schema: segmentBatchSchema } } },
      },
      responses: retryingSenderResponses,
    });
    app.post(path, (c) => ingestSegment(c, rt));
  }
  for (const call of SEGMENT_CALLS) {
    app.openAPIRegistry.registerPath({
      method: "post",
      path: `/v1/${call}`,
      operationId: `segment${call[0]!.toUpperCase()}${call.slice(1)}`,
      tags: ["Segment"],
      summary: `Segment ${call} call`,
      description: DUPLICATES,
      security: [{ basic: [] }],
      request: {
        headers: contentEncodingHeader,
        body: {
          required: true,
          content: { "application/json": { schema: segmentMessageSchema } },
        },
      },
      responses: retryingSenderResponses,
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
    return segmentInput(merged, call);
  });
  const results = await rt.ingestor.ingest(
    workspace,
    inputs,
    serverContext(c, workspace, "segment"),
    batch ? "batch" : undefined,
  );
  return ingestResponse(c, results, { batch, duplicateStatus: 200 });
}
