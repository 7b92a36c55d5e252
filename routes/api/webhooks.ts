import { z } from "@hono/zod-openapi";
import { HttpError } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import {
  catalogueDocument,
  DEFAULT_WEBHOOK_EVENTS,
  WEBHOOK_EVENT_TYPES,
} from "../../lib/webhooks/catalogue.ts";
import {
  getDelivery,
  listDeliveries,
  type WebhookDelivery,
} from "../../lib/webhooks/deliveries.ts";
import { RedeliverError } from "../../lib/webhooks/sender.ts";
import { publicWebhook, type Webhook, WebhookLimitError } from "../../lib/webhooks/store.ts";
import { requireKey } from "../_auth.ts";
import type { RouteDeps } from "../_env.ts";
import { parseJsonBody, parseQuery, withCursor } from "../_request.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const eventTypes = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);
const url = z.url({ protocol: /^https?$/ }).max(2048);

const createSchema = z.object({
  url,
  events: eventTypes.optional().openapi({
    description: "Types to receive; every type but the opt-in event.received when absent",
  }),
  description: z.string().trim().max(200).default(""),
  enabled: z.boolean().default(true),
}).strict().openapi("CreateWebhook", {
  example: {
    url: "https://crm.example/hooks/sluice",
    events: ["conversion.created", "delivery.failed"],
    description: "CRM",
  },
});

const updateSchema = z.object({
  url: url.optional(),
  events: eventTypes.optional(),
  description: z.string().trim().max(200).optional(),
  enabled: z.boolean().optional().openapi({
    description: "true re-enables a webhook that was disabled after failing",
  }),
}).strict().openapi("UpdateWebhook");

const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  description: z.string(),
  enabled: z.boolean(),
  status: z.enum(["active", "failing", "disabled"]),
  failing_since: z.string().optional(),
  disabled_reason: z.string().optional(),
  disabled_at: z.string().optional(),
  previous_secret_expires_at: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Webhook");

const attemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  status: z.number().int().optional(),
  latency_ms: z.number(),
  response: z.string().openapi({ description: "The first 2 KiB of the answer body" }),
  error: z.string().optional(),
});

