import assert from "node:assert/strict";
import { decodeTime } from "ulid";
import type { SluiceEvent } from "../../core/event.ts";
import { missingOrderKey } from "../kv/keys.ts";
import { CounterBatch, counterValue, FAMILY, type Family } from "./counters.ts";
import { CounterReader } from "./reader.ts";
import { countRowChange, type RowChange } from "./transitions.ts";
import { AnalyticsWrites } from "./writes.ts";

const ULID = "01KDTVHF2M0000000000000000";
const HOUR = Math.floor(decodeTime(ULID) / 3_600_000) * 3_600_000;
const event: SluiceEvent = {
  id: ULID,
  workspace_id: "ws",
  event_id: "e1",
  event_name: "purchase",
  event_time: 0,
  received_at: decodeTime(ULID),
  source: "server",
  dialect: "native",
  order_id: "A",
  user_data: { email: "a@example.com", client_ip: "203.0.113.9" },
  properties: {},
  trace_id: "t",
};

async function apply(kv: Deno.Kv, changes: Omit<RowChange, "ulid" | "destinationId" | "type">[]) {
  for (const change of changes) {
    const writes = new AnalyticsWrites();
    countRowChange(writes, "ws", { ulid: ULID, destinationId: "d", type: "meta", ...change });
    const op = kv.atomic();
    writes.addTo(op);
    assert.ok((await op.commit()).ok);
  }
}

async function totals(kv: Deno.Kv, family: Family): Promise<Record<string, number>> {
  const series = await new CounterReader(kv, "ws").series(
    family,
    "h",
    { start: HOUR, end: HOUR + 3_600_000 },
  );
  return Object.fromEntries([...series.get(HOUR) ?? []].filter(([, n]) => n !== 0));
}

Deno.test("countRowChange() moves a row between states: it counts once, in its last state", async () => {
  await using kv = await Deno.openKv(":memory:");
  const pending = { status: "pending" as const, event_name: "purchase" };
  const failed = {
    status: "failed" as const,
    event_name: "purchase",
    last_status: 400,
    last_error: "Meta error 100",
  };
  const delivered = { status: "delivered" as const, event_name: "purchase", last_status: 200 };
  await apply(kv, [
    { after: pending, event, firstOfOrder: true },
    { before: pending, after: failed, event, firstOfOrder: true },
    // retry-failed, then delivered; then a replay delivers it again.
    { before: failed, after: pending, event, firstOfOrder: true },
    { before: pending, after: delivered, event, firstOfOrder: true, latencyMs: 1200 },
    { before: delivered, after: pending, event, firstOfOrder: true },
    { before: pending, after: delivered, event, firstOfOrder: true },
  ]);
  assert.deepEqual(await totals(kv, FAMILY.deliveries), { "d|purchase|delivered|": 1 });
  assert.deepEqual(await totals(kv, FAMILY.destinations), { "d|delivered": 1 });
  assert.deepEqual(await totals(kv, FAMILY.orders), { "d|delivered": 1 });
  const sent = { "d|_sent": 1, "d|email": 1, "d|ip": 1 };
  assert.deepEqual(await totals(kv, FAMILY.identifiers), sent);
  assert.deepEqual(await totals(kv, FAMILY.purchaseIdentifiers), sent);
  assert.deepEqual(await totals(kv, FAMILY.latency), {
    b3: 1,
    "b3|d": 1,
    "sum|d": 1200,
    "n|d": 1,
  });
  assert.equal(
    (await kv.get(missingOrderKey("ws", ULID, "d"))).value,
    null,
    "delivered: not missing",
  );
});

Deno.test("countRowChange() keys failures and skips by reason class and keeps missing orders", async () => {
  await using kv = await Deno.openKv(":memory:");
  await apply(kv, [
    {
      after: {
        status: "skipped",
        event_name: "Custom Thing",
        last_error: "consent: ad_user_data denied",
      },
      event,
      firstOfOrder: true,
    },
    { after: { status: "retrying", event_name: "purchase", last_status: 429 } },
  ]);
  assert.deepEqual(await totals(kv, FAMILY.deliveries), {
    "d|other|skipped|consent": 1,
    "d|purchase|retrying|": 1,
  });
  assert.deepEqual(await totals(kv, FAMILY.destinations), {
    "d|skipped|consent": 1,
    "d|retrying": 1,
    "d|retries": 1,
  });
  const missing = (await kv.get(missingOrderKey("ws", ULID, "d"))).value;
  assert.deepEqual({ ...missing as object, updated_at: 0 }, {
    order_id: "A",
    status: "skipped",
    reason_class: "consent",
    updated_at: 0,
  });
});

Deno.test("AnalyticsWrites counts mutations and runs callbacks once committed", () => {
  const writes = new AnalyticsWrites();
  writes.counters.merge(new CounterBatch());
  writes.set(["a"], 1);
  writes.set(["a"], 2);
  writes.delete(["b"]);
  let called = 0;
  writes.onCommitted(() => called++);
  assert.equal(writes.mutations, 2);
  writes.committed();
  writes.committed();
  assert.equal(called, 1);
  assert.equal(counterValue(new Deno.KvU64(2n ** 64n - 1n)), -1);
});
