import assert from "node:assert/strict";
import { monotonicFactory } from "ulid";
import type { SluiceEvent } from "../../core/event.ts";
import type { RouteDecision } from "../delivery/rules.ts";
import { labelSetKey, orderKey, visitorKey } from "../kv/keys.ts";
import { FAMILY } from "./counters.ts";
import { FanOutCounts, MAX_UTM_LABELS } from "./fan_out_counts.ts";
import { OrderBook } from "./orders.ts";
import { bucketPlan } from "./range.ts";
import { CounterReader } from "./reader.ts";
import { visitorHash, type VisitorRecord } from "./visitors.ts";

const T = Date.UTC(2026, 0, 15, 10);
const newUlid = monotonicFactory();
const SEND: RouteDecision = { send: true, event_name: "purchase" };

function event(fields: Partial<SluiceEvent> & { event_name: string }): SluiceEvent {
  return {
    id: newUlid(T),
    workspace_id: "ws",
    event_id: crypto.randomUUID(),
    event_time: T,
    received_at: T,
    source: "server",
    dialect: "native",
    user_data: {},
    properties: {},
    trace_id: "t",
    ...fields,
  };
}

const visitor = (id: string, extra: SluiceEvent["user_data"] = {}) => ({
  user_data: { anonymous_id: id, ...extra },
});

async function fanOut(
  kv: Deno.Kv,
  counts: FanOutCounts,
  events: SluiceEvent[],
  decisions = new Map<string, RouteDecision>([["d", SEND]]),
) {
  const writes = await counts.plan(
    "ws",
    events.map((e) => ({ event: e, decisions })),
    () => "meta",
    true,
  );
  const op = kv.atomic();
  writes.addTo(op);
  assert.ok((await op.commit()).ok);
  writes.committed();
}

async function totals(kv: Deno.Kv, family: typeof FAMILY.funnel | typeof FAMILY.attribution) {
  const day = Math.floor(T / 86_400_000) * 86_400_000;
  const plan = { ...bucketPlan({ start: day, end: day + 86_400_000 }, T), widened: false };
  const read = await new CounterReader(kv, "ws").totals(family, plan);
  return Object.fromEntries([...read].filter(([, n]) => n !== 0).sort());
}

Deno.test("FanOutCounts.plan() moves a visitor's day mask as it takes new steps", async () => {
  await using kv = await Deno.openKv(":memory:");
  const counts = new FanOutCounts(kv, new OrderBook(kv));
  // v1: page_view twice, then add_to_cart (in a later fan-out); v2: purchase only.
  await fanOut(kv, counts, [
    event({ event_name: "page_view", ...visitor("v1") }),
    event({ event_name: "page_view", ...visitor("v1") }),
    event({ event_name: "purchase", ...visitor("v2") }),
  ]);
  await fanOut(kv, counts, [event({ event_name: "add_to_cart", ...visitor("v1") })]);
  // page_view = bit 0 (1), add_to_cart = bit 4 (16), purchase = bit 9 (512).
  assert.deepEqual(await totals(kv, FAMILY.funnel), { "17": 1, "512": 1 });
  const record = (await kv.get<VisitorRecord>(visitorKey("ws", visitorHash("ws", "v1")))).value;
  assert.equal(record?.steps, 17);
});

