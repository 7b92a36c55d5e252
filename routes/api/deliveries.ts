import { OpenAPIHono, z } from "@hono/zod-openapi";
import { findDeliveries, MAX_SCANNED } from "../../lib/delivery/bulk_retry.ts";
import { DELIVERY_ROW_TTL_MS, DELIVERY_STATUSES } from "../../lib/delivery/rows.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

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

/**
 * `POST /v1/deliveries/retry`: resend a filtered set of deliveries — e.g. everything a paused
 * platform skipped or failed, once its settings are fixed — or, with `dry_run`, count them.
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
  return app;
}
