import { OpenAPIHono, z } from "@hono/zod-openapi";
import { lookUp } from "../../lib/event_lookup.ts";
import { EVENT_LIMITS, type SluiceEvent } from "../../core/event.ts";
import type { RequeueMode } from "../../lib/delivery/engine.ts";
import {
  deliveriesOf,
  DELIVERY_STATUSES,
  shownDeliveryRow,
  shownDeliveryRowSchema,
} from "../../lib/delivery/rows.ts";
import type { EventView } from "../../lib/event_store.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { canonicalEventSchema, publishedEvent } from "../../lib/webhooks/catalogue.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { withCursor } from "../_request.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, pathId, problems, timeQuery } from "../_schemas.ts";

/** An event as stored: the canonical event every dialect is parsed into. */
const storedEventSchema = canonicalEventSchema.openapi("StoredEvent");

const forwardSchema = z.object({ platforms: z.array(pathId()).min(1).max(50) })
  .strict().openapi("Forward", { example: { platforms: ["dst_…"] } });

const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional().openapi({
    description: "The next_cursor of the previous page",
  }),
  event_name: z.string().max(100).optional(),
  source: z.string().max(32).optional(),
  status: z.enum(DELIVERY_STATUSES).optional().openapi({
    description: "Events with a delivery in this status",
  }),
  platform: z.string().max(64).optional().openapi({
    description: "Events with a delivery to this platform id (`dst_…`) or type (`meta`)",
  }),
  start: timeQuery.optional().openapi({ description: "Events at or after this time" }),
  end: timeQuery.optional().openapi({ description: "Events before this time" }),
  search: z.string().max(200).optional().openapi({
    description: "Part of the event_id or order_id, any case",
  }),
  match: z.string().min(1).max(200).optional().openapi({
    description:
      "An exact order id, email, click id or customer id (any case): the events holding it, found through a hashed index over the whole retention (fan-out indexes an event moments after its 202), newest first; at most `limit`, with no next page",
    example: "ORD-1001",
  }),
});

const eventPageSchema = z.object({
  data: z.array(storedEventSchema),
  next_cursor: z.string().nullable(),
}).openapi("EventPage");

const eventDetailSchema = z.object({
  event: storedEventSchema,
  handed_off_at: z.string().nullable().openapi({
    description: "When the event reached fan-out; null until it has",
  }),
  deliveries: z.array(shownDeliveryRowSchema),
}).openapi("EventDetail");

const requeuedSchema = z.object({
  event_id: z.string(),
  queued: z.array(shownDeliveryRowSchema),
}).openapi("Requeued");

/** Index entries a `match` reads before the other filters apply. */
const MATCH_SCAN = 200;

const eventParams = z.object({ event_id: pathId(EVENT_LIMITS.idLength) });
const tags: [string] = ["Events"];

/** The filter `GET /v1/events` applies to each stored event. */
function eventFilter(rt: Runtime, wsId: string, q: z.output<typeof listQuerySchema>) {
  const search = q.search?.toLowerCase();
  const byDelivery = async (e: SluiceEvent) => {
    if (!q.status && !q.platform) return true;
    const rows = await deliveriesOf(rt.kv, wsId, e.id);
    return rows.some((r) =>
      (!q.status || r.status === q.status) &&
      (!q.platform || r.platform_id === q.platform || r.type === q.platform)
    );
  };
  return async (e: SluiceEvent) =>
    (!q.event_name || e.event_name === q.event_name) &&
    (!q.source || e.source === q.source) &&
    (q.start === undefined || e.event_time >= q.start) &&
    (q.end === undefined || e.event_time < q.end) &&
    (!search || e.event_id.toLowerCase().includes(search) ||
      (e.order_id ?? "").toLowerCase().includes(search)) &&
    await byDelivery(e);
}

async function eventOr404(rt: Runtime, wsId: string, eventId: string): Promise<EventView> {
  const view = await rt.events.getByEventId(wsId, eventId);
  if (!view) throw new HttpError(404, `No event "${eventId}" in this workspace`);
  return view;
}

