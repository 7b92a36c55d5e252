import assert from "node:assert/strict";
import { connectorFor } from "../../connectors/mod.ts";
import type { OutboundRequest } from "../../connectors/types.ts";
import { Sealer } from "../crypto.ts";
import { type Destination, DestinationStore } from "../destinations.ts";
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

/** A queue that only stores what is enqueued, in KV (so only what commits); the test hands it on. */
class RecordingQueue implements QueuePort {
  readonly kind = "kv-queue";
  #next = 0;
  constructor(readonly kv: Deno.Kv) {}
  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage): void {
    op.set(["test_queue", this.#next++], message);
  }
  async enqueue(message: QueueMessage): Promise<void> {
    await this.kv.set(["test_queue", this.#next++], message);
  }
  listen(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  /** The deliver messages committed so far. */
  async delivers(): Promise<DeliverMessage[]> {
    const messages: DeliverMessage[] = [];
    for await (const entry of this.kv.list<QueueMessage>({ prefix: ["test_queue"] })) {
      if (entry.value.type === "deliver") messages.push(entry.value);
    }
    return messages;
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

/** An engine on `:memory:` KV with one Meta destination whose sends all answer 200. */
async function withEngine(
  fn: (t: {
    kv: Deno.Kv;
    engine: DeliveryEngine;
    queue: RecordingQueue;
    rules: RuleStore;
    meta: Destination;
    sealer: Sealer;
    sent: { event_id: string; event_name: string }[];
  }) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const sealer = new Sealer(SECRET, "event");
    const queue = new RecordingQueue(kv);
    const destinations = new DestinationStore(kv, SECRET);
    const rules = new RuleStore(kv);
    const meta = await destinations.create(WS, {
      type: "meta",
      name: "Meta",
      enabled: true,
      settings: { pixel_id: "1234567890", access_token: "token", endpoint: "http://meta.test" },
      secretFields: ["access_token"],
    });
    const sent: { event_id: string; event_name: string }[] = [];
    const engine = new DeliveryEngine({
      kv,
      queue,
      sealer,
      destinations,
      rules,
      connectorFor,
      send: (request: OutboundRequest) => {
        const body = JSON.parse(request.body ?? "{}") as {
          data: { event_id: string; event_name: string }[];
        };
        sent.push(...body.data);
        return Promise.resolve({
          response: { status: 200, headers: new Headers(), body: '{"events_received":1}' },
          latencyMs: 1,
          bodySnippet: "",
        });
      },
      retryScheduleMs: [1_000],
    });
    await fn({ kv, engine, queue, rules, meta, sealer, sent });
  } finally {
    kv.close();
  }
}

async function store(kv: Deno.Kv, sealer: Sealer, events: readonly SluiceEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 100) {
    const op = kv.atomic();
    for (const event of events.slice(i, i + 100)) {
      op.set(eventKey(WS, event.id), sealEvent(JSON.stringify(event), sealer));
    }
    await op.commit();
  }
}

Deno.test("DeliveryEngine.deliver() records a thousand events sent together, each sent once", () =>
  withEngine(async ({ kv, engine, queue, meta, sealer, sent }) => {
    const now = Date.now();
    const events = Array.from({ length: 1000 }, (_, i) => purchase(i, now));
    await store(kv, sealer, events);
    await engine.fanOut({ type: "ingested", workspace_id: WS, ids: events.map((e) => e.id) });
    // Arriving together (as after a backlog), they are sent in one go: more rows than one
    // commit takes.
    await Promise.all((await queue.delivers()).map((message) => engine.deliver(message)));
    assert.equal(sent.length, events.length);
    assert.equal(new Set(sent.map((e) => e.event_id)).size, events.length);
    for (const event of [events[0]!, events[999]!]) {
      const [row] = await deliveriesOf(kv, WS, event.id);
      assert.equal(row?.platform_id, meta.id);
      assert.equal(row?.status, "delivered");
      assert.equal(row?.attempts, 1);
    }
    await Promise.all((await queue.delivers()).map((message) => engine.deliver(message)));
    assert.equal(sent.length, events.length, "redelivered messages send nothing");
  }));

Deno.test("DeliveryEngine.fanOut() keeps pending and skipped deliveries in the hand-off until an answer", () =>
  withEngine(async ({ kv, engine, queue, rules, meta, sealer, sent }) => {
    const now = Date.now();
    const [renamed, dropped] = [purchase(1, now), { ...purchase(2, now), event_name: "lead" }];
    await store(kv, sealer, [renamed, dropped]);
    await rules.create(WS, {
      name: "rename purchases",
      enabled: true,
      priority: 1,
      match: { event_names: ["purchase"] },
      action: { type: "rename", event_name: "big_purchase" },
    });
    await rules.create(WS, {
      name: "no leads",
      enabled: true,
      priority: 2,
      match: { event_names: ["lead"] },
      action: { type: "drop" },
    });
    const ingested = { type: "ingested" as const, workspace_id: WS, ids: [renamed.id, dropped.id] };
    await engine.fanOut(ingested);
    await engine.fanOut(ingested);
    assert.equal((await queue.delivers()).length, 1, "a redelivered fan-out queues nothing more");
    const pending = await deliveriesOf(kv, WS, renamed.id);
    assert.deepEqual(
      pending.map((r) => [r.platform_id, r.status, r.event_name, r.attempts]),
      [[meta.id, "pending", "big_purchase", 0]],
    );
    const [skipped] = await deliveriesOf(kv, WS, dropped.id);
    assert.equal(skipped?.status, "skipped");
    assert.equal(skipped?.last_error, 'dropped by rule "no leads"');

    await engine.deliver((await queue.delivers())[0]!);
    assert.deepEqual(sent.map((e) => [e.event_id, e.event_name]), [["order-1", "big_purchase"]]);
    const [delivered] = await deliveriesOf(kv, WS, renamed.id);
    assert.deepEqual(
      [delivered?.status, delivered?.event_name, delivered?.attempts],
      ["delivered", "big_purchase", 1],
    );
    await engine.deliver((await queue.delivers())[0]!);
    assert.equal(sent.length, 1, "a redelivered message sends nothing");
  }));
