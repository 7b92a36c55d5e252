import assert from "node:assert/strict";
import { encodeTime } from "ulid";
import { deliveryKey, handoffKey } from "../kv/keys.ts";
import type { DeliveryRow, RoutedHandoff } from "./rows.ts";
import { findDeliveries } from "./bulk_retry.ts";

const WS = "ws_1";
const T0 = Date.UTC(2026, 11, 1);

function ulidAt(n: number): string {
  return `${encodeTime(T0 + n * 1000, 10)}${String(n).padStart(16, "0")}`;
}

function row(platformId: string, status: DeliveryRow["status"], name = "purchase"): DeliveryRow {
  return {
    platform_id: platformId,
    type: "meta",
    status,
    event_name: name,
    attempts: 1,
    updated_at: new Date(T0).toISOString(),
  };
}

/** Events 1–4 routed to dst_a and dst_b; dst_a answered (failed on odd events), dst_b did not. */
async function seeded(): Promise<Deno.Kv> {
  const kv = await Deno.openKv(":memory:");
  const op = kv.atomic();
  for (let n = 1; n <= 4; n++) {
    const handoff: RoutedHandoff = {
      at: T0 + n * 1000,
      routes: {
        dst_a: { type: "meta", event_name: "Purchase" },
        dst_b: n === 2
          ? { type: "ga4", event_name: "purchase", skipped: "destination paused" }
          : { type: "ga4", event_name: "purchase" },
      },
    };
    op.set(handoffKey(WS, ulidAt(n)), handoff);
    op.set(
      deliveryKey(WS, ulidAt(n), "dst_a"),
      row("dst_a", n % 2 ? "failed" : "delivered", "Purchase"),
    );
  }
  await op.commit();
  return kv;
}

Deno.test("findDeliveries() finds rows and unanswered routes in the statuses, oldest event first", async () => {
  using kv = await seeded();
  const { matches, truncated } = await findDeliveries(kv, WS, {
    statuses: ["failed", "skipped"],
    start: T0,
    end: T0 + 10_000,
  });
  assert.equal(truncated, false);
  assert.deepEqual([...matches].map(([ulid, d]) => [ulid, [...d]]), [
    [ulidAt(1), [["dst_a", "Purchase"]]],
    [ulidAt(2), [["dst_b", "purchase"]]],
    [ulidAt(3), [["dst_a", "Purchase"]]],
  ]);
});

Deno.test("findDeliveries() keeps to one destination and the time range", async () => {
  using kv = await seeded();
  const { matches } = await findDeliveries(kv, WS, {
    destinationId: "dst_b",
    statuses: ["pending"],
    start: T0 + 3000,
    end: T0 + 4000,
  });
  assert.deepEqual([...matches].map(([ulid, d]) => [ulid, [...d]]), [
    [ulidAt(3), [["dst_b", "purchase"]]],
    [ulidAt(4), [["dst_b", "purchase"]]],
  ]);
});
