import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Runtime } from "../../lib/runtime.ts";
import {
  catalogueDocument,
  DEFAULT_WEBHOOK_EVENTS,
  WEBHOOK_EVENT_TYPES,
} from "../../lib/webhooks/catalogue.ts";
import {
  getDelivery,
  listDeliveries,
  shownWebhookDelivery,
  shownWebhookDeliverySchema,
  WEBHOOK_DELIVERY_STATUSES,
  type WebhookDelivery,
} from "../../lib/webhooks/deliveries.ts";
import { RedeliverError, testPingResultSchema } from "../../lib/webhooks/sender.ts";
import {
  publicWebhook,
  publicWebhookSchema,
  type Webhook,
  WebhookLimitError,
} from "../../lib/webhooks/store.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { withCursor } from "../_request.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, pathId, problems } from "../_schemas.ts";

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

const createdSchema = publicWebhookSchema.extend({
  secret: z.string().openapi({ description: "whsec_… signing secret, shown only here" }),
}).openapi("WebhookCreated");

const rotatedSchema = z.object({
  secret: z.string().openapi({ description: "The new whsec_… signing secret, shown only here" }),
  previous_secret_expires_at: z.string(),
}).openapi("WebhookSecretRotated");

const catalogueSchema = z.object({
  data: z.array(z.object({
    type: z.string(),
    description: z.string(),
    opt_in: z.boolean().openapi({ description: "Sent only to webhooks that list it" }),
    schema: z.record(z.string(), z.unknown()).openapi({
      description: "JSON Schema of the whole message body",
    }),
    example: z.record(z.string(), z.unknown()).openapi({ description: "An example body" }),
  })),
}).openapi("WebhookEventCatalogue");

const deliveryQuerySchema = z.object({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional().openapi({
    description: "The next_cursor of the previous page",
  }),
});

const deliveryPageSchema = z.object({
  data: z.array(shownWebhookDeliverySchema),
  next_cursor: z.string().nullable(),
}).openapi("WebhookDeliveryPage");

const webhookParams = z.object({ id: pathId() });
const deliveryParams = z.object({ id: pathId(), delivery_id: pathId() });
const tags: [string] = ["Webhooks"];

async function checkedUrl(rt: Runtime, value: string): Promise<string> {
  const check = await rt.urlGuard(value);
  if (!check.ok) {
    throw new HttpError(400, `url is not allowed: ${check.reason}`, {
      errors: [{ path: "url", message: check.reason }],
    });
  }
  return value;
}

function noWebhook(id: string): HttpError {
  return new HttpError(404, `No webhook "${id}" in this workspace`);
}

async function webhookOr404(rt: Runtime, wsId: string, id: string): Promise<Webhook> {
  const webhook = await rt.webhooks.get(wsId, id);
  if (!webhook) throw noWebhook(id);
  return webhook;
}

async function deliveryOr404(rt: Runtime, webhook: Webhook, id: string): Promise<WebhookDelivery> {
  const delivery = await getDelivery(rt.kv, webhook.workspace_id, webhook.id, id);
  if (!delivery) throw new HttpError(404, `No delivery "${id}" for this webhook`);
  return delivery;
}

/** Webhook limits and redeliveries that cannot happen now are well-formed requests: 422. */
function unprocessable(error: unknown): never {
  if (error instanceof WebhookLimitError || error instanceof RedeliverError) {
    throw new HttpError(422, error.message);
  }
  throw error;
}

async function shown(rt: Runtime, webhook: Webhook) {
  return publicWebhook(webhook, await rt.webhooks.health(webhook.workspace_id, webhook.id));
}

