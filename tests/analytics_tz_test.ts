/**
 * Day buckets in time zones: counters seeded at chosen instants through the ingest path's
 * own counting (countVolume + CounterBatch), read back as local days in
 * America/Los_Angeles (a day boundary between two events of one UTC day) and Asia/Kolkata
 * (UTC+5:30: the hour 18:00–19:00 UTC starts at 23:30 there, so an event at 00:15 local
 * time belongs to the day before, as documented).
 */
import assert from "node:assert/strict";
import { CounterBatch, DAY_MS, HOUR_MS } from "../lib/analytics/counters.ts";
import { countVolume } from "../lib/analytics/ingest_counts.ts";
import { foldVolume } from "../lib/analytics/volume_fold.ts";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, expectJson, expectProblem } from "./_http.ts";
import { statFoldMarkKey, statFoldPrefix } from "../lib/kv/keys.ts";

/** Ten UTC days ago at midnight: recent enough for hour counters. */
const BASE = Math.floor(Date.now() / DAY_MS) * DAY_MS - 10 * DAY_MS;
const at = (hours: number, minutes: number) => BASE + hours * HOUR_MS + minutes * 60_000;

/** The seeded events: a–e on the UTC day BASE, f on the next. */
const INSTANTS = {
  a: at(6, 30), // LA: the evening before BASE (22:30 or 23:30); Kolkata: 12:00 on BASE
  b: at(9, 10), // LA: 01:10 or 02:10 on BASE
  c: at(18, 20), // Kolkata: 23:50 on BASE
  d: at(18, 45), // Kolkata: 00:15 the day after, but its hour starts 23:30 on BASE
  e: at(19, 5), // Kolkata: its hour starts 00:30 the day after
  f: at(24, 30), // LA: the afternoon of BASE; Kolkata: 06:00 the day after
};

const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Counts the events at INSTANTS, moved by `shiftMs`. */
async function seed(s: TestSluice, shiftMs = 0): Promise<void> {
  const batch = new CounterBatch();
  for (const [id, receivedAt] of Object.entries(INSTANTS)) {
    countVolume(batch, {
      workspace_id: s.workspace.id,
      event_name: id === "f" ? "page_view" : "purchase",
      source: "server",
      received_at: receivedAt + shiftMs,
    });
  }
  const op = s.rt.kv.atomic();
  batch.addTo(op);
  assert.ok((await op.commit()).ok);
}

interface VolumeJson {
  buckets: { start: string; label: string }[];
  events: number[];
}

async function daily(s: TestSluice, tz: string, base = BASE): Promise<Map<string, number>> {
  return (await dailyVolume(s, tz, base)).days;
}

async function dailyVolume(s: TestSluice, tz: string, base: number) {
  const start = new Date(base - 2 * DAY_MS).toISOString();
  const end = new Date(base + 3 * DAY_MS).toISOString();
  const v = await expectJson<VolumeJson & { range: { widened_to_days: boolean } }>(
    await s.request(
      `/v1/analytics/volume?interval=day&tz=${tz}&start=${start}&end=${end}`,
      { headers: bearer(s.workspace.admin_key) },
    ),
    200,
  );
  return {
    days: new Map(v.buckets.map((b, i) => [b.label, v.events[i]!])),
    widened: v.range.widened_to_days,
  };
}

/** `+05:30`, `-08:00`: a zone's offset at an instant, as ISO 8601 writes it. */
function offsetOf(tz: string, ms: number): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
    .formatToParts(ms).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  return name === "GMT" ? "+00:00" : name.slice(3);
}

async function eventsOn(s: TestSluice, tz: string, day: string, next: string): Promise<number> {
  const start = `${day}T00:00:00${offsetOf(tz, Date.parse(`${day}T12:00:00Z`))}`;
  const end = `${next}T00:00:00${offsetOf(tz, Date.parse(`${next}T12:00:00Z`))}`;
  const query = new URLSearchParams({ tz, start, end });
  const o = await expectJson<{ events: { value: number } }>(
    await s.request(`/v1/analytics/overview?${query}`, { headers: bearer(s.workspace.admin_key) }),
    200,
  );
  return o.events.value;
}

Deno.test("volume?interval=day assigns hours to the local day their start falls on", async () => {
  await using s = await openTestSluice();
  await seed(s);
  const before = date(BASE - DAY_MS);
  const base = date(BASE);
  const after = date(BASE + DAY_MS);
  const utc = await daily(s, "UTC");
  assert.equal(utc.get(base), 5);
  assert.equal(utc.get(after), 1);
  const la = await daily(s, "America/Los_Angeles");
  assert.equal(la.get(before), 1, "a: the evening before in Los Angeles");
  assert.equal(la.get(base), 5, "b–f");
  assert.equal(la.get(after) ?? 0, 0);
  const kolkata = await daily(s, "Asia/Kolkata");
  assert.equal(kolkata.get(before) ?? 0, 0);
  assert.equal(kolkata.get(base), 4, "a–d: d's hour starts at 23:30");
  assert.equal(kolkata.get(after), 2, "e, f");
});

