import assert from "node:assert/strict";
import { analyticsCounterPrefix, statDayPrefix, statPrefix } from "../kv/keys.ts";
import { CounterBatch, DAY_MS, FAMILY } from "./counters.ts";
import { counterRetentionDays, CounterSweeper } from "./retention.ts";

const NOW = Date.UTC(2026, 6, 1);

async function count(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}

Deno.test("CounterSweeper.sweep() deletes hour counters after 35 days, day counters after retention", async () => {
  await using kv = await Deno.openKv(":memory:");
  const batch = new CounterBatch();
  for (const daysAgo of [1, 40, 500]) {
    batch.add("ws", NOW - daysAgo * DAY_MS, "events", "", 1);
    batch.add("ws", NOW - daysAgo * DAY_MS, FAMILY.deliveries, "d|purchase|delivered|", 1);
  }
  batch.add("other", NOW - 500 * DAY_MS, "events", "", 1);
  const op = kv.atomic();
  batch.addTo(op);
  await op.commit();
  const deleted = await new CounterSweeper(kv).sweep("ws", 400, NOW);
  // Hours of 40 and 500 days ago and days of 500 days ago, for volume and deliveries; the
  // week of 500 days ago for deliveries (volume has no weeks).
  assert.equal(deleted, 7);
  assert.equal(await count(kv, statPrefix("ws")), 1);
  assert.equal(await count(kv, statDayPrefix("ws")), 2);
  assert.equal(await count(kv, analyticsCounterPrefix("ws", FAMILY.deliveries, "h")), 1);
  assert.equal(await count(kv, analyticsCounterPrefix("ws", FAMILY.deliveries, "d")), 2);
  assert.equal(await count(kv, analyticsCounterPrefix("ws", FAMILY.deliveries, "w")), 2);
  assert.equal(await count(kv, statDayPrefix("other")), 1, "other workspaces untouched");
});

Deno.test("CounterSweeper.touch() sweeps once a day per workspace, in the background", async () => {
  await using kv = await Deno.openKv(":memory:");
  const sweeper = new CounterSweeper(kv);
  let sweeps = 0;
  const sweep = sweeper.sweep.bind(sweeper);
  sweeper.sweep = (...args) => {
    sweeps++;
    return sweep(...args);
  };
  sweeper.touch("ws", 400, NOW);
  sweeper.touch("ws", 400, NOW + 1000);
  sweeper.touch("ws", 400, NOW + DAY_MS);
  await sweeper.idle();
  assert.equal(sweeps, 2);
  assert.equal(counterRetentionDays({}), 400);
  assert.equal(counterRetentionDays({ counter_retention_days: 90 }), 90);
});
