import assert from "node:assert/strict";
import { analyticsCounterPrefix, statDayPrefix, statFoldPrefix, statPrefix } from "../kv/keys.ts";
import { DEFAULT_KV_LIMITS } from "../kv/limits.ts";
import { DEFAULT_SETTINGS, type Workspace } from "../workspaces.ts";
import { CounterBatch, DAY_MS, FAMILY } from "./counters.ts";
import { CounterRetention, counterRetentionDays } from "./retention.ts";

const NOW = Date.UTC(2026, 6, 1, 12);

async function count(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}

const workspace = (id: string, counterDays?: number): Workspace => ({
  id,
  name: id,
  public_id: `pk_${id}`,
  allowed_origins: [],
  settings: { ...DEFAULT_SETTINGS, counter_retention_days: counterDays },
  created_at: new Date(0).toISOString(),
});

Deno.test("CounterRetention.sweep() folds finished days, deletes hours after 35 days, folds and days after retention", async () => {
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
  for (const daysAgo of [40, 500]) {
    await kv.set([...statFoldPrefix("ws"), NOW - daysAgo * DAY_MS, 0], { dims: [], hours: [] });
  }
  const deleted = await new CounterRetention(kv, DEFAULT_KV_LIMITS).sweep(workspace("ws"), NOW);
  // Hours of 40 and 500 days ago, the fold and days of 500 days ago, for volume and
  // deliveries; the week of 500 days ago for deliveries (volume has no weeks).
  assert.equal(deleted, 8);
  assert.equal(await count(kv, statPrefix("ws")), 1);
  assert.equal(await count(kv, statFoldPrefix("ws")), 2, "yesterday folded, 40 days ago kept");
  assert.equal(await count(kv, statDayPrefix("ws")), 2);
  assert.equal(await count(kv, analyticsCounterPrefix("ws", FAMILY.deliveries, "h")), 1);
  assert.equal(await count(kv, analyticsCounterPrefix("ws", FAMILY.deliveries, "d")), 2);
  assert.equal(await count(kv, analyticsCounterPrefix("ws", FAMILY.deliveries, "w")), 2);
  assert.equal(await count(kv, statDayPrefix("other")), 1, "other workspaces untouched");

  await new CounterRetention(kv, DEFAULT_KV_LIMITS).sweep(workspace("ws", 30), NOW);
  assert.equal(await count(kv, statDayPrefix("ws")), 1, "a shorter setting deletes more days");
  assert.equal(await count(kv, statFoldPrefix("ws")), 1, "and more folds");
  assert.equal(counterRetentionDays({}), 400);
  assert.equal(counterRetentionDays({ counter_retention_days: 90 }), 90);
});
