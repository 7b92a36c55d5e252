/**
 * The delivery engine against connector contract v2, with a fake platform that answers per
 * row, wants an OAuth2 access token and processes asynchronously.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import type { Connector, OutboundRequest, Outcome } from "../../connectors/types.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { Sealer } from "../crypto.ts";
import { sealEvent } from "../event_store.ts";
import { eventKey } from "../kv/keys.ts";
import { KvQueue, type QueueMessage } from "../queue/mod.ts";
import { DestinationStore } from "./destinations.ts";
import { DeliveryEngine } from "./engine.ts";
import { RuleStore } from "./rules.ts";
import { deliveriesOf } from "./rows.ts";

const SECRET = "engine-contract-secret-0123456789ab";
const WS = "ws_01jtestworkspace000000000";

const settings = z.object({ endpoint: z.string(), refresh_token: z.string() }).strict();

/** Answers per row: the body's `rows` say ok, bad or later (accepted for processing). */
const fake = {
  id: "fake",
  label: "Fake platform",
  docsUrl: "https://fake.example/docs",
  settings,
  secretFields: ["refresh_token"],
  urlFields: ["endpoint"],
  batchLimit: 100,
  consent: "ads",
  maxEventAgeMs: () => 86_400_000,
  testMode: null,
  map(events, s, options) {
    return {
      requests: [{
        method: "POST",
        url: `${s.endpoint}/events`,
        headers: { authorization: `Bearer ${options.accessToken}` },
        body: JSON.stringify(events.map((e) => e.event_id)),
        eventIndexes: events.map((_, i) => i),
      }],
      skipped: [],
    };
  },
  classify(response) {
    if (response.status === 401) return { outcome: { kind: "auth_failed", reason: "HTTP 401" } };
    const { rows, request_id } = JSON.parse(response.body) as {
      rows: string[];
      request_id?: string;
    };
    const each = rows.map((state): Outcome =>
      state === "ok"
        ? { kind: "delivered" }
        : state === "later"
        ? { kind: "accepted", token: request_id ?? "", detail: `request_id=${request_id}` }
        : { kind: "failed", reason: `row refused: ${state}` }
    );
    return { outcome: { kind: "delivered" }, events: each };
  },
  authorize: {
    request: (s) => ({
      method: "POST",
      url: `${s.endpoint}/token`,
      headers: {},
      body: s.refresh_token,
      eventIndexes: [],
    }),
    read: (response) =>
      response.status === 200
        ? { accessToken: response.body, expiresInMs: 3_600_000 }
        : { kind: "auth_failed", reason: "refresh token refused" },
  },
  followUp: {
    firstCheckAfterMs: 60_000,
    giveUpAfterMs: 86_400_000,
    request: (token, s) => ({
      method: "GET",
      url: `${s.endpoint}/status?request_id=${token}`,
      headers: {},
      eventIndexes: [],
    }),
    classify: (response) => ({
      outcome: response.body === "SUCCESS"
        ? { kind: "delivered" }
        : response.body === "FAILURE"
        ? { kind: "failed", reason: "processing failed" }
        : { kind: "accepted", token: "" },
    }),
  },
} satisfies Connector<typeof settings>;

interface Platform {
  /** Row states the next /events answer gives, by event id (ok when absent). */
  rows: Map<string, string>;
  tokensIssued: number;
  /** Tokens the platform takes (others answer 401). */
  valid: Set<string>;
  status: string;
  requests: { url: string; authorization?: string }[];
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
    dialect: "native",
    user_data: { email: "ada@example.com" },
    properties: {},
    trace_id: "trace",
  };
}

