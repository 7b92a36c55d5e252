import assert from "node:assert/strict";
import { encodeTime } from "ulid";
import { deliveryKey, handoffKey } from "../kv/keys.ts";
import { rowCounts } from "./destination_counts.ts";
import type { DeliveryRow, RoutedHandoff } from "./rows.ts";

const row = (status: DeliveryRow["status"], extra: Partial<DeliveryRow> = {}): DeliveryRow => ({
  platform_id: "dst_a",
  type: "meta",
  status,
  event_name: "purchase",
  attempts: 1,
  updated_at: "2026-12-04T12:00:00.000Z",
  ...extra,
});

Deno.test("rowCounts() counts rows and unanswered routes per destination since a time", async () => {
  using kv = await Deno.openKv(":memory:");
  const now = Date.UTC(2026, 11, 4, 12);
  const ulid = (ms: number, n: number) => `${encodeTime(ms, 10)}${String(n).padStart(16, "0")}`;
  const old = ulid(now - 2 * 86_400_000, 1);
  const [a, b, c] = [ulid(now - 1000, 2), ulid(now - 900, 3), ulid(now - 800, 4)];
  await kv.set(deliveryKey("ws", old, "dst_a"), row("failed", { last_error: "old" }));
  await kv.set(deliveryKey("ws", a, "dst_a"), row("delivered"));
  await kv.set(
    deliveryKey("ws", b, "dst_a"),
    row("failed", { last_error: "code 100", updated_at: "2026-12-04T12:00:05.000Z" }),
  );
  await kv.set(deliveryKey("ws", b, "dst_b"), row("retrying", { platform_id: "dst_b" }));
  const routes: RoutedHandoff = {
    at: now,
    routes: {
      dst_a: { type: "meta", event_name: "purchase" },
      dst_b: { type: "meta", event_name: "purchase", skipped: "consent" },
    },
  };
  await kv.set(handoffKey("ws", b), routes);
  await kv.set(handoffKey("ws", c), routes);
  const { counts, complete } = await rowCounts(kv)("ws", now - 86_400_000);
  assert.equal(complete, true);
  assert.deepEqual(counts.get("dst_a"), {
    delivered: 1,
    failed: 1,
    skipped: 0,
    pending: 1,
    last_error: { reason: "code 100", at: "2026-12-04T12:00:05.000Z" },
  });
  assert.deepEqual(counts.get("dst_b"), { delivered: 0, failed: 0, skipped: 1, pending: 1 });
});
