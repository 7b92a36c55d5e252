import assert from "node:assert/strict";
import { addZonedDays, isTimeZone, zonedDate, zonedDayStart, zoneOffsetMs } from "./tz.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const H = 3_600_000;

Deno.test("zoneOffsetMs() reads whole, half and quarter hour offsets and DST", () => {
  assert.equal(zoneOffsetMs("UTC", Date.UTC(2026, 0, 15)), 0);
  assert.equal(zoneOffsetMs("Asia/Kolkata", Date.UTC(2026, 0, 15)), 5.5 * H);
  assert.equal(zoneOffsetMs("Asia/Kathmandu", Date.UTC(2026, 0, 15)), 5.75 * H);
  assert.equal(zoneOffsetMs("America/Los_Angeles", Date.UTC(2026, 0, 15)), -8 * H);
  assert.equal(zoneOffsetMs("America/Los_Angeles", Date.UTC(2026, 6, 15)), -7 * H);
});

Deno.test("zonedDayStart() finds local midnight in UTC", () => {
  const noon = Date.UTC(2026, 0, 15, 12);
  assert.equal(iso(zonedDayStart("UTC", noon)), "2026-01-15T00:00:00.000Z");
  assert.equal(iso(zonedDayStart("America/Los_Angeles", noon)), "2026-01-15T08:00:00.000Z");
  assert.equal(iso(zonedDayStart("Asia/Kolkata", noon)), "2026-01-14T18:30:00.000Z");
  // 20:00 UTC is already the 16th in Kolkata.
  assert.equal(
    iso(zonedDayStart("Asia/Kolkata", Date.UTC(2026, 0, 15, 20))),
    "2026-01-15T18:30:00.000Z",
  );
});

Deno.test("addZonedDays() steps over daylight-saving days of 23 and 25 hours", () => {
  const march7 = zonedDayStart("America/Los_Angeles", Date.UTC(2026, 2, 7, 20));
  const march8 = addZonedDays("America/Los_Angeles", march7, 1);
  const march9 = addZonedDays("America/Los_Angeles", march7, 2);
  assert.equal(iso(march8), "2026-03-08T08:00:00.000Z");
  assert.equal((march9 - march8) / H, 23);
  const nov1 = zonedDayStart("America/Los_Angeles", Date.UTC(2026, 10, 1, 20));
  assert.equal((addZonedDays("America/Los_Angeles", nov1, 1) - nov1) / H, 25);
  assert.equal(addZonedDays("America/Los_Angeles", march9, -2), march7);
});

Deno.test("zonedDate() and isTimeZone()", () => {
  assert.equal(zonedDate("Asia/Kolkata", Date.UTC(2026, 0, 15, 19)), "2026-01-16");
  assert.equal(zonedDate("America/Los_Angeles", Date.UTC(2026, 0, 15, 7)), "2026-01-14");
  assert.ok(isTimeZone("Europe/Berlin"));
  assert.ok(!isTimeZone("Mars/Olympus"));
});
