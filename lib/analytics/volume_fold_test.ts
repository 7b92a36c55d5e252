import assert from "node:assert/strict";
import { statFoldMarkKey, statFoldPrefix } from "../kv/keys.ts";
import { CounterBatch, DAY_MS, HOUR_MS } from "./counters.ts";
import { volumeDim } from "./reader.ts";
import { FOLD_GRACE_MS, foldVolume, hourlyVolume } from "./volume_fold.ts";

const DAY = Date.UTC(2026, 6, 1);

/** Three days of counts: on day d, hour h, `events` gets d*100+h and `purchase` 1 at even hours. */
async function seed(kv: Deno.Kv): Promise<void> {
  const batch = new CounterBatch();
  for (let d = 0; d < 3; d++) {
    for (let h = 0; h < 24; h++) {
      const at = DAY + d * DAY_MS + h * HOUR_MS + 1000;
      batch.add("ws", at, "events", "", d * 100 + h);
      if (h % 2 === 0) batch.add("ws", at, "events_by_name", "purchase", 1);
    }
  }
  batch.add("other", DAY, "events", "", 7);
  const op = kv.atomic();
  batch.addTo(op);
  await op.commit();
}

const flat = (series: Map<number, Map<string, number>>) =>
  [...series].sort(([a], [b]) => a - b).map(([hour, totals]) =>
    [(hour - DAY) / HOUR_MS, Object.fromEntries(totals)] as const
  );

Deno.test("foldVolume() folds each finished UTC day once the grace has passed, and moves the mark", async () => {
  await using kv = await Deno.openKv(":memory:");
  await seed(kv);
  const secondDayEnd = DAY + 2 * DAY_MS;
  // The first pass folds every day whose hours are all still kept (from 32 days before DAY),
  // up to day 1: day 2 is in its grace.
  assert.equal(await foldVolume(kv, "ws", secondDayEnd + FOLD_GRACE_MS - 1), 33);
  const from = DAY - 32 * DAY_MS;
  assert.deepEqual((await kv.get(statFoldMarkKey("ws"))).value, { from, to: DAY + DAY_MS });
  assert.equal(await foldVolume(kv, "ws", secondDayEnd + FOLD_GRACE_MS), 1);
  assert.equal(await foldVolume(kv, "ws", secondDayEnd + FOLD_GRACE_MS), 0, "nothing left");
  assert.deepEqual((await kv.get(statFoldMarkKey("ws"))).value, { from, to: secondDayEnd });
  // An upkeep that stopped for longer than the hours are kept starts afresh.
  const later = secondDayEnd + 40 * DAY_MS + FOLD_GRACE_MS;
  await foldVolume(kv, "ws", later);
  assert.deepEqual((await kv.get(statFoldMarkKey("ws"))).value, {
    from: secondDayEnd + 6 * DAY_MS,
    to: secondDayEnd + 40 * DAY_MS,
  });
  const records = [];
  for await (
    const { key, value } of kv.list<{ dims: string[]; hours: number[][] }>({
      prefix: statFoldPrefix("ws"),
    })
  ) {
    const byDim = Object.fromEntries(value.dims.map((dim, i) => [dim, value.hours[i]]));
    records.push([key.slice(2), byDim]);
  }
  const hours = (d: number) => Array.from({ length: 24 }, (_, h) => d * 100 + h);
  const even = Array.from({ length: 24 }, (_, h) => h % 2 === 0 ? 1 : 0);
  const purchase = volumeDim("events_by_name", "purchase");
  assert.deepEqual(records, [
    [[DAY, 0], { [volumeDim("events")]: hours(0), [purchase]: even }],
    [[DAY + DAY_MS, 0], { [volumeDim("events")]: hours(1), [purchase]: even }],
  ]);
  assert.equal((await kv.get(statFoldMarkKey("other"))).value, null, "other workspaces untouched");
});

Deno.test("foldVolume() stops when another process moved the mark", async () => {
  await using kv = await Deno.openKv(":memory:");
  await seed(kv);
  const realGet = kv.get.bind(kv);
  let raced = false;
  kv.get = (async (key: Deno.KvKey) => {
    const entry = await realGet(key);
    if (!raced) {
      raced = true;
      await kv.set(statFoldMarkKey("ws"), { from: DAY, to: DAY + DAY_MS });
    }
    return entry;
  }) as typeof kv.get;
  assert.equal(await foldVolume(kv, "ws", DAY + 3 * DAY_MS + FOLD_GRACE_MS), 0);
  let records = 0;
  for await (const _ of kv.list({ prefix: statFoldPrefix("ws") })) records++;
  assert.equal(records, 0);
});

Deno.test("hourlyVolume() answers the same hours from folded days and hour counters", async () => {
  await using kv = await Deno.openKv(":memory:");
  await seed(kv);
  const span = { start: DAY + 19 * HOUR_MS, end: DAY + 2 * DAY_MS + 5 * HOUR_MS };
  const before = await hourlyVolume(kv, "ws", span);
  assert.deepEqual(before.folded, new Set());
  const unfolded = flat(before.series);
  assert.equal(unfolded.length, 34);
  assert.deepEqual(unfolded[0], [19, { [volumeDim("events")]: 19 }]);
  assert.deepEqual(unfolded[5], [24, {
    [volumeDim("events")]: 100,
    [volumeDim("events_by_name", "purchase")]: 1,
  }]);
  assert.deepEqual(unfolded.at(-1), [52, {
    [volumeDim("events")]: 204,
    [volumeDim("events_by_name", "purchase")]: 1,
  }]);

  await foldVolume(kv, "ws", DAY + 2 * DAY_MS + FOLD_GRACE_MS);
  // A count in a folded hour that lands after the fold is in the hour counter only.
  const late = kv.atomic();
  const batch = new CounterBatch();
  batch.add("ws", DAY + 20 * HOUR_MS, "events", "", 1000);
  batch.addTo(late);
  await late.commit();
  const after = await hourlyVolume(kv, "ws", span);
  assert.deepEqual(after.folded, new Set([DAY, DAY + DAY_MS]), "day 2 is not over at the fold");
  assert.deepEqual(flat(after.series), unfolded);
});

Deno.test("hourlyVolume() reads a day too large to fold from its hours, and counts it as not folded", async () => {
  await using kv = await Deno.openKv(":memory:");
  await seed(kv);
  await foldVolume(kv, "ws", DAY + 2 * DAY_MS + FOLD_GRACE_MS);
  // As foldVolume marks a day over its parts limit.
  for await (const { key } of kv.list({ prefix: [...statFoldPrefix("ws"), DAY] })) {
    await kv.delete(key);
  }
  await kv.set([...statFoldPrefix("ws"), DAY, 0], { unfolded: true });
  const span = { start: DAY, end: DAY + 2 * DAY_MS };
  const read = await hourlyVolume(kv, "ws", span);
  assert.deepEqual(read.folded, new Set([DAY + DAY_MS]));
  assert.equal(read.series.get(DAY + 5 * HOUR_MS)?.get(volumeDim("events")), 5, "from its hours");
  assert.equal(read.series.size, 48, "every hour of both days");
});
