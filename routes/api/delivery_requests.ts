import { OpenAPIHono, z } from "@hono/zod-openapi";
import { connectorFor } from "../../connectors/mod.ts";
import { EVENT_LIMITS } from "../../core/event.ts";
import { curlOf, previewRequest } from "../../lib/delivery/preview.ts";
import { deliveriesOf } from "../../lib/delivery/rows.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonResponse, pathId, problems } from "../_schemas.ts";

const requestSchema = z.object({
  method: z.string(),
  url: z.string().openapi({ description: "Secrets masked" }),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).openapi({
    description: "Secrets masked",
  }),
  body: z.string().optional(),
  curl: z.string().openapi({ description: "The same request as a cURL command line" }),
}).openapi("DeliveryRequest");

/**
 * `GET /v1/events/{event_id}/deliveries/{platform_id}/request`: the request the event makes
 * alone for one destination, as the dashboard's event page shows it.
 */
export function deliveryRequestRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/events/{event_id}/deliveries/{platform_id}/request",
      operationId: "getDeliveryRequest",
      scope: "read",
      tags: ["Events"],
      summary: "The request this event makes for one platform (secrets masked)",
      description:
        "The connector maps the event alone with the platform's current settings; a batch " +
        "carries it beside other events in the same form. Delivery rows keep the method and " +
        "URL of every request sent, not batch bodies.",
      request: {
        params: z.object({ event_id: pathId(EVENT_LIMITS.idLength), platform_id: pathId() }),
      },
      responses: {
        200: jsonResponse("The request", requestSchema),
        ...problems(404, 422),
      },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const { event_id, platform_id } = c.req.valid("param");
      const view = await rt.events.getByEventId(wsId, event_id);
      if (!view) throw new HttpError(404, `No event "${event_id}" in this workspace`);
      const destination = await rt.destinations.get(wsId, platform_id);
      if (!destination) throw new HttpError(404, `No platform "${platform_id}" in this workspace`);
      const row = (await deliveriesOf(rt.kv, wsId, view.event.id))
        .find((r) => r.platform_id === platform_id);
      const preview = previewRequest(
        rt.destinations,
        connectorFor,
        destination,
        view.event,
        row?.event_name ?? view.event.event_name,
      );
      if ("unavailable" in preview) {
        throw new HttpError(422, `No request for this event: ${preview.unavailable}`);
      }
      const { request } = preview;
      return c.json({
        method: request.method,
        url: request.url,
        headers: Object.entries(request.headers).map(([name, value]) => ({ name, value })),
        ...(request.body === undefined ? {} : { body: request.body }),
        curl: curlOf(request),
      }, 200);
    },
  );
  return app;
}
