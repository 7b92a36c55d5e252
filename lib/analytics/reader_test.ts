import assert from "node:assert/strict";
import { CounterBatch, DAY_MS, FAMILY, HOUR_MS } from "./counters.ts";
import { bucketPlan } from "./range.ts";
import { CounterReader, volumeDim } from "./reader.ts";

const DAY = Date.UTC(2026, 0, 10);
const NOW = Date.UTC(2026, 0, 15);

async function seeded(kv: Deno.Kv): Promise<void> {
  const batch = new CounterBatch();
  // One event every 6 hours for four days, and one outside the span.
  for (let at = DAY; at < DAY + 4 * DAY_MS; at += 6 * HOUR_MS) {
    batch.add("ws", at, "events", "", 1);
    batch.add("ws", at, FAMILY.deliveries, "d|purchase|delivered|", 2);
  }
  batch.add("ws", DAY - HOUR_MS, "events", "", 100);
  batch.add("other", DAY, "events", "", 100);
  const op = kv.atomic();
  batch.addTo(op);
  await op.commit();
}

Deno.test("CounterReader.totals() adds edge hours and whole days, nothing outside the span", async () => {
  await using kv = await Deno.openKv(":memory:");
  await seeded(kv);
  const reader = new CounterReader(kv, "ws");
  // 10th 12:00 → 13th 12:00: 2 events on the 10th, 4 on each of 11th and 12th, 2 on the 13th.
  const plan = bucketPlan({ start: DAY + 12 * HOUR_MS, end: DAY + 3 * DAY_MS + 12 * HOUR_MS }, NOW);
  assert.equal(plan.hours.length, 2);
  const volume = await reader.totals("volume", plan);
  assert.equal(volume.get(volumeDim("events")), 12);
  const deliveries = await reader.totals(FAMILY.deliveries, plan);
  assert.deepEqual([...deliveries], [["d|purchase|delivered|", 24]]);
});

Deno.test("CounterReader.series() answers values per bucket of one grain", async () => {
  await using kv = await Deno.openKv(":memory:");
  await seeded(kv);
  const reader = new CounterReader(kv, "ws");
  const days = await reader.series("volume", "d", { start: DAY, end: DAY + 2 * DAY_MS });
  assert.deepEqual([...days.keys()], [DAY, DAY + DAY_MS]);
  assert.equal(days.get(DAY)?.get(volumeDim("events")), 4);
  const hours = await reader.series(FAMILY.deliveries, "h", { start: DAY, end: DAY + DAY_MS });
  assert.equal(hours.size, 4);
  assert.deepEqual(await reader.series("volume", "h", { start: DAY, end: DAY }), new Map());
});
