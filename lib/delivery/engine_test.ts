import assert from "node:assert/strict";
import { connectorFor } from "../../connectors/mod.ts";
import type { OutboundRequest } from "../../connectors/types.ts";
import { Sealer } from "../crypto.ts";
import { DestinationStore } from "../destinations.ts";
import type { SluiceEvent } from "../event.ts";
import { sealEvent } from "../event_store.ts";
import { eventKey } from "../kv_keys.ts";
import type { DeliverMessage, QueueMessage, QueuePort } from "../queue/mod.ts";
import { RuleStore } from "../rules.ts";
import { DeliveryEngine } from "./engine.ts";
import { deliveriesOf } from "./rows.ts";

const SECRET = "engine-test-secret-0123456789abcdef";
/** As long as a real workspace id: row keys are as long as in production. */
const WS = "ws_01jtestworkspace000000000";

/** A queue that only records what is enqueued; the test hands messages to the engine. */
class RecordingQueue implements QueuePort {
  readonly kind = "kv-queue";
  readonly messages: QueueMessage[] = [];
  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage): void {
    // Recorded only if the operation commits: a key that the commit writes marks it.
    op.set(["test_queued", this.messages.length], true);
    this.messages.push(message);
  }
  enqueue(message: QueueMessage): Promise<void> {
    this.messages.push(message);
    return Promise.resolve();
  }
  listen(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function purchase(i: number, now: number): SluiceEvent {
  return {
    id: `01JTEST${String(i).padStart(19, "0")}`,
    workspace_id: WS,
    event_id: `order-${i}`,
    event_name: "purchase",
    event_time: now,
    received_at: now,
    source: "server",
    action_source: "website",
    dialect: "native",
    user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
    page: { url: "https://shop.example/thanks" },
    properties: {},
    trace_id: "trace",
  };
}

Deno.test("DeliveryEngine.deliver() records a thousand events sent together, each sent once", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const sealer = new Sealer(SECRET, "event");
    const queue = new RecordingQueue();
    const destinations = new DestinationStore(kv, SECRET);
    const meta = await destinations.create(WS, {
      type: "meta",
      name: "Meta",
      enabled: true,
      settings: { pixel_id: "1234567890", access_token: "token", endpoint: "http://meta.test" },
      secretFields: ["access_token"],
    });
    const sent: string[] = [];
    const engine = new DeliveryEngine({
      kv,
      queue,
      sealer,
      destinations,
      rules: new RuleStore(kv),
      connectorFor,
      send: (request: OutboundRequest) => {
        const body = JSON.parse(request.body ?? "{}") as { data: { event_id: string }[] };
        sent.push(...body.data.map((e) => e.event_id));
        return Promise.resolve({
          response: { status: 200, headers: new Headers(), body: '{"events_received":1}' },
          latencyMs: 1,
          bodySnippet: "",
        });
      },
      retryScheduleMs: [1_000],
    });
    const now = Date.now();
    const events = Array.from({ length: 1000 }, (_, i) => purchase(i, now));
    for (let i = 0; i < events.length; i += 100) {
      const op = kv.atomic();
      for (const event of events.slice(i, i + 100)) {
        op.set(eventKey(WS, event.id), sealEvent(JSON.stringify(event), sealer));
      }
      await op.commit();
    }
    await engine.fanOut({ type: "ingested", workspace_id: WS, ids: events.map((e) => e.id) });
    const deliver = queue.messages.filter((m): m is DeliverMessage => m.type === "deliver");
    // Arriving together (as after a backlog), they are sent in one go: more rows than one
    // commit takes.
    await Promise.all(deliver.map((message) => engine.deliver(message)));
    assert.equal(sent.length, events.length);
    assert.equal(new Set(sent).size, events.length);
    for (const event of [events[0]!, events[999]!]) {
      const [row] = await deliveriesOf(kv, WS, event.id);
      assert.equal(row?.platform_id, meta.id);
      assert.equal(row?.status, "delivered");
      assert.equal(row?.attempts, 1);
    }
    await Promise.all(deliver.map((message) => engine.deliver(message)));
    assert.equal(sent.length, events.length, "redelivered messages send nothing");
  } finally {
    kv.close();
  }
});
