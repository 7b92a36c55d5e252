import { monotonicFactory } from "ulid";
import { listPage } from "../kv/page.ts";
import { webhookDeliveryKey, webhookDeliveryPrefix } from "../kv/keys.ts";
import type { WebhookMessageType } from "./catalogue.ts";

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

/** Where one message stands with one webhook. */
export type WebhookDeliveryStatus = "pending" | "delivered" | "retrying" | "failed";

/** One attempt to send a message to a webhook. */
export interface WebhookAttempt {
  attempt: number;
  at: string;
  /** HTTP status of the answer; absent when none came. */
  status?: number;
  latency_ms: number;
  /** The first 2 KiB of the answer body. */
  response: string;
  /** Why it did not deliver: a network error, a timeout, a refused URL, a non-2xx answer. */
  error?: string;
}

/** One message's delivery to one webhook, with every attempt. */
export interface WebhookDelivery {
  /** ULID: the log reads in time order. */
  id: string;
  webhook_id: string;
  message_id: string;
  event_type: WebhookMessageType;
  status: WebhookDeliveryStatus;
  /** Attempts made, over every round. */
  attempts: number;
  /** 0, then one more per manual redelivery. */
  round: number;
  /** `attempts` when the current round began: the retry schedule counts from there. */
  round_start: number;
  /** Epoch ms of the next attempt, while retrying. */
  next_attempt_at?: number;
  last_status?: number;
  last_error?: string;
  /** The most recent attempts, oldest first (at most {@linkcode MAX_LOGGED_ATTEMPTS}). */
  attempt_log: WebhookAttempt[];
  created_at: string;
  updated_at: string;
}

/** How long messages and delivery records are kept, ms. */
export const WEBHOOK_LOG_TTL_MS = 30 * 86_400_000;
/** Attempts kept in one delivery's log; older ones are dropped first. */
export const MAX_LOGGED_ATTEMPTS = 20;

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
    id: newUlid(),
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
