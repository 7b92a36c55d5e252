import assert from "node:assert/strict";
import type { SluiceEvent } from "../../core/event.ts";
import { webhookDeliveryKey, webhookDeliveryPrefix, webhookMessageKey } from "../kv/keys.ts";
import { KvQueue, type QueueMessage, type WebhookDeliveryMessage } from "../queue/mod.ts";
import { MAX_EVENTS_PER_NOTICE } from "./catalogue.ts";
import type { WebhookDelivery, WebhookMessage } from "./deliveries.ts";
import { eventNoticeTypes, noticeMutations, noticeSlices, WebhookNotices } from "./notices.ts";
import { type Webhook, WebhookStore } from "./store.ts";
import { pause, until } from "../../tests/_wait.ts";

const MASTER = "webhook-notices-test-master-secret-0123456789";
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

function event(extra: Partial<SluiceEvent> = {}): SluiceEvent {
  return {
    id: "01J0000000000000000000000A",
    workspace_id: "ws_1",
    event_id: "e-1",
    event_name: "page_view",
    event_time: 0,
    received_at: 0,
    source: "server",
    dialect: "native",
    user_data: {},
    properties: {},
    trace_id: "t",
    ...extra,
  };
}

/** What a notices test works with: in-memory KV, a listening queue and what it received. */
interface NoticesFixture {
  kv: Deno.Kv;
  store: WebhookStore;
  notices: WebhookNotices;
  received: QueueMessage[];
}

/** Runs `test` against a fresh fixture, then stops the queue and closes KV. */
async function withNotices(test: (fixture: NoticesFixture) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const queue = new KvQueue(kv);
  const received: QueueMessage[] = [];
  const listening = queue.listen((message) => {
    received.push(message);
    return Promise.resolve();
  });
  try {
    const store = new WebhookStore(kv, MASTER, { maxPerWorkspace: 10 });
    await test({ kv, store, notices: new WebhookNotices(kv, queue, store, () => NOW), received });
  } finally {
    await queue.close();
    kv.close();
    await listening;
  }
}

async function hook(
  store: WebhookStore,
  wsId: string,
  events: Webhook["events"],
  enabled = true,
): Promise<Webhook> {
  return (await store.create(wsId, {
    url: "https://crm.example/",
    events,
    description: "",
    enabled,
  }))
    .webhook;
}

async function deliveriesOf(kv: Deno.Kv, wsId: string, hookId: string) {
  const list: WebhookDelivery[] = [];
  for await (
    const entry of kv.list<WebhookDelivery>({ prefix: webhookDeliveryPrefix(wsId, hookId) })
  ) {
    list.push(entry.value);
  }
  return list;
}

Deno.test("eventNoticeTypes() raises conversion, lead and every-event notices", () => {
  assert.deepEqual(eventNoticeTypes(event()), ["event.received"]);
  assert.deepEqual(eventNoticeTypes(event({ event_name: "purchase", value: 10 })), [
    "event.received",
    "conversion.created",
  ]);
  assert.deepEqual(eventNoticeTypes(event({ value: 0 })), ["event.received", "conversion.created"]);
  assert.deepEqual(eventNoticeTypes(event({ event_name: "lead" })), [
    "event.received",
    "lead.created",
  ]);
  assert.deepEqual(
    [...eventNoticeTypes(event({ event_name: "lead", value: 25, currency: "EUR" }))].sort(),
    ["conversion.created", "event.received", "lead.created"],
  );
  assert.deepEqual(eventNoticeTypes(event({ event_name: "Lead" })), ["event.received"]);
});

Deno.test("noticeSlices() splits events into notices of at most 200", () => {
  assert.equal(MAX_EVENTS_PER_NOTICE, 200);
  const sizes = (n: number) =>
    noticeSlices(Array.from({ length: n }, (_, i) => i)).map((s) => s.length);
  assert.deepEqual(sizes(0), []);
  assert.deepEqual(sizes(1), [1]);
  assert.deepEqual(sizes(200), [200]);
  assert.deepEqual(sizes(201), [200, 1]);
  assert.deepEqual(sizes(450), [200, 200, 50]);
  const items = Array.from({ length: 450 }, (_, i) => i);
  assert.deepEqual(noticeSlices(items).flat(), items);
});

Deno.test("noticeMutations() counts the message, then a delivery and an enqueue per hook", () => {
  assert.equal(noticeMutations(0), 0);
  assert.equal(noticeMutations(1), 3);
  assert.equal(noticeMutations(3), 7);
});

