import assert from "node:assert/strict";
import { DAY_MS, HOUR_MS } from "./counters.ts";
import { bucketPlan, ceilHour, hoursOf, previousSpan, resolveRange, zonedDays } from "./range.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const NOW = Date.UTC(2026, 0, 15, 10, 20);

Deno.test("resolveRange() 24h is this UTC hour and the 23 before", () => {
  const r = resolveRange({ range: "24h", tz: "America/Los_Angeles" }, NOW);
  assert.equal(iso(r.start), "2026-01-14T11:00:00.000Z");
  assert.equal(iso(r.end), "2026-01-15T11:00:00.000Z");
});

Deno.test("resolveRange() 7d is today in the zone and the six days before", () => {
  const utc = resolveRange({ range: "7d", tz: "UTC" }, NOW);
  assert.equal(iso(utc.start), "2026-01-09T00:00:00.000Z");
  assert.equal(iso(utc.end), "2026-01-16T00:00:00.000Z");
  // 10:20 UTC is 02:20 on the 15th in Los Angeles.
  const la = resolveRange({ range: "7d", tz: "America/Los_Angeles" }, NOW);
  assert.equal(iso(la.start), "2026-01-09T08:00:00.000Z");
  assert.equal(iso(la.end), "2026-01-16T08:00:00.000Z");
  // Kolkata days start at 18:30 UTC: whole hours from 19:00.
  const kolkata = resolveRange({ range: "7d", tz: "Asia/Kolkata" }, NOW);
  assert.equal(iso(kolkata.start), "2026-01-08T19:00:00.000Z");
  assert.equal(iso(kolkata.end), "2026-01-15T19:00:00.000Z");
  assert.equal(resolveRange({ tz: "UTC" }, NOW).start, utc.start, "7d by default");
});

Deno.test("resolveRange() start/end cover the hours that start inside them", () => {
  const r = resolveRange({
    start: Date.parse("2026-01-15T00:00:00+05:30"),
    end: Date.parse("2026-01-16T00:00:00+05:30"),
    tz: "Asia/Kolkata",
  }, NOW);
  assert.equal(iso(r.start), "2026-01-14T19:00:00.000Z");
  assert.equal(iso(r.end), "2026-01-15T19:00:00.000Z");
  assert.equal(resolveRange({ start: NOW - DAY_MS, tz: "UTC" }, NOW).end, ceilHour(NOW));
});

Deno.test("previousSpan() is the span of the same length just before", () => {
  assert.deepEqual(previousSpan({ start: 100, end: 160 }), { start: 40, end: 100 });
});

Deno.test("bucketPlan() reads whole UTC days and at most the edge hours", () => {
  const la = resolveRange({ range: "7d", tz: "America/Los_Angeles" }, NOW);
  const plan = bucketPlan(la, NOW);
  assert.deepEqual(plan.hours.map((h) => [iso(h.start), (h.end - h.start) / HOUR_MS]), [
    ["2026-01-09T08:00:00.000Z", 16],
    ["2026-01-16T00:00:00.000Z", 8],
  ]);
  assert.deepEqual(plan.days.map((d) => [iso(d.start), (d.end - d.start) / DAY_MS]), [
    ["2026-01-10T00:00:00.000Z", 6],
  ]);
  assert.equal(plan.weeks, null, "Saturday 10th to Thursday 15th holds no whole week");
  assert.equal(plan.widened, false);
  const short = bucketPlan(resolveRange({ range: "24h", tz: "UTC" }, NOW), NOW);
  assert.deepEqual(short.days, []);
  assert.equal(short.hours.reduce((n, h) => n + (h.end - h.start) / HOUR_MS, 0), 24);
});

Deno.test("bucketPlan() reads the whole weeks (from Monday) of 90 days from week counters", () => {
  const plan = bucketPlan(resolveRange({ range: "90d", tz: "UTC" }, NOW), NOW);
  assert.deepEqual(plan.hours, []);
  assert.deepEqual([iso(plan.weeks!.start), (plan.weeks!.end - plan.weeks!.start) / DAY_MS], [
    "2025-10-20T00:00:00.000Z",
    84,
  ]);
  assert.deepEqual(plan.days.map((d) => [iso(d.start), (d.end - d.start) / DAY_MS]), [
    ["2025-10-18T00:00:00.000Z", 2],
    ["2026-01-12T00:00:00.000Z", 4],
  ]);
});

Deno.test("bucketPlan() widens edges older than the hour counters' 35 days to whole days", () => {
  const start = Date.UTC(2025, 10, 1, 5);
  const plan = bucketPlan({ start, end: Date.UTC(2025, 10, 3, 7) }, NOW);
  assert.equal(plan.widened, true);
  assert.deepEqual(plan.hours, []);
  assert.deepEqual(plan.days.map((d) => [iso(d.start), iso(d.end)]), [
    ["2025-11-01T00:00:00.000Z", "2025-11-04T00:00:00.000Z"],
  ]);
});

Deno.test("zonedDays() gives local dates, 23-hour DST days and Kolkata's half-hour edge", () => {
  const la = zonedDays({
    start: Date.parse("2026-03-07T08:00:00Z"),
    end: Date.parse("2026-03-10T07:00:00Z"),
    tz: "America/Los_Angeles",
  });
  assert.deepEqual(la.map((d) => [d.date, iso(d.span.start), hoursOf(d.span).length]), [
    ["2026-03-07", "2026-03-07T08:00:00.000Z", 24],
    ["2026-03-08", "2026-03-08T08:00:00.000Z", 23],
    ["2026-03-09", "2026-03-09T07:00:00.000Z", 24],
  ]);
  const kolkata = zonedDays(resolveRange({ range: "7d", tz: "Asia/Kolkata" }, NOW));
  assert.equal(kolkata.length, 7);
  assert.deepEqual([kolkata[0]!.date, iso(kolkata[0]!.span.start)], [
    "2026-01-09",
    "2026-01-08T19:00:00.000Z",
  ]);
  assert.ok(kolkata.every((d) => hoursOf(d.span).length === 24));
});
