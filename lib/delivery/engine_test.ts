import assert from "node:assert/strict";
import { connectorFor } from "../../connectors/mod.ts";
import type { OutboundRequest } from "../../connectors/types.ts";
import { Sealer } from "../crypto.ts";
import { type Destination, DestinationStore } from "./destinations.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { sealEvent } from "../event_store.ts";
import { eventKey } from "../kv/keys.ts";
import type {
  DeliverMessage,
  EnqueueOptions,
  IngestedMessage,
  QueueMessage,
  QueuePort,
} from "../queue/mod.ts";
import { RuleStore } from "./rules.ts";
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
  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage, options: EnqueueOptions = {}): void {
    op.set(["test_queue", this.#next++], { message, delayMs: options.delayMs ?? 0 });
  }
  async enqueue(message: QueueMessage, options: EnqueueOptions = {}): Promise<void> {
    await this.kv.set(["test_queue", this.#next++], { message, delayMs: options.delayMs ?? 0 });
  }
  listen(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  /** The deliver messages committed so far, with their delays. */
  async delivers(): Promise<{ message: DeliverMessage; delayMs: number }[]> {
    const queued = [];
    for await (
      const entry of this.kv.list<{ message: QueueMessage; delayMs: number }>({
        prefix: ["test_queue"],
      })
    ) {
      const { message, delayMs } = entry.value;
      if (message.type === "deliver") queued.push({ message, delayMs });
    }
    return queued;
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

interface Harness {
  kv: Deno.Kv;
  engine: DeliveryEngine;
  queue: RecordingQueue;
  rules: RuleStore;
  meta: Destination;
  sealer: Sealer;
  sent: { event_id: string; event_name: string }[];
}

/**
 * An engine on `:memory:` KV with one Meta destination; `answer` decides when each send is
 * answered (at once with 200 by default).
 */
async function withEngine(
  fn: (t: Harness) => Promise<void>,
  options: { answer?: () => Promise<void>; firstAttemptBudgetMs?: number } = {},
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
    const sent: Harness["sent"] = [];
    const engine = new DeliveryEngine({
      kv,
      queue,
      sealer,
      destinations,
      rules,
      connectorFor,
      send: async (request: OutboundRequest) => {
        const body = JSON.parse(request.body ?? "{}") as { data: Harness["sent"] };
        sent.push(...body.data);
        await options.answer?.();
        return {
          response: { status: 200, headers: new Headers(), body: '{"events_received":1}' },
          latencyMs: 1,
          bodySnippet: "",
        };
      },
      retryScheduleMs: [1_000],
      sendTimeoutMs: 5_000,
      ...(options.firstAttemptBudgetMs
        ? { firstAttemptBudgetMs: options.firstAttemptBudgetMs }
        : {}),
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

function ingested(events: readonly SluiceEvent[]): IngestedMessage {
  return { type: "ingested", workspace_id: WS, ids: events.map((e) => e.id) };
}

Deno.test("DeliveryEngine.fanOut() sends a thousand events together at once and records each", () =>
  withEngine(async ({ kv, engine, queue, meta, sealer, sent }) => {
    const now = Date.now();
    const events = Array.from({ length: 1000 }, (_, i) => purchase(i, now));
    await store(kv, sealer, events);
    // Ten slices of fan-out, sent together: more rows than one commit takes.
    await engine.fanOut(ingested(events));
    assert.equal(sent.length, events.length);
    assert.equal(new Set(sent.map((e) => e.event_id)).size, events.length);
    for (const event of [events[0]!, events[999]!]) {
      const [row] = await deliveriesOf(kv, WS, event.id);
      assert.equal(row?.platform_id, meta.id);
      assert.equal(row?.status, "delivered");
      assert.equal(row?.attempts, 1);
    }
    await engine.fanOut(ingested(events));
    assert.equal(sent.length, events.length, "a redelivered message sends nothing");
    assert.deepEqual(await queue.delivers(), [], "nothing went through the queue");
  }));

Deno.test("DeliveryEngine.fanOut() keeps pending and skipped deliveries in the hand-off until an answer", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  await withEngine(async ({ kv, engine, rules, meta, sealer, sent }) => {
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
    const fanningOut = engine.fanOut(ingested([renamed, dropped]));
    while (sent.length === 0) await new Promise((r) => setTimeout(r, 5));
    const pending = await deliveriesOf(kv, WS, renamed.id);
    assert.deepEqual(
      pending.map((r) => [r.platform_id, r.status, r.event_name, r.attempts]),
      [[meta.id, "pending", "big_purchase", 0]],
    );
    const [skipped] = await deliveriesOf(kv, WS, dropped.id);
    assert.equal(skipped?.status, "skipped");
    assert.equal(skipped?.last_error, 'dropped by rule "no leads"');
    release();
    await fanningOut;
    assert.deepEqual(sent.map((e) => [e.event_id, e.event_name]), [["order-1", "big_purchase"]]);
    const [delivered] = await deliveriesOf(kv, WS, renamed.id);
    assert.deepEqual(
      [delivered?.status, delivered?.event_name, delivered?.attempts],
      ["delivered", "big_purchase", 1],
    );
    await engine.fanOut(ingested([renamed, dropped]));
    assert.equal(sent.length, 1, "a redelivered message sends nothing");
  }, { answer: () => held });
});

Deno.test("DeliveryEngine.fanOut() queues a first attempt that overruns its budget, and the destination's next ones", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  await withEngine(async ({ kv, engine, queue, sealer, sent }) => {
    const now = Date.now();
    const [first, second] = [purchase(1, now), purchase(2, now)];
    await store(kv, sealer, [first, second]);
    await engine.fanOut(ingested([first]));
    assert.equal(sent.length, 1, "sent, not answered within the budget");
    assert.deepEqual(
      (await queue.delivers()).map((q) => [q.message.ids, q.delayMs]),
      [[[first.id], 35_000]],
      "queued for after the send timeout and a margin",
    );
    await engine.fanOut(ingested([second]));
    assert.equal(sent.length, 1, "a slow destination's next first attempts go through the queue");
    assert.deepEqual(
      (await queue.delivers()).map((q) => [q.message.ids, q.delayMs]),
      [[[first.id], 35_000], [[second.id], 0]],
    );
    release();
    while ((await deliveriesOf(kv, WS, first.id))[0]?.status !== "delivered") {
      await new Promise((r) => setTimeout(r, 5));
    }
    await engine.deliver((await queue.delivers())[0]!.message);
    assert.equal(sent.length, 1, "the queued attempt finds it answered");
  }, { answer: () => held, firstAttemptBudgetMs: 200 });
});
