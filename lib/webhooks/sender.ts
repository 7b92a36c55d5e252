import { z } from "@hono/zod-openapi";
import { signWebhook } from "../../connectors/webhook.ts";
import type { Sender, SendResult } from "../delivery/send.ts";
import type { EventStore } from "../event_store.ts";
import { KeyedLimiter } from "../keyed_limiter.ts";
import { log } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { webhookDeliveryKey, webhookMessageKey } from "../kv/keys.ts";
import type { QueuePort, WebhookDeliveryMessage } from "../queue/mod.ts";
import { retryAfterMs } from "../../core/retry_after.ts";
import { publishedEvent, type WebhookDisabledData } from "./catalogue.ts";
import {
  inFlight,
  MAX_LOGGED_ATTEMPTS,
  newDelivery,
  newMessage,
  WEBHOOK_LOG_TTL_MS,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookMessage,
} from "./deliveries.ts";
import type { WebhookNotices } from "./notices.ts";
import type { Webhook, WebhookStore } from "./store.ts";

/** What the webhook sender needs. */
export interface WebhookSenderDeps {
  kv: Deno.Kv;
  queue: QueuePort;
  store: WebhookStore;
  notices: WebhookNotices;
  events: EventStore;
  /** Sends one request (SSRF guard at send time, timeout, no redirects). */
  send: Sender;
  /** Delays between attempts, ms; attempts per round = length + 1. */
  retryScheduleMs: readonly number[];
  /** How long every send may fail before the webhook is disabled, ms. */
  disableAfterMs: number;
  /** Requests in flight per webhook in this process. */
  perWebhookConcurrency?: number;
  /** Where webhook attempts and latencies are counted. */
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
}

/** What one test ping gave. */
export const testPingResultSchema = z.object({
  delivered: z.boolean().openapi({ description: "A 2xx answer within the time limit" }),
  status: z.number().int().nullable(),
  latency_ms: z.number(),
  response: z.string().openapi({ description: "The first 2 KiB of the answer body" }),
  error: z.string().optional(),
  delivery_id: z.string(),
  message_id: z.string(),
}).openapi("WebhookTestResult");

/** What one test ping gave. */
export type TestPingResult = z.output<typeof testPingResultSchema>;

/** Thrown when a delivery cannot be redelivered now. */
export class RedeliverError extends Error {}

type Outcome =
  | { kind: "delivered" }
  | { kind: "retry"; reason: string; afterMs?: number }
  | { kind: "failed"; reason: string };

/** The message body: the Standard Webhooks envelope around `data`. */
export function messageBody(message: WebhookMessage, data: unknown): string {
  return JSON.stringify({
    id: message.id,
    type: message.type,
    created_at: message.created_at,
    workspace_id: message.workspace_id,
    data,
  });
}

/** `webhook-signature`: one `v1,…` per signing secret, space-separated. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets.map((secret) => signWebhook(secret, id, timestamp, body)).join(" ");
}

/** 2xx delivered; a refused URL failed; anything else (an answer or none) retried. */
function outcomeOf(result: SendResult): Outcome {
  const status = result.response?.status;
  if (status !== undefined && status >= 200 && status < 300) return { kind: "delivered" };
  if (result.refused) return { kind: "failed", reason: result.error ?? "URL refused" };
  if (!result.response) return { kind: "retry", reason: result.error ?? "network error" };
  const afterMs = retryAfterMs(result.response.headers);
  const reason = `HTTP ${status}`;
  return afterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, afterMs };
}

/**
 * Sends webhook messages from the queue: signs each attempt, records it in the delivery log,
 * retries on the schedule, and disables a webhook whose every send has failed for too long
 * (raising `webhook.disabled` to the others).
 */
export class WebhookSender {
  readonly #d: Required<Omit<WebhookSenderDeps, "metrics">> & { metrics?: Metrics };
  readonly #limiter: KeyedLimiter;

  constructor(deps: WebhookSenderDeps) {
    this.#d = { perWebhookConcurrency: 8, now: Date.now, random: Math.random, ...deps };
    this.#limiter = new KeyedLimiter(this.#d.perWebhookConcurrency);
  }