async function withFake(
  fn: (t: {
    kv: Deno.Kv;
    engine: DeliveryEngine;
    platform: Platform;
    queued: () => Promise<QueueMessage[]>;
    deliver: (events: SluiceEvent[]) => Promise<void>;
    destinationId: string;
  }) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const sealer = new Sealer(SECRET, "event");
  const platform: Platform = {
    rows: new Map(),
    tokensIssued: 0,
    valid: new Set(),
    status: "PROCESSING",
    requests: [],
  };
  const send = (request: OutboundRequest) => {
    platform.requests.push({ url: request.url, authorization: request.headers.authorization });
    const path = new URL(request.url).pathname;
    let status = 200;
    let body: string;
    if (path === "/token") {
      body = `token-${++platform.tokensIssued}`;
      platform.valid.add(body);
    } else if (path === "/status") body = platform.status;
    else if (!platform.valid.has(request.headers.authorization?.slice(7) ?? "")) {
      status = 401;
      body = "{}";
    } else {
      const ids = JSON.parse(request.body ?? "[]") as string[];
      body = JSON.stringify({
        rows: ids.map((id) => platform.rows.get(id) ?? "ok"),
        request_id: "req-1",
      });
    }
    return Promise.resolve({
      response: { status, headers: new Headers(), body },
      latencyMs: 1,
      bodySnippet: body.slice(0, 2048),
    });
  };
  const destinations = new DestinationStore(kv, SECRET);
  const destination = await destinations.create(WS, {
    type: "webhook",
    name: "Fake",
    enabled: true,
    settings: { endpoint: "http://fake.test", refresh_token: "refresh-secret" },
    secretFields: ["refresh_token"],
  });
  const queue = new KvQueue(kv);
  const engine = new DeliveryEngine({
    kv,
    queue,
    sealer,
    destinations,
    rules: new RuleStore(kv),
    connectorFor: () => fake,
    send,
    retryScheduleMs: [1_000],
  });
  const queuedMessages: QueueMessage[] = [];
  const enqueueIn = queue.enqueueIn.bind(queue);
  queue.enqueueIn = (op, message, options) => {
    queuedMessages.push(message);
    enqueueIn(op, message, { ...options, delayMs: 3_600_000 });
  };
  queue.enqueue = (message) => {
    queuedMessages.push(message);
    return Promise.resolve();
  };
  const deliver = async (events: SluiceEvent[]) => {
    const op = kv.atomic();
    for (const event of events) {
      op.set(eventKey(WS, event.id), sealEvent(JSON.stringify(event), sealer));
    }
    await op.commit();
    await engine.deliver({
      type: "deliver",
      workspace_id: WS,
      destination_id: destination.id,
      ids: events.map((e) => e.id),
      attempt: 1,
    });
  };
  try {
    await fn({
      kv,
      engine,
      platform,
      queued: () => Promise.resolve(queuedMessages),
      deliver,
      destinationId: destination.id,
    });
  } finally {
    kv.close();
  }
}

async function statuses(kv: Deno.Kv, events: SluiceEvent[]): Promise<string[]> {
  return await Promise.all(
    events.map(async (e) => (await deliveriesOf(kv, WS, e.id))[0]?.status ?? "none"),
  );
}

Deno.test("DeliveryEngine settles each event from its own outcome: one bad row fails alone", () =>
  withFake(async ({ kv, platform, deliver, queued }) => {
    const now = Date.now();
    const events = [purchase(1, now), purchase(2, now), purchase(3, now)];
    platform.rows.set("order-2", "INVALID_EMAIL");
    await deliver(events);
    assert.deepEqual(await statuses(kv, events), ["delivered", "failed", "delivered"]);
    const row = (await deliveriesOf(kv, WS, events[1]!.id))[0];
    assert.equal(row?.last_error, "row refused: INVALID_EMAIL");
    assert.deepEqual((await queued()).filter((m) => m.type === "deliver"), [], "nothing retried");
  }));

Deno.test("DeliveryEngine authorizes once, reuses the token, and refreshes it once on a 401", () =>
  withFake(async ({ kv, platform, deliver }) => {
    const now = Date.now();
    await deliver([purchase(1, now)]);
    await deliver([purchase(2, now)]);
    assert.equal(platform.tokensIssued, 1, "the token is cached per destination");
    assert.deepEqual(
      platform.requests.map((r) => [new URL(r.url).pathname, r.authorization]),
      [["/token", undefined], ["/events", "Bearer token-1"], ["/events", "Bearer token-1"]],
    );
    platform.valid.clear(); // the platform revokes it
    const third = purchase(3, now);
    await deliver([third]);
    assert.equal(platform.tokensIssued, 2);
    assert.deepEqual(
      platform.requests.slice(3).map((r) => [new URL(r.url).pathname, r.authorization]),
      [["/events", "Bearer token-1"], ["/token", undefined], ["/events", "Bearer token-2"]],
    );
    assert.deepEqual(await statuses(kv, [third]), ["delivered"]);
  }));

Deno.test("DeliveryEngine keeps accepted rows and settles them from the follow-up check", () =>
  withFake(async ({ kv, engine, platform, deliver, queued }) => {
    const now = Date.now();
    const events = [purchase(1, now), purchase(2, now)];
    platform.rows.set("order-1", "later").set("order-2", "later");
    await deliver(events);
    assert.deepEqual(await statuses(kv, events), ["accepted", "accepted"]);
    const [check] = (await queued()).filter((m) => m.type === "check");
    assert.ok(check?.type === "check");
    assert.deepEqual([check.token, check.ids, check.check], ["req-1", events.map((e) => e.id), 1]);
    await engine.check(check);
    assert.deepEqual(await statuses(kv, events), ["accepted", "accepted"], "still processing");
    const again = (await queued()).filter((m) => m.type === "check");
    assert.equal(again.length, 2);
    const second = again[1];
    assert.ok(second?.type === "check");
    assert.equal(second.check, 2);
    platform.status = "SUCCESS";
    await engine.check(second);
    assert.deepEqual(await statuses(kv, events), ["delivered", "delivered"]);
    const row = (await deliveriesOf(kv, WS, events[0]!.id))[0];
    assert.equal(row?.detail, "request_id=req-1");
  }));
