import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { DEFAULT_COUNTER_RETENTION_DAYS } from "../lib/analytics/retention.ts";
import { type EventIdEntry, openEvent } from "../lib/event_store.ts";
import { statDayKey } from "../lib/kv/keys.ts";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, countStored, expectJson, listEvents, patchSettings } from "./_http.ts";
import { ingest } from "./_observability.ts";

const DAY_MS = 86_400_000;

/** Rewrites a stored event as if it had been received `ageMs` ago, keeping it in KV (no expireIn). */
async function age(s: TestSluice, eventId: string, ageMs: number): Promise<void> {
  const { kv } = s.rt;
  const id = (await kv.get<EventIdEntry>(["ev_id", s.workspace.id, eventId])).value!;
  const key = ["ev", s.workspace.id, id.ulid];
  const event: SluiceEvent = openEvent((await kv.get<Uint8Array>(key)).value!, s.rt.events.sealer);
  event.received_at = Date.now() - ageMs;
  await kv.set(key, s.rt.events.sealer.sealBytes(JSON.stringify(event)));
}

Deno.test("an event past its retention is not returned, though KV has not deleted it yet", async () => {
  await using s = await openTestSluice();
  await patchSettings(s, { retention_days: 2 });
  for (const id of ["old", "recent", "fresh"]) {
    assert.equal(await ingest(s, { event_id: id, event_name: "lead" }), 202);
  }
  await age(s, "old", 2 * DAY_MS + 60_000);
  await age(s, "recent", 2 * DAY_MS - 60_000);
  assert.equal(await countStored(s), 3);

  const read = (id: string) =>
    s.request(`/v1/events/${id}`, { headers: bearer(s.workspace.admin_key) });
  const old = await read("old");
  assert.equal(old.status, 404);
  await old.body?.cancel();
  await expectJson(await read("recent"), 200);
  assert.deepEqual((await listEvents(s)).map((e) => e.event_id), ["fresh", "recent"]);
  for (const action of ["replay", "retry-failed"]) {
    const res = await s.request(`/v1/events/old/${action}`, {
      method: "POST",
      headers: bearer(s.workspace.admin_key),
    });
    assert.equal(res.status, 404, action);
    await res.body?.cancel();
  }

  // Shortening the retention hides at once what the new setting no longer keeps.
  await patchSettings(s, { retention_days: 1 });
  assert.deepEqual((await listEvents(s)).map((e) => e.event_id), ["fresh"]);
  assert.equal(await countStored(s), 3);
});

Deno.test("day counters are kept for counter_retention_days, longer than the events", async () => {
  await using s = await openTestSluice();
  const { kv } = s.rt;
  const day = (ms: number) => ms - (ms % DAY_MS);
  const now = Date.now();
  const ages = { kept: 350, old: DEFAULT_COUNTER_RETENTION_DAYS + 1 };
  for (const [name, days] of Object.entries(ages)) {
    await kv.set(
      statDayKey(s.workspace.id, day(now - days * DAY_MS), "events", name),
      new Deno.KvU64(1n),
    );
  }
  await kv.set(statDayKey("ws_other", day(now - 500 * DAY_MS), "events"), new Deno.KvU64(1n));
  const workspace = (await s.rt.workspaces.get(s.workspace.id))!;
  assert.equal(await s.rt.counterRetention.sweep(workspace, now), 1);
  const left = async () => {
    const dims: string[] = [];
    for await (const e of kv.list({ prefix: ["stat_d", s.workspace.id] })) {
      dims.push(String(e.key[4]));
    }
    return dims;
  };
  assert.deepEqual(await left(), ["kept"]);

  await patchSettings(s, { counter_retention_days: 300 });
  assert.equal(await s.rt.counterRetention.sweepAll(now), 1);
  assert.deepEqual(await left(), []);
  assert.equal(
    (await kv.get(statDayKey("ws_other", day(now - 500 * DAY_MS), "events"))).versionstamp !== null,
    true,
  );
});