  /** Handles one queue message: one attempt of one delivery; stale messages are no-ops. */
  async handle(message: WebhookDeliveryMessage): Promise<void> {
    const wsId = message.workspace_id;
    const key = webhookDeliveryKey(wsId, message.webhook_id, message.delivery_id);
    const [entry, hook, health] = await Promise.all([
      this.#d.kv.get<WebhookDelivery>(key),
      this.#d.store.get(wsId, message.webhook_id),
      this.#d.store.health(wsId, message.webhook_id),
    ]);
    const delivery = entry.value;
    if (
      !delivery || !inFlight(delivery) || delivery.round !== message.round ||
      delivery.attempts !== message.attempt - 1
    ) return;
    if (!hook?.enabled) {
      const reason = hook ? "webhook disabled" : "webhook deleted";
      await this.#record(entry, { ...delivery, status: "failed", last_error: reason });
      return;
    }
    const body = await this.#body(wsId, delivery.message_id);
    if (body === null) {
      const reason = "the message or its event expired before it could be sent";
      await this.#record(entry, { ...delivery, status: "failed", last_error: reason });
      return;
    }
    const { attempt, result } = await this.#limiter.run(
      hook.id,
      () => this.#post(hook, delivery.message_id, body, message.attempt),
    );
    const outcome = outcomeOf(result);
    const next = withAttempt(delivery, attempt);
    let retryDelay: number | undefined;
    if (outcome.kind === "delivered") {
      next.status = "delivered";
    } else if (
      outcome.kind === "retry" &&
      message.attempt - delivery.round_start <= this.#d.retryScheduleMs.length
    ) {
      const base = this.#d.retryScheduleMs[message.attempt - delivery.round_start - 1]!;
      retryDelay = Math.round(
        Math.max(base * (0.8 + 0.4 * this.#d.random()), outcome.afterMs ?? 0),
      );
      next.status = "retrying";
      next.next_attempt_at = this.#d.now() + retryDelay;
    } else {
      next.status = "failed";
      next.last_error = outcome.kind === "retry"
        ? `gave up after ${message.attempt - delivery.round_start} attempts: ${outcome.reason}`
        : outcome.reason;
    }
    await this.#record(
      entry,
      next,
      retryDelay === undefined ? undefined : { ...message, attempt: message.attempt + 1 },
      retryDelay,
    );
    this.#report(message, next, attempt);
    if (outcome.kind !== "delivered") await this.#failed(hook);
    else if (health) await this.#d.store.markHealthy(wsId, hook.id);
  }

  /** Sends a `webhook.test` ping now, records it in the log, and reports the answer. */
  async test(hook: Webhook): Promise<TestPingResult> {
    const wsId = hook.workspace_id;
    const message = newMessage(
      wsId,
      "webhook.test",
      { data: { webhook_id: hook.id, message: "Test message from Sluice" } },
      new Date(this.#d.now()).toISOString(),
    );
    const { attempt, result } = await this.#post(
      hook,
      message.id,
      messageBody(message, message.data),
      1,
    );
    const outcome = outcomeOf(result);
    const delivery = withAttempt(newDelivery(hook.id, message), attempt);
    delivery.status = outcome.kind === "delivered" ? "delivered" : "failed";
    if (outcome.kind !== "delivered") delivery.last_error = outcome.reason;
    await this.#d.kv.atomic()
      .set(webhookMessageKey(wsId, message.id), message, { expireIn: WEBHOOK_LOG_TTL_MS })
      .set(webhookDeliveryKey(wsId, hook.id, delivery.id), delivery, {
        expireIn: WEBHOOK_LOG_TTL_MS,
      })
      .commit();
    return {
      delivered: outcome.kind === "delivered",
      status: attempt.status ?? null,
      latency_ms: attempt.latency_ms,
      response: attempt.response,
      ...(attempt.error ? { error: attempt.error } : {}),
      delivery_id: delivery.id,
      message_id: message.id,
    };
  }

