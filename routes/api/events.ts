import { z } from "@hono/zod-openapi";
import { EVENT_LIMITS, type SluiceEvent } from "../../core/event.ts";
import { HttpError } from "../_http_error.ts";
import { requireKey } from "../_auth.ts";
import type { RouteDeps } from "../_env.ts";
import { parseJsonBody, parseQuery, withCursor } from "../_request.ts";
import { deliveriesOf } from "../../lib/delivery/rows.ts";
import type { RequeueMode } from "../../lib/delivery/engine.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const forwardSchema = z.object({ platforms: z.array(z.string().max(64)).min(1).max(50) })
  .strict().openapi("Forward", { example: { platforms: ["dst_…"] } });

const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
  event_name: z.string().max(100).optional(),
  source: z.string().max(32).optional(),
  status: z.enum(["pending", "delivered", "retrying", "failed", "skipped"]).optional(),
  /** A platform id (`dst_…`) or type (`meta`). */
  platform: z.string().max(64).optional(),
  start: z.string().max(40).optional(),
  end: z.string().max(40).optional(),
  search: z.string().max(200).optional(),
});

const eventViewSchema = z.record(z.string(), z.unknown()).openapi("StoredEvent");

/** The read side of events (`GET /v1/events`, `GET /v1/events/:event_id`) and their replay, forward and retry-failed. */
export function eventRoutes({ app, rt }: RouteDeps): void {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/events",
    tags: ["Events"],
    summary: "List stored events, newest first",
    security: [{ bearer: [] }],
    request: { query: listQuerySchema },
    responses: {
      200: jsonResponse(
        "A page of events",
        z.object({ data: z.array(eventViewSchema), next_cursor: z.string().nullable() }),
      ),
      ...problems(400, 401, 403),
    },
  });
  app.get("/v1/events", requireKey(rt, "read"), async (c) => {
    const q = parseQuery(c, listQuerySchema);
    const start = q.start ? parseTime(q.start, "start") : undefined;
    const end = q.end ? parseTime(q.end, "end") : undefined;
    const search = q.search?.toLowerCase();
    const wsId = c.get("workspace").id;
    const byDelivery = async (e: SluiceEvent) => {
      if (!q.status && !q.platform) return true;
      const rows = await deliveriesOf(rt.kv, wsId, e.id);
      return rows.some((r) =>
        (!q.status || r.status === q.status) &&
        (!q.platform || r.platform_id === q.platform || r.type === q.platform)
      );
    };
    const filter = async (e: SluiceEvent) =>
      (!q.event_name || e.event_name === q.event_name) &&
      (!q.source || e.source === q.source) &&
      (start === undefined || e.event_time >= start) &&
      (end === undefined || e.event_time < end) &&
      (!search || e.event_id.toLowerCase().includes(search) ||
        (e.order_id ?? "").toLowerCase().includes(search)) &&
      await byDelivery(e);
    return c.json(
      await withCursor(() =>
        rt.events.list(c.get("workspace").id, { limit: q.limit, cursor: q.cursor, filter })
      ),
    );
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/events/{event_id}",
    tags: ["Events"],
    summary: "One event by its event_id, with its deliveries",
    security: [{ bearer: [] }],
    request: { params: z.object({ event_id: z.string() }) },
    responses: {
      200: jsonResponse(
        "The event",
        z.object({
          event: eventViewSchema,
          handed_off_at: z.string().nullable(),
          deliveries: z.array(z.record(z.string(), z.unknown())),
        }),
      ),
      ...problems(401, 403, 404),
    },
  });
  app.get("/v1/events/:event_id", requireKey(rt, "read"), async (c) => {
    const eventId = c.req.param("event_id");
    const view = eventId.length <= EVENT_LIMITS.idLength
      ? await rt.events.getByEventId(c.get("workspace").id, eventId)
      : null;
    if (!view) throw new HttpError(404, `No event "${eventId.slice(0, 200)}" in this workspace`);
    return c.json({
      event: view.event,
      handed_off_at: view.handed_off_at ? new Date(view.handed_off_at).toISOString() : null,
      deliveries: await deliveriesOf(rt.kv, c.get("workspace").id, view.event.id),
    });
  });

  const requeueAnswer = jsonResponse(
    "The deliveries now queued",
    z.object({ event_id: z.string(), queued: z.array(z.record(z.string(), z.unknown())) }),
  );
  for (
    const [action, summary] of [
      ["replay", "Send the event again through the current rules, even where it was delivered"],
      ["forward", 'Send the event to the given platforms: {"platforms": [id, …]}'],
      ["retry-failed", "Retry the deliveries of this event that failed"],
    ] as const
  ) {
    app.openAPIRegistry.registerPath({
      method: "post",
      path: `/v1/events/{event_id}/${action}`,
      tags: ["Events"],
      summary,
      security: [{ bearer: [] }],
      request: {
        params: z.object({ event_id: z.string() }),
        ...(action === "forward" ? { body: jsonBody(forwardSchema) } : {}),
      },
      responses: { 202: requeueAnswer, ...problems(400, 401, 403, 404) },
    });
    app.post(`/v1/events/:event_id/${action}`, requireKey(rt, "admin"), async (c) => {
      const wsId = c.get("workspace").id;
      const eventId = c.req.param("event_id");
      const view = eventId.length <= EVENT_LIMITS.idLength
        ? await rt.events.getByEventId(wsId, eventId)
        : null;
      if (!view) throw new HttpError(404, `No event "${eventId.slice(0, 200)}" in this workspace`);
      let mode: RequeueMode;
      if (action === "forward") {
        const { platforms } = await parseJsonBody(c, forwardSchema);
        for (const id of platforms) {
          if (!(await rt.destinations.get(wsId, id))) {
            throw new HttpError(400, `No platform "${id.slice(0, 64)}" in this workspace`, {
              errors: [{ path: "platforms", message: `unknown platform "${id.slice(0, 64)}"` }],
            });
          }
        }
        mode = { kind: "forward", destinationIds: platforms };
      } else {
        mode = action === "replay" ? { kind: "replay" } : { kind: "retry_failed" };
      }
      const queued = await rt.engine.requeue(wsId, view.event, mode);
      return c.json({ event_id: view.event.event_id, queued }, 202);
    });
  }
}

function parseTime(text: string, name: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new HttpError(400, `Invalid "${name}"`, {
      errors: [{ path: name, message: `"${text}" is neither unix seconds nor ISO 8601` }],
    });
  }
  return ms;
}