Deno.test("WebhookNotices.addTo() stores the message and queues one delivery per hook", async () => {
  await withNotices(async ({ kv, store, notices, received }) => {
    const a = await hook(store, "ws_1", ["delivery.failed"]);
    const b = await hook(store, "ws_1", ["delivery.failed", "conversion.created"]);
    const data = { platform: { id: "d1", type: "meta", name: "Meta" }, reason: "x" };

    const op = kv.atomic();
    const deliveries = notices.addTo(op, "ws_1", [a, b], { type: "delivery.failed", data });
    assert.equal(deliveries.length, 2);
    const messageId = deliveries[0]!.message_id;
    assert.match(messageId, /^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    // Nothing is written before the operation commits.
    assert.equal((await kv.get(webhookMessageKey("ws_1", messageId))).value, null);
    assert.equal((await op.commit()).ok, true);

    const message = (await kv.get<WebhookMessage>(webhookMessageKey("ws_1", messageId))).value;
    assert.deepEqual(message, {
      id: messageId,
      type: "delivery.failed",
      created_at: new Date(NOW).toISOString(),
      workspace_id: "ws_1",
      data,
    });

    for (const [hookRecord, delivery] of [[a, deliveries[0]!], [b, deliveries[1]!]] as const) {
      assert.equal(delivery.webhook_id, hookRecord.id);
      assert.equal(delivery.message_id, messageId);
      const stored = (await kv.get<WebhookDelivery>(
        webhookDeliveryKey("ws_1", hookRecord.id, delivery.id),
      )).value;
      assert.deepEqual(stored, {
        id: delivery.id,
        webhook_id: hookRecord.id,
        message_id: messageId,
        event_type: "delivery.failed",
        status: "pending",
        attempts: 0,
        round: 0,
        round_start: 0,
        attempt_log: [],
        created_at: new Date(NOW).toISOString(),
        updated_at: new Date(NOW).toISOString(),
      });
      assert.deepEqual(await deliveriesOf(kv, "ws_1", hookRecord.id), [stored]);
    }

    await until(() => received.length >= 2, "two queue messages");
    await pause(200);
    const expected: WebhookDeliveryMessage[] = [a, b].map((h, i) => ({
      type: "webhook",
      workspace_id: "ws_1",
      webhook_id: h.id,
      delivery_id: deliveries[i]!.id,
      round: 0,
      attempt: 1,
    }));
    const byHook = (m: QueueMessage) => m.type === "webhook" ? m.webhook_id : "";
    assert.deepEqual(
      [...received].sort((x, y) => byHook(x).localeCompare(byHook(y))),
      [...expected].sort((x, y) => x.webhook_id.localeCompare(y.webhook_id)),
    );
  });
});

Deno.test("WebhookNotices.addTo() stores an event notice by the event's storage id", async () => {
  await withNotices(async ({ kv, store, notices }) => {
    const a = await hook(store, "ws_1", ["conversion.created"]);
    const op = kv.atomic();
    const [delivery] = notices.addTo(op, "ws_1", [a], {
      type: "conversion.created",
      event: "01J0000000000000000000000A",
    });
    assert.ok(delivery);
    assert.equal((await op.commit()).ok, true);
    const message = (await kv.get<WebhookMessage>(webhookMessageKey("ws_1", delivery.message_id)))
      .value;
    assert.ok(message);
    assert.equal(message.type, "conversion.created");
    assert.equal(message.event, "01J0000000000000000000000A");
    assert.equal("data" in message, false);
    assert.equal(delivery.event_type, "conversion.created");
  });
});

Deno.test("WebhookNotices.addTo() adds nothing for zero hooks", async () => {
  await withNotices(async ({ kv, notices, received }) => {
    const op = kv.atomic();
    assert.deepEqual(notices.addTo(op, "ws_1", [], { type: "delivery.failed", data: {} }), []);
    assert.equal((await op.commit()).ok, true);
    const keys: Deno.KvKey[] = [];
    for await (const entry of kv.list({ prefix: [] })) keys.push(entry.key);
    assert.deepEqual(keys, []);
    await pause(200);
    assert.deepEqual(received, []);
  });
});

Deno.test("WebhookNotices.raise() skips excluded, disabled and unsubscribed hooks", async () => {
  await withNotices(async ({ kv, store, notices, received }) => {
    const target = await hook(store, "ws_1", ["webhook.disabled"]);
    const excluded = await hook(store, "ws_1", ["webhook.disabled"]);
    const disabled = await hook(store, "ws_1", ["webhook.disabled"], false);
    const unsubscribed = await hook(store, "ws_1", ["delivery.failed"]);
    const otherWorkspace = await hook(store, "ws_2", ["webhook.disabled"]);
    // Disabled after the list was cached: update() forgets the cached list.
    const laterOff = await hook(store, "ws_1", ["webhook.disabled"]);
    assert.equal((await notices.subscribers("ws_1", "webhook.disabled")).length, 3);
    await store.update("ws_1", laterOff.id, { enabled: false });

    const data = { webhook: { id: excluded.id, url: excluded.url }, reason: "r" };
    await notices.raise("ws_1", "webhook.disabled", data, { exclude: excluded.id });

    const delivered = await deliveriesOf(kv, "ws_1", target.id);
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.event_type, "webhook.disabled");
    assert.equal(delivered[0]!.status, "pending");
    const message = (await kv.get<WebhookMessage>(
      webhookMessageKey("ws_1", delivered[0]!.message_id),
    )).value;
    assert.deepEqual(message?.data, data);
    for (const skipped of [excluded, disabled, unsubscribed, laterOff]) {
      assert.deepEqual(await deliveriesOf(kv, "ws_1", skipped.id), [], skipped.id);
    }
    assert.deepEqual(await deliveriesOf(kv, "ws_2", otherWorkspace.id), []);

    await until(() => received.length >= 1, "the queue message");
    await pause(200);
    assert.deepEqual(received, [{
      type: "webhook",
      workspace_id: "ws_1",
      webhook_id: target.id,
      delivery_id: delivered[0]!.id,
      round: 0,
      attempt: 1,
    }]);

    // Nobody subscribed: nothing is written.
    const before: Deno.KvKey[] = [];
    for await (const entry of kv.list({ prefix: ["hook_msg"] })) before.push(entry.key);
    await notices.raise("ws_1", "platform.unhealthy", {});
    const after: Deno.KvKey[] = [];
    for await (const entry of kv.list({ prefix: ["hook_msg"] })) after.push(entry.key);
    assert.deepEqual(after, before);
  });
});
