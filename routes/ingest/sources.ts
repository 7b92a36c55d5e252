import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { EVENT_LIMITS } from "../../core/event.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { parseWebhookJson } from "../../lib/sources/webhook_json.ts";
import { SOURCE_TYPES, sourcePlatformFor } from "../../lib/sources/mod.ts";
import { SOURCE_ID_LENGTH } from "../../lib/sources/store.ts";
import type { NativeInput } from "../../lib/sources/types.ts";
import type { Workspace } from "../../lib/workspaces.ts";
import { readRawBody } from "../_body.ts";
import { serverContext } from "../_context.ts";
import type { AppEnv, RouteDeps } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { INGEST_BODY_LIMIT, ingestResponse } from "../_request.ts";
import { acceptedSchema, jsonResponse, problems } from "../_schemas.ts";
import { contentEncodingHeader, duplicateSchema } from "./_openapi.ts";

/** Answer to a verified delivery that is not a purchase: 200, so the platform does not retry. */
const ignoredSchema = z.object({
  success: z.literal(true),
  ignored: z.literal(true),
  reason: z.string().openapi({
    example:
      'Topic "orders/updated" is not mapped; purchases come from orders/create and orders/paid',
  }),
  trace_id: z.string(),
}).openapi("SourceDeliveryIgnored");

const DESCRIPTION =
  "The URL a source's platform posts its webhooks to (`url` of `POST /v1/sources`). Each delivery is verified with the platform's own signature over the raw body (`X-Shopify-Hmac-Sha256`, `X-WC-Webhook-Signature`, `Stripe-Signature` within 5 minutes) under the source's signing secret: a missing or wrong signature is 401 and nothing is stored. Paid orders become `purchase` events whose `event_id` is the order id (Stripe: metadata `event_id` or `order_id`, else the PaymentIntent id), so the platform's retries, its several webhooks for one order and a browser purchase sent with the same id are one conversion: a repeat answers 200 `duplicate`. Other topics, unpaid orders and WooCommerce's ping answer 200 `ignored` with the reason. A verified payload that cannot become an event answers 422 naming the fields.";

/** `POST /ingest/{type}/{source_id}`: order webhooks from Shopify, WooCommerce and Stripe. */
export function sourceIngestRoutes({ app, rt }: RouteDeps): void {
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/ingest/{type}/{source_id}",
    operationId: "ingestSourceWebhook",
    tags: ["Sources"],
    summary: "Receive a Shopify, WooCommerce or Stripe order webhook",
    description: DESCRIPTION,
    request: {
      params: z.object({
        type: z.enum(SOURCE_TYPES),
        source_id: z.string().max(SOURCE_ID_LENGTH).openapi({
          example: "src_01jf3k8w2qz5m7r9t4v6x8y0ab",
        }),
      }),
      headers: contentEncodingHeader.extend({
        "x-shopify-hmac-sha256": z.string().optional().openapi({
          description: "Shopify: base64 HMAC-SHA256 of the raw body (with X-Shopify-Topic)",
        }),
        "x-wc-webhook-signature": z.string().optional().openapi({
          description: "WooCommerce: base64 HMAC-SHA256 of the raw body (with X-WC-Webhook-Topic)",
        }),
        "stripe-signature": z.string().optional().openapi({
          description:
            "Stripe: `t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body>`, within 5 minutes",
        }),
      }),
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z.record(z.string(), z.unknown()).openapi("SourceWebhookPayload", {
              description: "The platform's webhook body, as it sends it",
            }),
          },
        },
      },
    },
    responses: {
      202: jsonResponse("A purchase, stored durably and queued", acceptedSchema),
      200: jsonResponse(
        "Nothing new stored, and the 2xx stops the platform's retries: the order was already received, or the delivery is not a purchase (`ignored` with the reason)",
        z.union([duplicateSchema, ignoredSchema]),
      ),
      ...problems(400, 401, 404, 413, 415, 422, 429, 503),
    },
  });
  app.post("/ingest/:type/:source_id", (c) => receive(c, rt));
}

function ignored(c: Context<AppEnv>, reason: string): Response {
  return c.json({ success: true, ignored: true, reason, trace_id: c.get("traceId") }, 200);
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

async function receive(c: Context<AppEnv>, rt: Runtime): Promise<Response> {
  const type = c.req.param("type") ?? "";
  const id = c.req.param("source_id") ?? "";
  const platform = sourcePlatformFor(type);
  const found = platform ? await rt.sources.forIngest(id) : null;
  const workspace = found?.source.type === type
    ? await rt.workspaces.get(found.source.workspace_id)
    : null;
  if (!platform || !found || !workspace) {
    throw new HttpError(
      404,
      `No ${platform?.label ?? type.slice(0, 32)} source "${id.slice(0, 64)}"`,
    );
  }
  const headers = c.req.raw.headers;
  const raw = await readRawBody(c.req.raw, INGEST_BODY_LIMIT);
  if (platform.isPing(raw, headers)) {
    return ignored(c, `${platform.label} ping: the URL answers; nothing is stored`);
  }
  if (!isJson(c.req.header("content-type"))) {
    throw new HttpError(
      415,
      `Content-Type "${
        c.req.header("content-type") ?? "(none)"
      }" is not accepted; ${platform.label} webhooks are application/json`,
    );
  }
  const verified = platform.verify(raw, headers, found.secret, Date.now());
  if (!verified.ok) throw new HttpError(401, verified.reason);
  let payload: unknown;
  try {
    payload = parseWebhookJson(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, `The request body is not valid JSON: ${reason}`);
  }
  const mapped = platform.toEvents(payload, headers);
  if (mapped.kind === "ignored") return ignored(c, mapped.reason);
  if (mapped.kind === "invalid") {
    throw new HttpError(422, `The ${platform.label} payload cannot become a purchase`, {
      errors: mapped.errors,
    });
  }
  return await ingestPurchase(c, rt, workspace, mapped.event, platform.id);
}

/**
 * Stores the purchase unless its order already is: an event with its id stored in the
 * workspace (within retention, even past the dedup window: an order updated days later,
 * or a browser purchase sent at checkout) makes this delivery a duplicate.
 */
async function ingestPurchase(
  c: Context<AppEnv>,
  rt: Runtime,
  workspace: Workspace,
  event: NativeInput,
  sourceType: string,
): Promise<Response> {
  const eventId = event.event_id === undefined ? undefined : String(event.event_id);
  if (
    eventId !== undefined && eventId.length <= EVENT_LIMITS.idLength &&
    await rt.events.getByEventId(workspace.id, eventId)
  ) {
    return ingestResponse(c, [{ event_id: eventId, status: "duplicate" }], {
      duplicateStatus: 200,
    });
  }
  const [result] = await rt.ingestor.ingest(
    workspace,
    [event],
    serverContext(c, workspace, "hook", sourceType),
  );
  if (result?.status === "rejected") {
    throw new HttpError(422, "The order cannot become an event", { errors: result.errors });
  }
  return ingestResponse(c, result ? [result] : [], { duplicateStatus: 200 });
}
