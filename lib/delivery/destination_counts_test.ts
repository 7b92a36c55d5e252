import assert from "node:assert/strict";
import { CounterBatch, DAY_MS, FAMILY, HOUR_MS } from "../analytics/counters.ts";
import { hoursOf, resolveRange, zonedDays } from "../analytics/range.ts";
import type { ReportContext } from "../analytics/report.ts";
import { counterCounts } from "./destination_counts.ts";

const NOW = Date.UTC(2026, 11, 4, 12, 30);

async function write(
  kv: Deno.Kv,
  counters: [at: number, family: string, dim: string, by: number][],
) {
  const batch = new CounterBatch();
  for (const [at, family, dim, by] of counters) batch.add("ws", at, family, dim, by);
  const op = kv.atomic();
  batch.addTo(op);
  assert.ok((await op.commit()).ok);
}

function contextOf(kv: Deno.Kv, range: "24h" | "7d", tz = "UTC"): ReportContext {
  return { kv, wsId: "ws", range: resolveRange({ range, tz }, NOW), destinations: [], now: NOW };
}

Deno.test("counterCounts() sums states per destination and per hour, moves included", async () => {
  await using kv = await Deno.openKv(":memory:");
  const hour = Date.UTC(2026, 11, 4, 12);
  await write(kv, [
    [hour - 25 * HOUR_MS, FAMILY.destinations, "dst_a|delivered", 7], // before the range
    [hour - 2 * HOUR_MS, FAMILY.destinations, "dst_a|delivered", 3],
    [hour - 2 * HOUR_MS, FAMILY.destinations, "dst_a|accepted", 1],
    [hour - 2 * HOUR_MS, FAMILY.destinations, "dst_a|failed|validation", 2],
    [hour, FAMILY.destinations, "dst_a|pending", 2],
    [hour, FAMILY.destinations, "dst_a|pending", -1], // one left pending …
    [hour, FAMILY.destinations, "dst_a|failed|server", 1], // … and failed
    [hour, FAMILY.destinations, "dst_a|retries", 4],
    [hour, FAMILY.destinations, "dst_b|skipped|consent", 5],
    [hour, FAMILY.destinations, "dst_b|retrying|throttled", 1],
    [hour - 2 * HOUR_MS, FAMILY.latency, "b3", 4],
    [hour - 2 * HOUR_MS, FAMILY.latency, "b3|dst_a", 4],
    [hour, FAMILY.latency, "b4|dst_a", 1],
    [hour - 2 * HOUR_MS, FAMILY.latency, "sum|dst_a", 3_000],
    [hour - 2 * HOUR_MS, FAMILY.latency, "n|dst_a", 4],
    [hour, FAMILY.latency, "sum|dst_a", 1_500],
    [hour, FAMILY.latency, "n|dst_a", 1],
  ]);
  const ctx = contextOf(kv, "24h");
  const buckets = hoursOf(ctx.range).map((start) => ({ start, end: start + HOUR_MS }));
  const counts = await counterCounts(ctx, buckets);
  const zeros = Array<number>(24).fill(0);
  const at = (values: Record<number, number>) => zeros.map((z, i) => values[i] ?? z);
  assert.deepEqual(counts.get("dst_a"), {
    delivered: 4,
    failed: 3,
    skipped: 0,
    pending: 1,
    series: { delivered: at({ 21: 4 }), failed: at({ 21: 2, 23: 1 }) },
    average_latency_ms: 900, // (3,000 + 1,500) / 5
    // Rank 4.75 of 5: three quarters into the 2–5 s bin.
    p95_latency_ms: 4250,
  });
  assert.deepEqual(counts.get("dst_b"), {
    delivered: 0,
    failed: 0,
    skipped: 5,
    pending: 1,
    series: { delivered: zeros, failed: zeros },
    average_latency_ms: null,
    p95_latency_ms: null,
  });
  assert.deepEqual([...counts.keys()].sort(), ["dst_a", "dst_b"]);
});

Deno.test("counterCounts() reads day counters for UTC days and hours for local days", async () => {
  await using kv = await Deno.openKv(":memory:");
  const today = Date.UTC(2026, 11, 4);
  await write(kv, [
    [today - 6 * DAY_MS + HOUR_MS, FAMILY.destinations, "dst_a|delivered", 2],
    [today - DAY_MS + 23 * HOUR_MS, FAMILY.destinations, "dst_a|delivered", 1],
    [today + 9 * HOUR_MS, FAMILY.destinations, "dst_a|failed|auth", 1],
  ]);
  const utc = contextOf(kv, "7d");
  const days = zonedDays(utc.range).map((d) => d.span);
  assert.equal(days.length, 7);
  assert.deepEqual((await counterCounts(utc, days)).get("dst_a")?.series, {
    delivered: [2, 0, 0, 0, 0, 1, 0],
    failed: [0, 0, 0, 0, 0, 0, 1],
  });
  // In Berlin (UTC+1 in December) 23:00 UTC on the 3rd starts the 4th, the last day.
  const berlin = contextOf(kv, "7d", "Europe/Berlin");
  const local = zonedDays(berlin.range).map((d) => d.span);
  assert.deepEqual((await counterCounts(berlin, local)).get("dst_a")?.series, {
    delivered: [2, 0, 0, 0, 0, 0, 1],
    failed: [0, 0, 0, 0, 0, 0, 1],
  });
});

Deno.test("counterCounts() answers nothing for no buckets", async () => {
  await using kv = await Deno.openKv(":memory:");
  assert.equal((await counterCounts(contextOf(kv, "24h"), [])).size, 0);
});
