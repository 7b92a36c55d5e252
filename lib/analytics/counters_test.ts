import assert from "node:assert/strict";
import { analyticsCounterKey, statDayKey, statKey } from "../kv/keys.ts";
import { CounterBatch, counterValue, DAY_MS, FAMILY, HOUR_MS, weekOf } from "./counters.ts";

const T = Date.UTC(2026, 0, 15, 10, 20);
const HOUR = Math.floor(T / HOUR_MS) * HOUR_MS;
const DAY = Math.floor(T / DAY_MS) * DAY_MS;
/** Thursday 15 January 2026 is in the week from Monday the 12th. */
const WEEK = Date.UTC(2026, 0, 12);

async function values(kv: Deno.Kv, keys: Deno.KvKey[]): Promise<(number | null)[]> {
  const entries = await kv.getMany<Deno.KvU64[]>(keys);
  return entries.map((e) => e.value === null ? null : counterValue(e.value));
}

Deno.test("CounterBatch.add() sums counters of the same hour, metric and dimension", () => {
  const batch = new CounterBatch();
  batch.add("ws", T, "events", "", 1);
  batch.add("ws", T + 60_000, "events", "", 2);
  batch.add("ws", T + HOUR_MS, "events", "", 1);
  batch.add("ws", T, FAMILY.deliveries, "d|purchase|delivered|", 1);
  assert.equal(batch.size, 3);
  assert.equal(batch.keyCount, 7, "volume: hour and day; others: hour, day and week");
});

Deno.test("CounterBatch.addTo() writes hour, day and week keys, volume in the stat layout", async () => {
  await using kv = await Deno.openKv(":memory:");
  const batch = new CounterBatch();
  batch.add("ws", T, "events_by_name", "purchase", 3);
  batch.add("ws", T, FAMILY.revenue, "v|EUR", 1050);
  batch.add("ws", T, FAMILY.funnel, "5", 1);
  const op = kv.atomic();
  assert.equal(batch.addTo(op).size, 0);
  assert.ok((await op.commit()).ok);
  assert.deepEqual(
    await values(kv, [
      statKey("ws", HOUR, "events_by_name", "purchase"),
      statDayKey("ws", DAY, "events_by_name", "purchase"),
      analyticsCounterKey("ws", FAMILY.revenue, "h", HOUR, "v|EUR"),
      analyticsCounterKey("ws", FAMILY.revenue, "d", DAY, "v|EUR"),
      analyticsCounterKey("ws", FAMILY.revenue, "w", WEEK, "v|EUR"),
      analyticsCounterKey("ws", FAMILY.funnel, "d", DAY, "5"),
      analyticsCounterKey("ws", FAMILY.funnel, "w", WEEK, "5"),
      analyticsCounterKey("ws", FAMILY.funnel, "h", HOUR, "5"),
    ]),
    [3, 3, 1050, 1050, 1050, 1, 1, null],
  );
});

Deno.test("CounterBatch.addTo() moves a state with a wrapping −1 that reads back signed", async () => {
  await using kv = await Deno.openKv(":memory:");
  const key = analyticsCounterKey("ws", FAMILY.destinations, "h", HOUR, "d|pending");
  for (const by of [1, 1, -1]) {
    const batch = new CounterBatch();
    batch.add("ws", T, FAMILY.destinations, "d|pending", by);
    const op = kv.atomic();
    batch.addTo(op);
    await op.commit();
  }
  assert.deepEqual(await values(kv, [key]), [1]);
  const below = new CounterBatch();
  below.add("ws", T, FAMILY.destinations, "d|failed", -2);
  const op = kv.atomic();
  below.addTo(op);
  await op.commit();
  assert.deepEqual(
    await values(kv, [analyticsCounterKey("ws", FAMILY.destinations, "h", HOUR, "d|failed")]),
    [-2],
  );
});

Deno.test("CounterBatch.addTo() skips counters that net to zero and answers what did not fit", async () => {
  await using kv = await Deno.openKv(":memory:");
  const batch = new CounterBatch();
  batch.add("ws", T, FAMILY.deliveries, "a", 1);
  batch.add("ws", T, FAMILY.deliveries, "a", -1);
  batch.add("ws", T, FAMILY.deliveries, "b", 1);
  batch.add("ws", T, FAMILY.deliveries, "c", 1);
  const op = kv.atomic();
  const rest = batch.addTo(op, 3);
  assert.equal(rest.size, 1);
  await op.commit();
  const keys = ["a", "b", "c"].map((d) =>
    analyticsCounterKey("ws", FAMILY.deliveries, "h", HOUR, d)
  );
  assert.deepEqual(await values(kv, keys), [null, 1, null]);
});

Deno.test("weekOf() starts weeks on Monday 00:00 UTC", () => {
  assert.equal(weekOf(T), WEEK);
  assert.equal(weekOf(WEEK), WEEK);
  assert.equal(weekOf(WEEK - 1), WEEK - 7 * DAY_MS);
});

Deno.test("CounterBatch without rollups writes the hour keys only (the pre-analytics commit)", async () => {
  await using kv = await Deno.openKv(":memory:");
  const batch = new CounterBatch({ rollups: false });
  batch.add("ws", T, "events", "", 1);
  assert.equal(batch.keyCount, 1);
  const op = kv.atomic();
  batch.addTo(op);
  await op.commit();
  assert.deepEqual(
    await values(kv, [statKey("ws", HOUR, "events"), statDayKey("ws", DAY, "events")]),
    [1, null],
  );
});
