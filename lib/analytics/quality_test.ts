import assert from "node:assert/strict";
import { CounterBatch, DAY_MS, FAMILY } from "./counters.ts";
import { quality } from "./quality.ts";
import { QUALITY_WEIGHTS, rankedIdentifiers } from "./quality_weights.ts";

const NOW = Date.UTC(2026, 0, 15, 12);

Deno.test("quality() estimates 10 × Σ weight × share / Σ weight and suggests the biggest gains", async () => {
  await using kv = await Deno.openKv(":memory:");
  const batch = new CounterBatch();
  const add = (family: string, dim: string, n: number) =>
    batch.add("ws", NOW - 3_600_000, family, dim, n);
  // 10 purchases sent to a GA4 destination: all with the GA client id, 5 with a user id.
  add(FAMILY.identifiers, "g|_sent", 10);
  add(FAMILY.purchaseIdentifiers, "g|_sent", 10);
  add(FAMILY.identifiers, "g|browser_id", 10);
  add(FAMILY.purchaseIdentifiers, "g|browser_id", 10);
  add(FAMILY.identifiers, "g|external_id", 5);
  add(FAMILY.purchaseIdentifiers, "g|external_id", 5);
  const op = kv.atomic();
  batch.addTo(op);
  await op.commit();
  const q = await quality({
    kv,
    wsId: "ws",
    range: { start: NOW - DAY_MS, end: NOW, tz: "UTC" },
    destinations: [{ id: "g", name: "GA4", type: "ga4" }],
    now: NOW,
  });
  const [ga4] = q.destinations;
  // GA4 weights: browser id 60, external id 20, email 8, phone 4, IP 4, agent 4 (of 100).
  assert.equal(ga4?.score, 7);
  assert.equal(ga4?.purchase_score, 7);
  assert.deepEqual(ga4?.next_steps.map((s) => [s.identifier, s.expected_gain]), [
    ["external_id", 1],
    ["email", 0.8],
    ["ip", 0.4],
  ]);
  assert.equal(
    ga4?.next_steps[0]?.message,
    "add external id: present on 50 % of purchases; GA4 weighs it second, after browser id; +1 points if every purchase carries it",
  );
});

Deno.test("QUALITY_WEIGHTS rank Meta's identifiers as its Event Match Quality guidance does", () => {
  assert.deepEqual(rankedIdentifiers(QUALITY_WEIGHTS.meta!).slice(0, 3), [
    "email",
    "click_id",
    "phone",
  ]);
  for (const [type, weights] of Object.entries(QUALITY_WEIGHTS)) {
    assert.ok(Object.values(weights).every((w) => w > 0), type);
  }
});
