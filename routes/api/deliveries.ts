import { OpenAPIHono, z } from "@hono/zod-openapi";
import { findDeliveries, MAX_SCANNED } from "../../lib/delivery/bulk_retry.ts";
import { failureReport, failureReportSchema } from "../../lib/delivery/failures.ts";
import { DELIVERY_ROW_TTL_MS, DELIVERY_STATUSES } from "../../lib/delivery/rows.ts";
import { deliverySummary, deliverySummarySchema } from "../../lib/delivery/summary.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, problems, timeQuery } from "../_schemas.ts";

const RETRYABLE = ["failed", "skipped", "retrying", "accepted", "pending"] as const;

const retrySchema = z.object({
  platform_id: z.string().min(1).max(64).optional().openapi({
    description: "One platform (`dst_…`); all platforms when absent",
  }),
  statuses: z.array(z.enum(RETRYABLE)).min(1).max(DELIVERY_STATUSES.length).openapi({
    description: "Deliveries in these statuses are sent again",
  }),
  start: z.iso.datetime({ offset: true }).optional().openapi({
    description: "Events received from then (ISO 8601); default 30 days ago",
  }),
  end: z.iso.datetime({ offset: true }).optional().openapi({
    description: "Events received until then (ISO 8601); default now",
  }),
  dry_run: z.boolean().default(false).openapi({ description: "Only count the matches" }),
}).strict().openapi("BulkRetry", {
  example: { platform_id: "dst_…", statuses: ["failed", "skipped"], dry_run: true },
});

const retriedSchema = z.object({
  matched: z.number().int().openapi({ description: "Deliveries that match the filter" }),
  queued: z.number().int().openapi({ description: "Deliveries queued again (0 for a dry run)" }),
  truncated: z.boolean().openapi({
    description: `The search stopped after ${MAX_SCANNED} records: narrow start/end and repeat`,
  }),
}).openapi("BulkRetryResult");

/** How far back a report reaches without `start`, ms. */
const REPORT_DEFAULT_SPAN_MS = 86_400_000;

const rangeQuerySchema = z.object({
  start: timeQuery.optional().openapi({
    description: "Events received from then (unix seconds or ISO 8601); default 24 hours " +
      "before `end`",
  }),
  end: timeQuery.optional().openapi({
    description: "Events received until then (unix seconds or ISO 8601); default now",
  }),
});

const failuresQuerySchema = rangeQuerySchema.extend({
  platform_id: z.string().min(1).max(64).optional().openapi({
    description: "One platform (`dst_…`); all platforms when absent",
  }),
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({
    description: "Most groups answered (the largest)",
  }),
});

/** The query's range as epoch ms; `start` after `end` is a 400 naming `start`. */
function rangeOf(query: { start?: number; end?: number }): { start: number; end: number } {
  const end = query.end ?? Date.now();
  const start = query.start ?? end - REPORT_DEFAULT_SPAN_MS;
  if (start > end) {
    throw new HttpError(400, "start must not be after end", {
      errors: [{ path: "start", message: "must not be after end" }],
    });
  }
  return { start, end };
}

/**
 * `POST /v1/deliveries/retry`: resend a filtered set of deliveries — e.g. everything a paused
 * platform skipped or failed, once its settings are fixed — or, with `dry_run`, count them.
 * `GET /v1/deliveries/failures` and `/summary`: what went wrong, and how each platform did.
 */
export function deliveryRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/deliveries/retry",
      operationId: "retryDeliveries",
      scope: "admin",
      tags: ["Events"],
      summary: "Resend a filtered set of deliveries (or count it with dry_run)",
      request: { body: jsonBody(retrySchema) },
      responses: { 200: jsonResponse("Matched and queued", retriedSchema), ...problems(400, 404) },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const wsId = c.get("workspace").id;
      const now = Date.now();
      const start = input.start ? Date.parse(input.start) : now - DELIVERY_ROW_TTL_MS;
      const end = input.end ? Date.parse(input.end) : now;
      if (start > end) {
        throw new HttpError(400, "start must not be after end", {
          errors: [{ path: "start", message: "must not be after end" }],
        });
      }
      if (input.platform_id && !(await rt.destinations.get(wsId, input.platform_id))) {
        throw new HttpError(404, `No platform "${input.platform_id}" in this workspace`);
      }
      const { matches, truncated } = await findDeliveries(rt.kv, wsId, {
        destinationId: input.platform_id,
        statuses: input.statuses,
        start,
        end,
      });
      const matched = [...matches.values()].reduce((sum, d) => sum + d.size, 0);
      const queued = input.dry_run ? 0 : await rt.engine.resend(wsId, matches);
      return c.json({ matched, queued, truncated }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/deliveries/failures",
      operationId: "listDeliveryFailures",
      scope: "read",
      tags: ["Events"],
      summary: "Failed and skipped deliveries grouped by platform and reason, largest first",
      description: "Reasons are grouped by a key with event-specific parts (trace ids, quoted " +
        "values holding digits, long ids and numbers) replaced by `…`, so one platform error " +
        "on many events is one group. A scan of the deliveries of the events received in the " +
        "range, newest first, capped: `truncated` says it stopped early.",
      request: { query: failuresQuerySchema },
      responses: {
        200: jsonResponse("Groups, largest first", failureReportSchema),
        ...problems(400, 404),
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const range = rangeOf(query);
      const wsId = c.get("workspace").id;
      if (query.platform_id && !(await rt.destinations.get(wsId, query.platform_id))) {
        throw new HttpError(404, `No platform "${query.platform_id}" in this workspace`, {
          errors: [{ path: "platform_id", message: "names no platform of this workspace" }],
        });
      }
      const destinations = await rt.destinations.list(wsId);
      const report = await failureReport(rt.kv, rt.events.sealer, wsId, destinations, {
        ...range,
        destinationId: query.platform_id,
        limit: query.limit,
      });
      return c.json(report, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/deliveries/summary",
      operationId: "summarizeDeliveries",
      scope: "read",
      tags: ["Events"],
      summary: "Per platform: deliveries by status, p95 latency and the last error",
      description: "A scan of the deliveries of the events received in the range, newest " +
        "first, capped: `truncated` says it stopped early.",
      request: { query: rangeQuerySchema },
      responses: { 200: jsonResponse("Per platform", deliverySummarySchema), ...problems(400) },
    }),
    async (c) => {
      const range = rangeOf(c.req.valid("query"));
      const wsId = c.get("workspace").id;
      const destinations = await rt.destinations.list(wsId);
      return c.json(await deliverySummary(rt.kv, wsId, destinations, range), 200);
    },
  );
  return app;
}