/** `/v1/webhooks` and `/v1/webhook-events`: outbound webhooks and their delivery log. */
export function webhookRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  const catalogue = catalogueDocument();
  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/webhook-events",
      operationId: "listWebhookEventTypes",
      scope: "read",
      tags,
      summary: "The message types webhooks receive, each with its JSON Schema and an example",
      request: {},
      responses: { 200: jsonResponse("Catalogue", catalogueSchema) },
    }),
    (c) => c.json({ data: catalogue }, 200),
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/webhooks",
      operationId: "createWebhook",
      scope: "admin",
      tags,
      summary: "Register a webhook; its signing secret appears only in this answer",
      request: { body: jsonBody(createSchema) },
      responses: {
        201: jsonResponse(
          "Created; keep `secret` (whsec_…): it is never shown again",
          createdSchema,
        ),
        ...problems(400, 413, 415, 422),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const { webhook, secret } = await rt.webhooks.create(c.get("workspace").id, {
        url: await checkedUrl(rt, input.url),
        events: input.events ?? DEFAULT_WEBHOOK_EVENTS,
        description: input.description,
        enabled: input.enabled,
      }).catch(unprocessable);
      return c.json({ ...publicWebhook(webhook, null), secret }, 201);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/webhooks",
      operationId: "listWebhooks",
      scope: "read",
      tags,
      summary: "List webhooks (never with secrets)",
      request: {},
      responses: {
        200: jsonResponse("Webhooks", z.object({ data: z.array(publicWebhookSchema) })),
      },
    }),
    async (c) => {
      const list = await rt.webhooks.list(c.get("workspace").id);
      return c.json({ data: await Promise.all(list.map((hook) => shown(rt, hook))) }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/webhooks/{id}",
      operationId: "getWebhook",
      scope: "read",
      tags,
      summary: "One webhook",
      request: { params: webhookParams },
      responses: { 200: jsonResponse("Webhook", publicWebhookSchema), ...problems(404) },
    }),
    async (c) => {
      const webhook = await webhookOr404(rt, c.get("workspace").id, c.req.valid("param").id);
      return c.json(await shown(rt, webhook), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "patch",
      path: "/v1/webhooks/{id}",
      operationId: "updateWebhook",
      scope: "admin",
      tags,
      summary: "Change url, events, description or enabled (true re-enables a disabled webhook)",
      request: { params: webhookParams, body: jsonBody(updateSchema) },
      responses: {
        200: jsonResponse("Updated", publicWebhookSchema),
        ...problems(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const webhook = await webhookOr404(rt, wsId, c.req.valid("param").id);
      const patch = c.req.valid("json");
      if (patch.url !== undefined) await checkedUrl(rt, patch.url);
      const updated = await rt.webhooks.update(wsId, webhook.id, patch);
      if (!updated) throw noWebhook(webhook.id);
      return c.json(await shown(rt, updated), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "delete",
      path: "/v1/webhooks/{id}",
      operationId: "deleteWebhook",
      scope: "admin",
      tags,
      summary: "Delete a webhook; messages still queued for it are dropped",
      request: { params: webhookParams },
      responses: { 204: { description: "Deleted" }, ...problems(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await rt.webhooks.delete(c.get("workspace").id, id))) throw noWebhook(id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/webhooks/{id}/rotate-secret",
      operationId: "rotateWebhookSecret",
      scope: "admin",
      tags,
      summary: "New signing secret, shown once; the old one keeps signing beside it for 24 h",
      request: { params: webhookParams },
      responses: { 200: jsonResponse("The new secret", rotatedSchema), ...problems(404) },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const webhook = await webhookOr404(rt, wsId, c.req.valid("param").id);
      const rotated = await rt.webhooks.rotateSecret(wsId, webhook.id);
      if (!rotated) throw noWebhook(webhook.id);
      return c.json({
        secret: rotated.secret,
        previous_secret_expires_at: new Date(rotated.previous_secret_expires_at).toISOString(),
      }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/webhooks/{id}/test",
      operationId: "testWebhook",
      scope: "admin",
      tags,
      summary: "Send a webhook.test ping now and answer with what the receiver said",
      request: { params: webhookParams },
      responses: {
        200: jsonResponse(
          "The receiver's answer (delivered: a 2xx within the time limit)",
          testPingResultSchema,
        ),
        ...problems(404),
      },
    }),
    async (c) => {
      const webhook = await webhookOr404(rt, c.get("workspace").id, c.req.valid("param").id);
      return c.json(await rt.webhookSender.test(webhook), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/webhooks/{id}/deliveries",
      operationId: "listWebhookDeliveries",
      scope: "read",
      tags,
      summary: "The webhook's delivery log, newest first, with every attempt",
      request: { params: webhookParams, query: deliveryQuerySchema },
      responses: { 200: jsonResponse("Deliveries", deliveryPageSchema), ...problems(400, 404) },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const webhook = await webhookOr404(rt, wsId, c.req.valid("param").id);
      const query = c.req.valid("query");
      const page = await withCursor(() => listDeliveries(rt.kv, wsId, webhook.id, query));
      return c.json({
        data: page.data.map(shownWebhookDelivery),
        next_cursor: page.next_cursor,
      }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/webhooks/{id}/deliveries/{delivery_id}",
      operationId: "getWebhookDelivery",
      scope: "read",
      tags,
      summary: "One delivery with every attempt",
      request: { params: deliveryParams },
      responses: { 200: jsonResponse("Delivery", shownWebhookDeliverySchema), ...problems(404) },
    }),
    async (c) => {
      const { id, delivery_id } = c.req.valid("param");
      const webhook = await webhookOr404(rt, c.get("workspace").id, id);
      return c.json(shownWebhookDelivery(await deliveryOr404(rt, webhook, delivery_id)), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
      operationId: "redeliverWebhookDelivery",
      scope: "admin",
      tags,
      summary: "Send a delivery again (same message id, a fresh retry schedule)",
      request: { params: deliveryParams },
      responses: {
        202: jsonResponse("Queued", shownWebhookDeliverySchema),
        ...problems(404, 422),
      },
    }),
    async (c) => {
      const { id, delivery_id } = c.req.valid("param");
      const webhook = await webhookOr404(rt, c.get("workspace").id, id);
      const delivery = await deliveryOr404(rt, webhook, delivery_id);
      const redelivered = await rt.webhookSender.redeliver(webhook, delivery.id)
        .catch(unprocessable);
      return c.json(shownWebhookDelivery(redelivered), 202);
    },
  );
  return app;
}
