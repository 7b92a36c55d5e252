import assert from "node:assert/strict";
import { encodeTime } from "ulid";
import { deliveryKey, handoffKey } from "../kv/keys.ts";
import type { Destination } from "./destinations.ts";
import type { DeliveryRow, RoutedHandoff } from "./rows.ts";
import { deliverySummary, percentile } from "./summary.ts";

Deno.test("percentile() takes the nearest rank and answers null for no values", () => {
  assert.equal(percentile([], 95), null);
  assert.equal(percentile([7], 95), 7);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => 100 - i), 95), 95);
  assert.equal(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 95), 19);
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.equal(percentile([3, 1, 2], 100), 3);
});

const WS = "ws_1";
const T0 = Date.UTC(2026, 11, 1);

function ulidAt(n: number): string {
  return `${encodeTime(T0 + n * 1000, 10)}${String(n).padStart(16, "0")}`;
}

function destination(id: string, name: string, type: Destination["type"]): Destination {
  return {
    id,
    workspace_id: WS,
    type,
    name,
    enabled: true,
    config: {},
    secrets_sealed: "",
    secret_fields: [],
    health: { status: "healthy" },
    created_at: "",
    updated_at: "",
  };
}

function row(n: number, status: DeliveryRow["status"], extra: Partial<DeliveryRow> = {}) {
  return {
    platform_id: "dst_meta",
    type: "meta",
    status,
    event_name: "purchase",
    attempts: 1,
    updated_at: new Date(T0 + n * 1000).toISOString(),
    ...extra,
  } satisfies DeliveryRow;
}

Deno.test("deliverySummary() counts each platform's deliveries by status with p95 latency and the last error", async () => {
  using kv = await Deno.openKv(":memory:");
  const op = kv.atomic();
  for (let n = 1; n <= 20; n++) {
    op.set(deliveryKey(WS, ulidAt(n), "dst_meta"), row(n, "delivered", { latency_ms: n * 10 }));
  }
  op.set(
    deliveryKey(WS, ulidAt(21), "dst_meta"),
    row(21, "failed", { latency_ms: 900, last_error: "Meta error 100: old" }),
  );
  op.set(
    deliveryKey(WS, ulidAt(22), "dst_meta"),
    row(22, "retrying", { latency_ms: 1000, last_error: "HTTP 503" }),
  );
  op.set(deliveryKey(WS, ulidAt(23), "dst_meta"), row(23, "accepted"));
  op.set(
    handoffKey(WS, ulidAt(24)),
    {
      at: T0,
      routes: {
        dst_meta: { type: "meta", event_name: "purchase" },
        dst_ga4: {
          type: "ga4",
          event_name: "purchase",
          skipped: "consent: analytics_storage denied",
        },
        dst_gone: {
          type: "tiktok",
          event_name: "purchase",
          skipped: "not routed here by the rules",
        },
      },
    } satisfies RoutedHandoff,
  );
  await op.commit();
  const summary = await deliverySummary(kv, WS, [
    destination("dst_meta", "Meta", "meta"),
    destination("dst_ga4", "GA4", "ga4"),
    destination("dst_idle", "Idle", "snapchat"),
  ], { start: T0, end: T0 + 60_000 });
  assert.deepEqual(summary, {
    data: [
      {
        platform_id: "dst_meta",
        type: "meta",
        name: "Meta",
        counts: { pending: 1, delivered: 20, accepted: 1, retrying: 1, failed: 1, skipped: 0 },
        total: 24,
        p95_latency_ms: 900,
        last_error: "HTTP 503",
        last_error_at: new Date(T0 + 22_000).toISOString(),
      },
      {
        platform_id: "dst_ga4",
        type: "ga4",
        name: "GA4",
        counts: { pending: 0, delivered: 0, accepted: 0, retrying: 0, failed: 0, skipped: 1 },
        total: 1,
        p95_latency_ms: null,
        last_error: null,
        last_error_at: null,
      },
      {
        platform_id: "dst_idle",
        type: "snapchat",
        name: "Idle",
        counts: { pending: 0, delivered: 0, accepted: 0, retrying: 0, failed: 0, skipped: 0 },
        total: 0,
        p95_latency_ms: null,
        last_error: null,
        last_error_at: null,
      },
      {
        platform_id: "dst_gone",
        type: "tiktok",
        name: null,
        counts: { pending: 0, delivered: 0, accepted: 0, retrying: 0, failed: 0, skipped: 1 },
        total: 1,
        p95_latency_ms: null,
        last_error: null,
        last_error_at: null,
      },
    ],
    truncated: false,
    start: new Date(T0).toISOString(),
    end: new Date(T0 + 60_000).toISOString(),
    covered_from: new Date(T0).toISOString(),
  });
});

Deno.test("deliverySummary() reports a truncated scan", async () => {
  using kv = await Deno.openKv(":memory:");
  for (let n = 1; n <= 5; n++) {
    await kv.set(deliveryKey(WS, ulidAt(n), "dst_meta"), row(n, "delivered"));
  }
  const summary = await deliverySummary(kv, WS, [], {
    start: T0,
    end: T0 + 60_000,
    maxScanned: 3,
  });
  assert.equal(summary.truncated, true);
  assert.equal(summary.covered_from, new Date(T0 + 3_000).toISOString());
  assert.equal(summary.data[0]?.counts.delivered, 3);
});
