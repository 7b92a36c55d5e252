import type { SluiceEvent } from "../../core/event.ts";
import { webhookDeliveryKey, webhookMessageKey } from "../kv/keys.ts";
import type { QueuePort } from "../queue/mod.ts";
import {
  type EventRef,
  MAX_EVENTS_PER_NOTICE,
  type WebhookEventType,
  type WebhookMessageType,
} from "./catalogue.ts";
import { newDelivery, newMessage, WEBHOOK_LOG_TTL_MS, type WebhookDelivery } from "./deliveries.ts";
import { subscribes, type Webhook, type WebhookStore } from "./store.ts";

/** A notice to send: inline `data`, or the storage id of the event that is its `data`. */
export type Notice =
  | { type: WebhookMessageType; data: unknown }
  | { type: WebhookMessageType; event: string };

/** KV mutations one notice adds for `hooks` webhooks (message, then delivery + enqueue each). */
export function noticeMutations(hooks: number): number {
  return hooks === 0 ? 0 : 1 + 2 * hooks;
}

/** The event notices an accepted event raises: conversion, lead, and every-event. */
export function eventNoticeTypes(event: SluiceEvent): WebhookEventType[] {
  const types: WebhookEventType[] = ["event.received"];
  if (event.value !== undefined) types.push("conversion.created");
  if (event.event_name === "lead") types.push("lead.created");
  return types;
}

/** An event as delivery notices list it. */
export function eventRef(event: SluiceEvent): EventRef {
  return {
    id: event.id,
    event_id: event.event_id,
    event_name: event.event_name,
    ...(event.value === undefined ? {} : { value: event.value }),
    ...(event.currency === undefined ? {} : { currency: event.currency }),
  };
}

/** Splits a list of events into the slices one notice may carry. */
export function noticeSlices<T>(items: readonly T[]): T[][] {
  const slices: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_EVENTS_PER_NOTICE) {
    slices.push(items.slice(i, i + MAX_EVENTS_PER_NOTICE));
  }
  return slices;
}

/**
 * Raises webhook notices: stores the message once and queues one delivery per subscribed
 * webhook. `addTo` joins an atomic operation, so a notice is raised exactly when the change
 * it reports commits (fan-out, a delivery's last failure).
 */
export class WebhookNotices {
  readonly #kv: Deno.Kv;
  readonly #queue: QueuePort;
  readonly #store: WebhookStore;
  readonly #now: () => number;

  constructor(kv: Deno.Kv, queue: QueuePort, store: WebhookStore, now: () => number = Date.now) {
    this.#kv = kv;
    this.#queue = queue;
    this.#store = store;
    this.#now = now;
  }

  /** The workspace's enabled webhooks subscribed to `type` (the list may be 2 s stale). */
  async subscribers(wsId: string, type: WebhookEventType): Promise<Webhook[]> {
    return (await this.#store.list(wsId, true)).filter((hook) => subscribes(hook, type));
  }

  /** Every enabled webhook of the workspace (the list may be 2 s stale). */
  async enabledHooks(wsId: string): Promise<Webhook[]> {
    return (await this.#store.list(wsId, true)).filter((hook) => hook.enabled);
  }

  /**
   * Adds a notice to `op`: the message, and a delivery plus its first queue message for each
   * of `hooks` ({@linkcode noticeMutations} mutations). Returns the deliveries it queued.
   */
  addTo(
    op: Deno.AtomicOperation,
    wsId: string,
    hooks: readonly Webhook[],
    notice: Notice,
  ): WebhookDelivery[] {
    if (hooks.length === 0) return [];
    const message = newMessage(
      wsId,
      notice.type,
      "event" in notice ? { event: notice.event } : { data: notice.data },
      new Date(this.#now()).toISOString(),
    );
    op.set(webhookMessageKey(wsId, message.id), message, { expireIn: WEBHOOK_LOG_TTL_MS });
    return hooks.map((hook) => {
      const delivery = newDelivery(hook.id, message);
      op.set(webhookDeliveryKey(wsId, hook.id, delivery.id), delivery, {
        expireIn: WEBHOOK_LOG_TTL_MS,
      });
      this.#queue.enqueueIn(op, {
        type: "webhook",
        workspace_id: wsId,
        webhook_id: hook.id,
        delivery_id: delivery.id,
        round: 0,
        attempt: 1,
      });
      return delivery;
    });
  }

  /** Raises a notice on its own, to the subscribers of its type except `exclude`. */
  async raise(
    wsId: string,
    type: WebhookEventType,
    data: unknown,
    options: { exclude?: string } = {},
  ): Promise<void> {
    const hooks = (await this.subscribers(wsId, type)).filter((h) => h.id !== options.exclude);
    if (hooks.length === 0) return;
    const op = this.#kv.atomic();
    this.addTo(op, wsId, hooks, { type, data });
    const result = await op.commit();
    if (!result.ok) throw new Error(`Cannot raise the ${type} webhook notice`);
  }
}