  /**
   * Sends a delivery again (a new round of the retry schedule, the same message id).
   * A delivery still in flight is taken over: its scheduled retry becomes stale.
   */
  async redeliver(hook: Webhook, deliveryId: string): Promise<WebhookDelivery> {
    if (!hook.enabled) {
      throw new RedeliverError("The webhook is disabled: enable it first (PATCH enabled: true)");
    }
    const wsId = hook.workspace_id;
    const entry = await this.#d.kv.get<WebhookDelivery>(
      webhookDeliveryKey(wsId, hook.id, deliveryId),
    );
    if (!entry.value) throw new RedeliverError(`No delivery "${deliveryId.slice(0, 64)}"`);
    const next: WebhookDelivery = {
      ...entry.value,
      status: "pending",
      round: entry.value.round + 1,
      round_start: entry.value.attempts,
      updated_at: new Date(this.#d.now()).toISOString(),
    };
    delete next.next_attempt_at;
    const queued = await this.#record(entry, next, {
      type: "webhook",
      workspace_id: wsId,
      webhook_id: hook.id,
      delivery_id: deliveryId,
      round: next.round,
      attempt: next.attempts + 1,
    });
    if (!queued) return await this.redeliver(hook, deliveryId);
    return next;
  }

  /** One log line and the counters for an attempt; never the receiver's answer or the URL. */
  #report(message: WebhookDeliveryMessage, delivery: WebhookDelivery, attempt: WebhookAttempt) {
    this.#d.metrics?.webhookAttempts.inc({ outcome: delivery.status });
    this.#d.metrics?.webhookDuration.observe(attempt.latency_ms / 1000);
    log.info("webhook attempt", {
      workspace_id: message.workspace_id,
      webhook_id: message.webhook_id,
      delivery_id: message.delivery_id,
      message_id: delivery.message_id,
      event_type: delivery.event_type,
      attempt: attempt.attempt,
      outcome: delivery.status,
      status: attempt.status,
      latency_ms: attempt.latency_ms,
    });
  }

  async #post(
    hook: Webhook,
    messageId: string,
    body: string,
    attemptNumber: number,
  ): Promise<{ attempt: WebhookAttempt; result: SendResult }> {
    const now = this.#d.now();
    const timestamp = Math.floor(now / 1000);
    const result = await this.#d.send({
      method: "POST",
      url: hook.url,
      headers: {
        "content-type": "application/json",
        "user-agent": "Sluice-Webhooks/1",
        "webhook-id": messageId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(
          this.#d.store.signingSecrets(hook, now),
          messageId,
          timestamp,
          body,
        ),
      },
      body,
      eventIndexes: [],
    });
    const status = result.response?.status;
    const ok = status !== undefined && status >= 200 && status < 300;
    const error = ok
      ? undefined
      : result.error ?? (status === undefined ? "no answer" : `HTTP ${status}`);
    return {
      result,
      attempt: {
        attempt: attemptNumber,
        at: new Date(now).toISOString(),
        ...(status === undefined ? {} : { status }),
        latency_ms: Math.round(result.latencyMs),
        response: result.bodySnippet,
        ...(error === undefined ? {} : { error }),
      },
    };
  }

  /** The message's body, or null when the message (or its event) has expired. */
  async #body(wsId: string, messageId: string): Promise<string | null> {
    const message = (await this.#d.kv.get<WebhookMessage>(webhookMessageKey(wsId, messageId)))
      .value;
    if (!message) return null;
    if (message.event === undefined) return messageBody(message, message.data);
    const view = await this.#d.events.getByUlid(wsId, message.event);
    return view ? messageBody(message, publishedEvent(view.event)) : null;
  }

  /** Writes the delivery (and queues its next attempt) unless it changed meanwhile. */
  async #record(
    entry: Deno.KvEntry<WebhookDelivery>,
    next: WebhookDelivery,
    retry?: WebhookDeliveryMessage,
    delayMs = 0,
  ): Promise<boolean> {
    next.updated_at = new Date(this.#d.now()).toISOString();
    const op = this.#d.kv.atomic().check(entry)
      .set(entry.key, next, { expireIn: WEBHOOK_LOG_TTL_MS });
    if (retry) this.#d.queue.enqueueIn(op, retry, { delayMs });
    return (await op.commit()).ok;
  }

  /** A failed send: starts or extends the failure streak; disables the webhook past the limit. */
  async #failed(hook: Webhook): Promise<void> {
    const wsId = hook.workspace_id;
    const now = this.#d.now();
    const health = await this.#d.store.markFailing(wsId, hook.id, now);
    if (now - health.failing_since < this.#d.disableAfterMs) return;
    const reason = `every send failed for ${formatDuration(now - health.failing_since)}`;
    const disabled = await this.#d.store.disableFailing(
      wsId,
      hook.id,
      health.failing_since,
      reason,
      now,
    );
    if (!disabled) return;
    const data: WebhookDisabledData = {
      webhook: { id: hook.id, url: hook.url },
      reason,
      failing_since: new Date(health.failing_since).toISOString(),
      disabled_at: disabled.disabled_at!,
    };
    await this.#d.notices.raise(wsId, "webhook.disabled", data, { exclude: hook.id });
  }
}

/** The delivery with one more attempt logged. */
function withAttempt(delivery: WebhookDelivery, attempt: WebhookAttempt): WebhookDelivery {
  const next: WebhookDelivery = {
    ...delivery,
    attempts: attempt.attempt,
    attempt_log: [...delivery.attempt_log, attempt].slice(-MAX_LOGGED_ATTEMPTS),
  };
  delete next.next_attempt_at;
  if (attempt.status === undefined) delete next.last_status;
  else next.last_status = attempt.status;
  if (attempt.error === undefined) delete next.last_error;
  else next.last_error = attempt.error;
  return next;
}

/** "5 days", "3 hours", "12 minutes", "40 seconds" or "250 ms". */
function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1_000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size) {
      const count = Math.floor(ms / size);
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${Math.round(ms)} ms`;
}
