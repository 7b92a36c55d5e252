import { z } from "@hono/zod-openapi";
import { monotonicFactory } from "ulid";
import { listPage } from "../kv/page.ts";
import { webhookDeliveryKey, webhookDeliveryPrefix } from "../kv/keys.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookMessageType } from "./catalogue.ts";

/** One notice, sent alike to every webhook subscribed to its type. */
export interface WebhookMessage {
  /** `msg_` + ULID: the `webhook-id` header, the same on every retry. */
  id: string;
  type: WebhookMessageType;
  created_at: string;
  workspace_id: string;
  /** The `data` of notices about something other than one event. */
  data?: unknown;
  /** For event notices: the storage id of the event, whose canonical JSON is the `data`. */
  event?: string;
}

/** Attempts kept in one delivery's log; older ones are dropped first. */
export const MAX_LOGGED_ATTEMPTS = 20;

/** Every status of a webhook delivery. */
export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivered", "retrying", "failed"] as const;

/** Where one message stands with one webhook. */
export type WebhookDeliveryStatus = typeof WEBHOOK_DELIVERY_STATUSES[number];

/** One attempt to send a message to a webhook. */
export const webhookAttemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  status: z.number().int().optional().openapi({
    description: "HTTP status of the answer; absent when none came",
  }),
  latency_ms: z.number(),
  response: z.string().openapi({ description: "The first 2 KiB of the answer body" }),
  error: z.string().optional().openapi({
    description:
      "Why it did not deliver: a network error, a timeout, a refused URL, a non-2xx answer",
  }),
}).openapi("WebhookAttempt");

/** One attempt to send a message to a webhook. */
export type WebhookAttempt = z.output<typeof webhookAttemptSchema>;

/** One message's delivery to one webhook, with every attempt, as stored. */
export const webhookDeliverySchema = z.object({
  id: z.string().openapi({ description: "`whd_` + ULID: the log reads in time order" }),
  webhook_id: z.string(),
  message_id: z.string().openapi({ description: "The webhook-id header" }),
  event_type: z.enum([...WEBHOOK_EVENT_TYPES, "webhook.test"]),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int().openapi({ description: "Attempts made, over every round" }),
  /** 0, then one more per manual redelivery. */
  round: z.number().int(),
  /** `attempts` when the current round began: the retry schedule counts from there. */
  round_start: z.number().int(),
  next_attempt_at: z.number().optional().openapi({
    description: "Epoch ms of the next attempt, while retrying",
  }),
  last_status: z.number().int().optional(),
  last_error: z.string().optional(),
  attempt_log: z.array(webhookAttemptSchema).openapi({
    description: `The most recent attempts, oldest first (at most ${MAX_LOGGED_ATTEMPTS})`,
  }),
  created_at: z.string(),
  updated_at: z.string(),
});

/** One message's delivery to one webhook, with every attempt. */
export type WebhookDelivery = z.output<typeof webhookDeliverySchema>;

/** A delivery as the API shows it: the round bookkeeping left out, every time in ISO 8601. */
export const shownWebhookDeliverySchema = webhookDeliverySchema
  .omit({ round: true, round_start: true })
  .extend({
    next_attempt_at: z.string().optional().openapi({
      description: "When the next attempt is due (ISO 8601), while retrying",
    }),
  })
  .openapi("WebhookDelivery");

/** A delivery as the API shows it. */
export type ShownWebhookDelivery = z.output<typeof shownWebhookDeliverySchema>;

/** A stored delivery as the API shows it. */
export function shownWebhookDelivery(delivery: WebhookDelivery): ShownWebhookDelivery {
  const { round: _round, round_start: _start, next_attempt_at: next, ...shown } = delivery;
  return next === undefined ? shown : { ...shown, next_attempt_at: new Date(next).toISOString() };
}

/** How long messages and delivery records are kept, ms. */
export const WEBHOOK_LOG_TTL_MS = 30 * 86_400_000;

const newUlid = monotonicFactory();

/** A new message: `data` inline, or `event`, the storage id of the event that is its data. */
export function newMessage(
  wsId: string,
  type: WebhookMessageType,
  payload: { data: unknown } | { event: string },
  at: string,
): WebhookMessage {
  return { id: `msg_${newUlid()}`, type, created_at: at, workspace_id: wsId, ...payload };
}

/** A new delivery of a message to a webhook, not attempted yet. */
export function newDelivery(hookId: string, message: WebhookMessage): WebhookDelivery {
  return {
    // Typed like every other id; ULID order keeps the log in time order after the prefix.
    id: `whd_${newUlid().toLowerCase()}`,
    webhook_id: hookId,
    message_id: message.id,
    event_type: message.type,
    status: "pending",
    attempts: 0,
    round: 0,
    round_start: 0,
    attempt_log: [],
    created_at: message.created_at,
    updated_at: message.created_at,
  };
}

/** Whether a delivery is still being sent. */
export function inFlight(delivery: WebhookDelivery): boolean {
  return delivery.status === "pending" || delivery.status === "retrying";
}

/** One delivery of a webhook, or null. */
export async function getDelivery(
  kv: Deno.Kv,
  wsId: string,
  hookId: string,
  deliveryId: string,
): Promise<WebhookDelivery | null> {
  return (await kv.get<WebhookDelivery>(webhookDeliveryKey(wsId, hookId, deliveryId))).value;
}

/** Newest-first page of a webhook's deliveries; `cursor` continues a previous page. */
export function listDeliveries(
  kv: Deno.Kv,
  wsId: string,
  hookId: string,
  options: { limit: number; cursor?: string; status?: WebhookDeliveryStatus },
): Promise<{ data: WebhookDelivery[]; next_cursor: string | null }> {
  return listPage<WebhookDelivery, WebhookDelivery>(kv, webhookDeliveryPrefix(wsId, hookId), {
    limit: options.limit,
    cursor: options.cursor,
    select: (delivery) =>
      !options.status || delivery.status === options.status ? delivery : undefined,
  });
}