/** Checks that every platform to forward to exists; 400 names the first that does not. */
async function forwardMode(rt: Runtime, wsId: string, platforms: string[]): Promise<RequeueMode> {
  for (const id of platforms) {
    if (!(await rt.destinations.get(wsId, id))) {
      throw new HttpError(400, `No platform "${id}" in this workspace`, {
        errors: [{ path: "platforms", message: `unknown platform "${id}"` }],
      });
    }
  }
  return { kind: "forward", destinationIds: platforms };
}

/** The read side of events (`GET /v1/events`, `GET /v1/events/:event_id`) and their replay, forward and retry-failed. */
export function eventRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/events",
      operationId: "listEvents",
      scope: "read",
      tags,
      summary: "List stored events, newest first",
      request: { query: listQuerySchema },
      responses: { 200: jsonResponse("A page of events", eventPageSchema), ...problems(400) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const wsId = c.get("workspace").id;
      const filter = eventFilter(rt, wsId, q);
      if (q.match !== undefined) {
        if (q.cursor !== undefined) {
          throw new HttpError(400, "match answers one page: it takes no cursor", {
            errors: [{ path: "cursor", message: "is not taken with match (raise limit instead)" }],
          });
        }
        const hits = await lookUp(rt.kv, wsId, q.match, MATCH_SCAN);
        const views = await Promise.all(hits.map((hit) => rt.events.getByUlid(wsId, hit.ulid)));
        const data: SluiceEvent[] = [];
        for (const view of views) {
          if (data.length < q.limit && view && await filter(view.event)) data.push(view.event);
        }
        return c.json({ data: data.map(publishedEvent), next_cursor: null }, 200);
      }
      const page = await withCursor(() =>
        rt.events.list(wsId, { limit: q.limit, cursor: q.cursor, filter })
      );
      return c.json({ data: page.data.map(publishedEvent), next_cursor: page.next_cursor }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/events/{event_id}",
      operationId: "getEvent",
      scope: "read",
      tags,
      summary: "One event by its event_id, with its deliveries",
      request: { params: eventParams },
      responses: { 200: jsonResponse("The event", eventDetailSchema), ...problems(404) },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const view = await eventOr404(rt, wsId, c.req.valid("param").event_id);
      return c.json({
        event: publishedEvent(view.event),
        handed_off_at: view.handed_off_at ? new Date(view.handed_off_at).toISOString() : null,
        deliveries: (await deliveriesOf(rt.kv, wsId, view.event.id)).map(shownDeliveryRow),
      }, 200);
    },
  );

  const requeue = async (wsId: string, view: EventView, mode: RequeueMode) => ({
    event_id: view.event.event_id,
    queued: (await rt.engine.requeue(wsId, view.event, mode)).map(shownDeliveryRow),
  });
  const requeued = jsonResponse("The deliveries now queued", requeuedSchema);

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/events/{event_id}/replay",
      operationId: "replayEvent",
      scope: "admin",
      tags,
      summary: "Send the event again through the current rules, even where it was delivered",
      request: { params: eventParams },
      responses: { 202: requeued, ...problems(404) },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const view = await eventOr404(rt, wsId, c.req.valid("param").event_id);
      return c.json(await requeue(wsId, view, { kind: "replay" }), 202);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/events/{event_id}/forward",
      operationId: "forwardEvent",
      scope: "admin",
      tags,
      summary: 'Send the event to the given platforms: {"platforms": [id, …]}',
      request: { params: eventParams, body: jsonBody(forwardSchema) },
      responses: { 202: requeued, ...problems(400, 404, 413, 415) },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const view = await eventOr404(rt, wsId, c.req.valid("param").event_id);
      const mode = await forwardMode(rt, wsId, c.req.valid("json").platforms);
      return c.json(await requeue(wsId, view, mode), 202);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/events/{event_id}/retry-failed",
      operationId: "retryFailedDeliveries",
      scope: "admin",
      tags,
      summary: "Retry the deliveries of this event that failed",
      request: { params: eventParams },
      responses: { 202: requeued, ...problems(404) },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const view = await eventOr404(rt, wsId, c.req.valid("param").event_id);
      return c.json(await requeue(wsId, view, { kind: "retry_failed" }), 202);
    },
  );
  return app;
}