Deno.test("overview with start/end counts a local day's hours in Los Angeles and Kolkata", async () => {
  await using s = await openTestSluice();
  await seed(s);
  const base = date(BASE);
  const after = date(BASE + DAY_MS);
  assert.equal(await eventsOn(s, "America/Los_Angeles", base, after), 5);
  assert.equal(await eventsOn(s, "Asia/Kolkata", base, after), 4);
  assert.equal(await eventsOn(s, "UTC", base, after), 5);
});

Deno.test("volume answers the same local days and hours from days the counter upkeep folded", async () => {
  await using s = await openTestSluice();
  await seed(s);
  const hourly = async () => {
    const start = new Date(BASE).toISOString();
    const end = new Date(BASE + 2 * DAY_MS).toISOString();
    return (await expectJson<VolumeJson>(
      await s.request(`/v1/analytics/volume?interval=hour&start=${start}&end=${end}`, {
        headers: bearer(s.workspace.admin_key),
      }),
      200,
    )).events;
  };
  const before = { kolkata: await daily(s, "Asia/Kolkata"), hours: await hourly() };
  assert.equal(before.hours.reduce((a, b) => a + b, 0), 6);

  await s.rt.counterRetention.sweepAll();
  let folded = 0;
  for await (const _ of s.rt.kv.list({ prefix: statFoldPrefix(s.workspace.id) })) folded++;
  assert.equal(folded, 2, "BASE and the day after");
  // Read from the folded records: a count added to a folded hour afterwards is not seen.
  const late = new CounterBatch();
  late.add(s.workspace.id, INSTANTS.a, "events", "", 100);
  const op = s.rt.kv.atomic();
  late.addTo(op);
  await op.commit();
  assert.deepEqual(await daily(s, "Asia/Kolkata"), before.kolkata);
  assert.deepEqual(await hourly(), before.hours);
});

Deno.test("the workspace's settings.time_zone is the days' zone when a request gives no tz", async () => {
  await using s = await openTestSluice();
  await seed(s);
  const patch = (settings: Record<string, unknown>) =>
    s.request("/v1/workspace", {
      method: "PATCH",
      headers: { "content-type": "application/json", ...bearer(s.workspace.admin_key) },
      body: JSON.stringify({ settings }),
    });
  await expectProblem(await patch({ time_zone: "Mars/Olympus" }), 400, ["settings.time_zone"]);
  assert.equal((await daily(s, "UTC")).get(date(BASE)), 5);

  await expectJson(await patch({ time_zone: "Asia/Kolkata" }), 200);
  const start = new Date(BASE - 2 * DAY_MS).toISOString();
  const end = new Date(BASE + 3 * DAY_MS).toISOString();
  const v = await expectJson<VolumeJson & { range: { tz: string } }>(
    await s.request(`/v1/analytics/volume?interval=day&start=${start}&end=${end}`, {
      headers: bearer(s.workspace.admin_key),
    }),
    200,
  );
  assert.equal(v.range.tz, "Asia/Kolkata");
  const days = new Map(v.buckets.map((b, i) => [b.label, v.events[i]!]));
  assert.equal(days.get(date(BASE)), 4, "Kolkata's days, as with tz=Asia/Kolkata");
  assert.equal((await daily(s, "UTC")).get(date(BASE)), 5, "a request's tz still wins");
});

Deno.test("volume reads a local day older than the hour counters from its folded days, exactly", async () => {
  await using s = await openTestSluice();
  const shift = -40 * DAY_MS;
  const old = BASE + shift;
  await seed(s, shift);
  const kv = s.rt.kv;
  const sweep = () => s.rt.counterRetention.sweepAll();
  // The hourly upkeep, as it ran back then (a pass a month later carries its folds on).
  await foldVolume(kv, s.workspace.id, old + 3 * DAY_MS);
  await foldVolume(kv, s.workspace.id, old + 33 * DAY_MS);
  await sweep();
  let hours = 0;
  for await (const _ of kv.list({ prefix: ["stat", s.workspace.id] })) hours++;
  assert.equal(hours, 0, "the hour counters are gone");
  const kolkata = await dailyVolume(s, "Asia/Kolkata", old);
  assert.equal(kolkata.days.get(date(old)), 4, "a–d, as 40 days ago");
  assert.equal(kolkata.days.get(date(old + DAY_MS)), 2, "e, f");
  assert.equal(kolkata.widened, false);

  // Never folded (say, older than 35 days when the upkeep first ran), the local day reads the
  // UTC day of its date, and says so.
  for await (const { key } of kv.list({ prefix: ["stat_fold", s.workspace.id] })) {
    await kv.delete(key);
  }
  await kv.delete(statFoldMarkKey(s.workspace.id));
  const approximate = await dailyVolume(s, "Asia/Kolkata", old);
  assert.equal(approximate.days.get(date(old)), 5);
  assert.equal(approximate.widened, true);
});
