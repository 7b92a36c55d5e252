import assert from "node:assert/strict";
import { ulid } from "ulid";
import { connectorFor } from "../connectors/mod.ts";
import { requeueFromState } from "../lib/backup/requeue.ts";
import type { DeliveryRow, RoutedHandoff } from "../lib/delivery/rows.ts";
import {
  deliveryKey,
  destinationKey,
  eventKey,
  handoffKey,
  webhookDeliveryKey,
  webhookKey,
} from "../lib/kv/keys.ts";
import type { EnqueueOptions, QueueMessage, QueuePort } from "../lib/queue/mod.ts";
import type { WebhookDelivery } from "../lib/webhooks/deliveries.ts";
import { LOCAL_LIMITS } from "./_ops.ts";

/** A queue that records what is queued. */
function recordingQueue(): QueuePort & { queued: [QueueMessage, EnqueueOptions | undefined][] } {
  const queued: [QueueMessage, EnqueueOptions | undefined][] = [];
  return {
    kind: "kv-outbox",
    queued,
    enqueueIn: (_op, message, options) => void queued.push([message, options]),
    enqueue: (message, options) => Promise.resolve(void queued.push([message, options])),
    listen: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

const WS = "ws_requeue";
const DEST = "dst_meta";
const NOW = Date.now();

function row(status: DeliveryRow["status"], attempts: number, extra: Partial<DeliveryRow> = {}) {
  return {
    platform_id: DEST,
    type: "meta",
    status,
    event_name: "purchase",
    attempts,
    updated_at: new Date(NOW).toISOString(),
    ...extra,
  } satisfies DeliveryRow;
}

Deno.test("requeueFromState() re-derives fan-out, first sends, retries and webhook deliveries, and nothing already settled", async () => {
  using kv = await Deno.openKv(":memory:");
  const [notFannedOut, routed, retrying, skipped, delivered, accepted] = Array.from(
    { length: 6 },
    (_, i) => ulid(NOW - 60_000 + i),
  );
  const expiredHandoff = ulid(NOW - 40 * 86_400_000);
  const routes = (skip?: string): RoutedHandoff => ({
    at: NOW,
    routes: { [DEST]: { type: "meta", event_name: "purchase_renamed", skipped: skip } },
  });
  const op = kv.atomic()
    .set(destinationKey(WS, DEST), { id: DEST, type: "meta" })
    .set(webhookKey(WS, "hook_1"), { id: "hook_1" });
  for (const id of [notFannedOut, routed, retrying, skipped, delivered, accepted, expiredHandoff]) {
    op.set(eventKey(WS, id!), new Uint8Array([1]));
  }
  op.set(handoffKey(WS, routed!), routes())
    .set(handoffKey(WS, retrying!), routes())
    .set(handoffKey(WS, skipped!), routes("consent denied"))
    .set(handoffKey(WS, delivered!), routes())
    .set(handoffKey(WS, accepted!), routes())
    .set(deliveryKey(WS, retrying!, DEST), row("retrying", 2, { next_attempt_at: NOW + 5_000 }))
    .set(deliveryKey(WS, delivered!, DEST), row("delivered", 1))
    .set(deliveryKey(WS, accepted!, DEST), row("accepted", 1));
  const hookDelivery = (id: string, status: WebhookDelivery["status"]): WebhookDelivery => ({
    id,
    webhook_id: "hook_1",
    message_id: `msg_${id}`,
    event_type: "conversion.created",
    status,
    attempts: 1,
    round: 2,
    round_start: 0,
    attempt_log: [],
    created_at: new Date(NOW).toISOString(),
    updated_at: new Date(NOW).toISOString(),
  });
  op.set(webhookDeliveryKey(WS, "hook_1", "d1"), hookDelivery("d1", "retrying"))
    .set(webhookDeliveryKey(WS, "hook_1", "d2"), hookDelivery("d2", "delivered"));
  await op.commit();

  const queue = recordingQueue();
  const summary = await requeueFromState(kv, [WS], {
    queue,
    limits: LOCAL_LIMITS,
    connectorFor,
    now: () => NOW,
  });
  assert.deepEqual(summary, { events: 1, deliveries: 2, webhooks: 1 });
  const messages = queue.queued.map(([message, options]) => ({
    message,
    delayMs: options?.delayMs,
  }));
  assert.deepEqual(messages, [
    { message: { type: "ingested", workspace_id: WS, ids: [notFannedOut] }, delayMs: 0 },
    {
      message: {
        type: "deliver",
        workspace_id: WS,
        destination_id: DEST,
        ids: [routed],
        attempt: 1,
        names: { [routed!]: "purchase_renamed" },
      },
      delayMs: 0,
    },
    {
      message: {
        type: "deliver",
        workspace_id: WS,
        destination_id: DEST,
        ids: [retrying],
        attempt: 3,
      },
      delayMs: 5_000,
    },
    {
      message: {
        type: "webhook",
        workspace_id: WS,
        webhook_id: "hook_1",
        delivery_id: "d1",
        round: 2,
        attempt: 2,
      },
      delayMs: 0,
    },
  ]);
});