const deliverySchema = z.object({
  id: z.string(),
  webhook_id: z.string(),
  message_id: z.string().openapi({ description: "The webhook-id header" }),
  event_type: z.string(),
  status: z.enum(["pending", "delivered", "retrying", "failed"]),
  attempts: z.number().int(),
  next_attempt_at: z.number().optional(),
  last_status: z.number().int().optional(),
  last_error: z.string().optional(),
  attempt_log: z.array(attemptSchema),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("WebhookDelivery");

const deliveryQuerySchema = z.object({
  status: z.enum(["pending", "delivered", "retrying", "failed"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

async function checkedUrl(rt: Runtime, value: string): Promise<string> {
  const check = await rt.urlGuard(value);
  if (!check.ok) {
    throw new HttpError(400, `url is not allowed: ${check.reason}`, {
      errors: [{ path: "url", message: check.reason }],
    });
  }
  return value;
}

async function webhookOr404(rt: Runtime, wsId: string, id: string): Promise<Webhook> {
  const webhook = id.length <= 64 ? await rt.webhooks.get(wsId, id) : null;
  if (!webhook) throw new HttpError(404, `No webhook "${id.slice(0, 64)}" in this workspace`);
  return webhook;
}

async function deliveryOr404(rt: Runtime, webhook: Webhook, id: string): Promise<WebhookDelivery> {
  const delivery = id.length <= 64
    ? await getDelivery(rt.kv, webhook.workspace_id, webhook.id, id)
    : null;
  if (!delivery) throw new HttpError(404, `No delivery "${id.slice(0, 64)}" for this webhook`);
  return delivery;
}

async function shown(rt: Runtime, webhook: Webhook) {
  return publicWebhook(webhook, await rt.webhooks.health(webhook.workspace_id, webhook.id));
}

/** Route docs for one path. */
type PathDoc = Parameters<RouteDeps["app"]["openAPIRegistry"]["registerPath"]>[0];

/** `/v1/webhooks` and `/v1/webhook-events`: outbound webhooks and their delivery log. */
export function webhookRoutes({ app, rt }: RouteDeps): void {
  const admin = requireKey(rt, "admin");
  const read = requireKey(rt, "read");
  const doc = (path: Omit<PathDoc, "tags" | "security">) =>
    app.openAPIRegistry.registerPath({ tags: ["Webhooks"], security: [{ bearer: [] }], ...path });
  const idParam = z.object({ id: z.string() });

  doc({
    method: "get",
    path: "/v1/webhook-events",
    summary: "The message types webhooks receive, each with its JSON Schema and an example",
    responses: {
      200: jsonResponse(
        "Catalogue",
        z.object({
          data: z.array(z.object({
            type: z.string(),
            description: z.string(),
            opt_in: z.boolean(),
            schema: z.record(z.string(), z.unknown()),
            example: z.record(z.string(), z.unknown()),
          })),
        }),
      ),
      ...problems(401, 403),
    },
  });
  const catalogue = catalogueDocument();
  app.get("/v1/webhook-events", read, (c) => c.json({ data: catalogue }));

  doc({
    method: "post",
    path: "/v1/webhooks",
    summary: "Register a webhook; its signing secret appears only in this answer",
    request: { body: jsonBody(createSchema) },
    responses: {
      201: jsonResponse(
        "Created; keep `secret` (whsec_…): it is never shown again",
        webhookSchema.extend({ secret: z.string() }),
      ),
      ...problems(400, 401, 403, 422),
    },
  });
  app.post("/v1/webhooks", admin, async (c) => {
    const input = await parseJsonBody(c, createSchema);
    const wsId = c.get("workspace").id;
    try {
      const { webhook, secret } = await rt.webhooks.create(wsId, {
        url: await checkedUrl(rt, input.url),
        events: input.events ?? DEFAULT_WEBHOOK_EVENTS,
        description: input.description,
        enabled: input.enabled,
      });
      return c.json({ ...publicWebhook(webhook, null), secret }, 201);
    } catch (error) {
      if (error instanceof WebhookLimitError) throw new HttpError(422, error.message);
      throw error;
    }
  });

  doc({
    method: "get",
    path: "/v1/webhooks",
    summary: "List webhooks (never with secrets)",
    responses: {
      200: jsonResponse("Webhooks", z.object({ data: z.array(webhookSchema) })),
      ...problems(401, 403),
    },
  });
  app.get("/v1/webhooks", read, async (c) => {
    const list = await rt.webhooks.list(c.get("workspace").id);
    return c.json({ data: await Promise.all(list.map((hook) => shown(rt, hook))) });
  });

  doc({
    method: "get",
    path: "/v1/webhooks/{id}",
    summary: "One webhook",
    request: { params: idParam },
    responses: { 200: jsonResponse("Webhook", webhookSchema), ...problems(401, 403, 404) },
  });
  app.get("/v1/webhooks/:id", read, async (c) => {
    return c.json(
      await shown(rt, await webhookOr404(rt, c.get("workspace").id, c.req.param("id"))),
    );
  });

  doc({
    method: "patch",
    path: "/v1/webhooks/{id}",
    summary: "Change url, events, description or enabled (true re-enables a disabled webhook)",
    request: { params: idParam, body: jsonBody(updateSchema) },
    responses: { 200: jsonResponse("Updated", webhookSchema), ...problems(400, 401, 403, 404) },
  });
  app.patch("/v1/webhooks/:id", admin, async (c) => {
    const wsId = c.get("workspace").id;
    const webhook = await webhookOr404(rt, wsId, c.req.param("id"));
    const patch = await parseJsonBody(c, updateSchema);
    if (patch.url !== undefined) await checkedUrl(rt, patch.url);
    const updated = await rt.webhooks.update(wsId, webhook.id, patch);
    if (!updated) throw new HttpError(404, `No webhook "${webhook.id}" in this workspace`);
    return c.json(await shown(rt, updated));
  });

  doc({
    method: "delete",
    path: "/v1/webhooks/{id}",
    summary: "Delete a webhook; messages still queued for it are dropped",
    request: { params: idParam },
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  });
  app.delete("/v1/webhooks/:id", admin, async (c) => {
    const id = c.req.param("id");
    if (!(await rt.webhooks.delete(c.get("workspace").id, id))) {
      throw new HttpError(404, `No webhook "${id.slice(0, 64)}" in this workspace`);
    }
    return c.body(null, 204);
  });

  doc({
    method: "post",
    path: "/v1/webhooks/{id}/rotate-secret",
    summary: "New signing secret, shown once; the old one keeps signing beside it for 24 h",
    request: { params: idParam },
    responses: {
      200: jsonResponse(
        "The new secret",
        z.object({ secret: z.string(), previous_secret_expires_at: z.string() }),
      ),
      ...problems(401, 403, 404),
    },
  });
  app.post("/v1/webhooks/:id/rotate-secret", admin, async (c) => {
    const wsId = c.get("workspace").id;
    const webhook = await webhookOr404(rt, wsId, c.req.param("id"));
    const rotated = await rt.webhooks.rotateSecret(wsId, webhook.id);
    if (!rotated) throw new HttpError(404, `No webhook "${webhook.id}" in this workspace`);
    return c.json({
      secret: rotated.secret,
      previous_secret_expires_at: new Date(rotated.previous_secret_expires_at).toISOString(),
    });
  });

  doc({
    method: "post",
    path: "/v1/webhooks/{id}/test",
    summary: "Send a webhook.test ping now and answer with what the receiver said",
    request: { params: idParam },
    responses: {
      200: jsonResponse(
        "The receiver's answer (delivered: a 2xx within the time limit)",
        z.object({
          delivered: z.boolean(),
          status: z.number().int().nullable(),
          latency_ms: z.number(),
          response: z.string(),
          error: z.string().optional(),
          delivery_id: z.string(),
          message_id: z.string(),
        }),
      ),
      ...problems(401, 403, 404),
    },
  });
  app.post("/v1/webhooks/:id/test", admin, async (c) => {
    const webhook = await webhookOr404(rt, c.get("workspace").id, c.req.param("id"));
    return c.json(await rt.webhookSender.test(webhook));
  });

  doc({
    method: "get",
    path: "/v1/webhooks/{id}/deliveries",
    summary: "The webhook's delivery log, newest first, with every attempt",
    request: { params: idParam, query: deliveryQuerySchema },
    responses: {
      200: jsonResponse(
        "Deliveries",
        z.object({ data: z.array(deliverySchema), next_cursor: z.string().nullable() }),
      ),
      ...problems(400, 401, 403, 404),
    },
  });
  app.get("/v1/webhooks/:id/deliveries", read, async (c) => {
    const wsId = c.get("workspace").id;
    const webhook = await webhookOr404(rt, wsId, c.req.param("id"));
    const query = parseQuery(c, deliveryQuerySchema);
    const page = await withCursor(() => listDeliveries(rt.kv, wsId, webhook.id, query));
    return c.json({ data: page.data.map(shownDelivery), next_cursor: page.next_cursor });
  });

  const deliveryParams = z.object({ id: z.string(), delivery_id: z.string() });
  doc({
    method: "get",
    path: "/v1/webhooks/{id}/deliveries/{delivery_id}",
    summary: "One delivery with every attempt",
    request: { params: deliveryParams },
    responses: { 200: jsonResponse("Delivery", deliverySchema), ...problems(401, 403, 404) },
  });
  app.get("/v1/webhooks/:id/deliveries/:delivery_id", read, async (c) => {
    const wsId = c.get("workspace").id;
    const webhook = await webhookOr404(rt, wsId, c.req.param("id"));
    return c.json(shownDelivery(await deliveryOr404(rt, webhook, c.req.param("delivery_id"))));
  });

  doc({
    method: "post",
    path: "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    summary: "Send a delivery again (same message id, a fresh retry schedule)",
    request: { params: deliveryParams },
    responses: { 202: jsonResponse("Queued", deliverySchema), ...problems(401, 403, 404, 422) },
  });
  app.post("/v1/webhooks/:id/deliveries/:delivery_id/redeliver", admin, async (c) => {
    const wsId = c.get("workspace").id;
    const webhook = await webhookOr404(rt, wsId, c.req.param("id"));
    const delivery = await deliveryOr404(rt, webhook, c.req.param("delivery_id"));
    try {
      return c.json(shownDelivery(await rt.webhookSender.redeliver(webhook, delivery.id)), 202);
    } catch (error) {
      if (error instanceof RedeliverError) throw new HttpError(422, error.message);
      throw error;
    }
  });
}

/** A delivery as the API shows it (the round bookkeeping left out). */
function shownDelivery(delivery: WebhookDelivery) {
  const { round: _round, round_start: _start, ...shown } = delivery;
  return shown;
}