Deno.test("FanOutCounts.plan() attributes an order to the visitor's first and last touch, once", async () => {
  await using kv = await Deno.openKv(":memory:");
  const counts = new FanOutCounts(kv, new OrderBook(kv));
  await fanOut(kv, counts, [
    event({
      event_name: "page_view",
      ...visitor("v1", { click_ids: { fbclid: "F" } }),
      utm: { source: "Newsletter" },
    }),
    event({ event_name: "page_view", ...visitor("v1", { click_ids: { ttclid: "T" } }) }),
  ]);
  const purchase = event({
    event_name: "purchase",
    ...visitor("v1"),
    order_id: "A",
    value: 12.5,
    currency: "EUR",
  });
  await fanOut(kv, counts, [purchase]);
  // The same order again under another event id, from the browser: not counted again.
  await fanOut(kv, counts, [
    event({
      event_name: "purchase",
      dialect: "browser",
      ...visitor("v1"),
      order_id: "A",
      value: 12.5,
      currency: "EUR",
    }),
  ]);
  assert.deepEqual(await totals(kv, FAMILY.attribution), {
    "first|click|meta|n": 1,
    "first|click|meta|v|EUR": 1250,
    "first|utm|newsletter|n": 1,
    "first|utm|newsletter|v|EUR": 1250,
    "last|click|tiktok|n": 1,
    "last|click|tiktok|v|EUR": 1250,
    "last|utm|none|n": 1,
    "last|utm|none|v|EUR": 1250,
  });
  const day = Math.floor(T / 86_400_000) * 86_400_000;
  const plan = bucketPlan({ start: day, end: day + 86_400_000 }, T);
  const reader = new CounterReader(kv, "ws");
  assert.deepEqual(Object.fromEntries(await reader.totals(FAMILY.revenue, plan)), {
    "v|EUR": 1250,
    "n|EUR": 1,
  });
  assert.deepEqual(Object.fromEntries(await reader.totals(FAMILY.pairs, plan)), {
    "order_id|server>browser": 1,
  });
  assert.deepEqual(Object.fromEntries(await reader.totals(FAMILY.dedup, plan)), {
    "d|mismatch": 1,
  });
  assert.equal((await kv.get<{ ulid: string }>(orderKey("ws", "A"))).value?.ulid, purchase.id);
  assert.deepEqual(
    await new OrderBook(kv).firstCopies("ws", [purchase]),
    new Set([purchase.id]),
  );
});

Deno.test("FanOutCounts.plan() writes a visitor again for a new touch or a day later, not for a repeated one", async () => {
  await using kv = await Deno.openKv(":memory:");
  const counts = new FanOutCounts(kv, new OrderBook(kv));
  const campaign = { utm: { source: "newsletter" } };
  const key = visitorKey("ws", visitorHash("ws", "v1"));
  const plan = async (e: SluiceEvent) => {
    const writes = await counts.plan(
      "ws",
      [{ event: e, decisions: new Map() }],
      () => "meta",
      true,
    );
    const op = kv.atomic();
    writes.addTo(op);
    await op.commit();
    writes.committed();
    return (await kv.get<VisitorRecord>(key)).versionstamp;
  };
  // Its own ulids: the shared factory is monotonic, and these run a day ahead.
  const ulidAt = monotonicFactory();
  const at = (ms: number) => ({ id: ulidAt(T + ms) });
  const first = await plan(
    event({ event_name: "page_view", ...visitor("v1"), ...campaign, ...at(0) }),
  );
  // The pixel repeats the landing campaign on every event of the visit.
  const again = await plan(
    event({ event_name: "page_view", ...visitor("v1"), ...campaign, ...at(60_000) }),
  );
  assert.equal(again, first, "the same touch within a day: no write");
  const other = await plan(
    event({ event_name: "page_view", ...visitor("v1"), utm: { source: "ads" }, ...at(120_000) }),
  );
  assert.notEqual(other, first, "a new source is written");
  const last = (await kv.get<VisitorRecord>(key)).value?.last;
  assert.deepEqual(last, { utm: "ads", at: T + 120_000 });
  const nextDay = await plan(
    event({
      event_name: "page_view",
      ...visitor("v1"),
      utm: { source: "ads" },
      ...at(120_000 + 86_400_000),
    }),
  );
  assert.notEqual(nextDay, other, "a day later the record is written again (its expiry moves)");
});

Deno.test("FanOutCounts.plan() keeps the first 50 UTM sources and counts the rest as other", async () => {
  await using kv = await Deno.openKv(":memory:");
  await kv.set(
    labelSetKey("ws", "utm_source"),
    Array.from({ length: MAX_UTM_LABELS }, (_, i) => `s${i}`),
  );
  const counts = new FanOutCounts(kv, new OrderBook(kv));
  await fanOut(kv, counts, [
    event({ event_name: "purchase", utm: { source: "brand-new" }, order_id: "X" }),
  ]);
  const attribution = await totals(kv, FAMILY.attribution);
  assert.equal(attribution["first|utm|other|n"], 1);
  assert.equal(
    (await kv.get<string[]>(labelSetKey("ws", "utm_source"))).value?.length,
    MAX_UTM_LABELS,
  );
});
