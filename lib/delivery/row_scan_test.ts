import assert from "node:assert/strict";
import { encodeTime } from "ulid";
import { deliveryKey, handoffKey } from "../kv/keys.ts";
import type { DeliveryRow, RoutedHandoff } from "./rows.ts";
import { scanDeliveryRows } from "./row_scan.ts";

const WS = "ws_1";
const T0 = Date.UTC(2026, 11, 1);

/** The storage id of the `n`th event, received `n` seconds after T0. */
function ulidAt(n: number): string {
  return `${encodeTime(T0 + n * 1000, 10)}${String(n).padStart(16, "0")}`;
}

function row(platformId: string, status: DeliveryRow["status"]): DeliveryRow {
  return {
    platform_id: platformId,
    type: "meta",
    status,
    event_name: "purchase",
    attempts: 1,
    updated_at: new Date(T0).toISOString(),
  };
}

/** Events 1–5: rows for dst_a; routes for dst_a and dst_b (dst_b skipped on even events). */
async function seeded(): Promise<Deno.Kv> {
  const kv = await Deno.openKv(":memory:");
  const op = kv.atomic();
  for (let n = 1; n <= 5; n++) {
    const handoff: RoutedHandoff = {
      at: T0 + n * 1000,
      routes: {
        dst_a: { type: "meta", event_name: "purchase" },
        dst_b: n % 2 === 0
          ? { type: "ga4", event_name: "purchase", skipped: "consent: analytics_storage denied" }
          : { type: "ga4", event_name: "purchase" },
      },
    };
    op.set(handoffKey(WS, ulidAt(n)), handoff);
    op.set(deliveryKey(WS, ulidAt(n), "dst_a"), row("dst_a", "delivered"));
  }
  op.set(deliveryKey("ws_other", ulidAt(3), "dst_a"), row("dst_a", "failed"));
  await op.commit();
  return kv;
}

async function scan(kv: Deno.Kv, start: number, end: number, max?: number) {
  const seen: [string, string][] = [];
  const result = await scanDeliveryRows(kv, WS, { start, end }, (ulid, rows) => {
    for (const r of rows) seen.push([ulid, `${r.platform_id}:${r.status}`]);
  }, max);
  return { seen, result };
}

Deno.test("scanDeliveryRows() visits events newest first, a written row in place of its route", async () => {
  using kv = await seeded();
  const { seen, result } = await scan(kv, T0, T0 + 10_000);
  assert.deepEqual(seen, [
    [ulidAt(5), "dst_a:delivered"],
    [ulidAt(5), "dst_b:pending"],
    [ulidAt(4), "dst_a:delivered"],
    [ulidAt(4), "dst_b:skipped"],
    [ulidAt(3), "dst_a:delivered"],
    [ulidAt(3), "dst_b:pending"],
    [ulidAt(2), "dst_a:delivered"],
    [ulidAt(2), "dst_b:skipped"],
    [ulidAt(1), "dst_a:delivered"],
    [ulidAt(1), "dst_b:pending"],
  ]);
  assert.deepEqual(result, { scanned: 10, truncated: false, coveredFrom: T0 });
});

Deno.test("scanDeliveryRows() reads only the events received in the range, both ends included", async () => {
  using kv = await seeded();
  const { seen } = await scan(kv, T0 + 2_000, T0 + 3_000);
  assert.deepEqual([...new Set(seen.map(([ulid]) => ulid))], [ulidAt(3), ulidAt(2)]);
});

Deno.test("scanDeliveryRows() stops at its cap, leaves out the event it stopped in and says what it covered", async () => {
  using kv = await seeded();
  const { seen, result } = await scan(kv, T0, T0 + 10_000, 5);
  assert.deepEqual([...new Set(seen.map(([ulid]) => ulid))], [ulidAt(5), ulidAt(4)]);
  assert.deepEqual(result, { scanned: 5, truncated: true, coveredFrom: T0 + 4_000 });
});

Deno.test("scanDeliveryRows() visits events with rows and no hand-off record, and the reverse", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(deliveryKey(WS, ulidAt(1), "dst_a"), row("dst_a", "failed"));
  await kv.set(handoffKey(WS, ulidAt(2)), { at: T0 } satisfies RoutedHandoff);
  await kv.set(
    handoffKey(WS, ulidAt(3)),
    {
      at: T0,
      routes: { dst_a: { type: "meta", event_name: "purchase", skipped: "dropped" } },
    } satisfies RoutedHandoff,
  );
  const { seen, result } = await scan(kv, T0, T0 + 10_000);
  assert.deepEqual(seen, [[ulidAt(3), "dst_a:skipped"], [ulidAt(1), "dst_a:failed"]]);
  assert.equal(result.scanned, 3);
});
