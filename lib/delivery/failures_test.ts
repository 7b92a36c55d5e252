import assert from "node:assert/strict";
import { encodeTime } from "ulid";
import type { SluiceEvent } from "../../core/event.ts";
import { eventSealer, sealEvent } from "../event_store.ts";
import { deliveryKey, eventKey, handoffKey } from "../kv/keys.ts";
import type { Destination } from "./destinations.ts";
import { failureReport, reasonKey } from "./failures.ts";
import type { DeliveryRow, RoutedHandoff } from "./rows.ts";

Deno.test("reasonKey() strips what differs from event to event and keeps codes and words", () => {
  const cases: [string, string][] = [
    [
      "Meta error 100: Invalid parameter (fbtrace_id AbC123xyz)",
      "Meta error 100: Invalid parameter (fbtrace_id …)",
    ],
    [
      'Meta error 100/2804050: The parameter "event_time" is invalid (fbtrace_id A-9_z)',
      'Meta error 100/2804050: The parameter "event_time" is invalid (fbtrace_id …)',
    ],
    [
      'HTTP 400: {"error":{"code":100,"message":"Invalid value 1767225600 for event_time"}}',
      'HTTP 400: {"error":{"code":100,"message":"…"}}',
    ],
    [
      "duplicate of event ord-1001 in the same batch (same profile, metric and unique_id): " +
      "Klaviyo keeps only one",
      "duplicate of event … in the same batch (same profile, metric and unique_id): " +
      "Klaviyo keeps only one",
    ],
    [
      'Pinterest refused the event: Event with id "abc-123" is invalid',
      'Pinterest refused the event: Event with id "…" is invalid',
    ],
    [
      "Reddit refused this event: conversion_id 3f2b1c4e-1111-4222-8333-444455556666 used",
      "Reddit refused this event: conversion_id … used",
    ],
    ["profile ada.l@example.com is suppressed", "profile … is suppressed"],
    ["value '12.50' is no currency amount", "value '…' is no currency amount"],
    ["it's older than 7 days; don't send it", "it's older than 7 days; don't send it"],
    ["event_time 1767225600 is in the future", "event_time … is in the future"],
    ["row refused: 01J0000000000000000000000A", "row refused: …"],
    ["Google said: request-id: 7bX9kk1 failed", "Google said: request-id: … failed"],
    ["gave up after 7 attempts: HTTP 503", "gave up after 7 attempts: HTTP 503"],
    ["consent: ad_user_data denied", "consent: ad_user_data denied"],
    ["  HTTP 429:\n  slow   down ", "HTTP 429: slow down"],
    ["", ""],
  ];
  for (const [reason, key] of cases) assert.equal(reasonKey(reason), key, reason);
});

Deno.test("reasonKey() gives the same key to one error on different events and caps its length", () => {
  const a = reasonKey('Meta error 100: "user_data.em" invalid for "ord-1" (fbtrace_id X1)');
  const b = reasonKey('Meta error 100: "user_data.em" invalid for "ord-2" (fbtrace_id Y2)');
  assert.equal(a, b);
  assert.equal(a, 'Meta error 100: "user_data.em" invalid for "…" (fbtrace_id …)');
  assert.equal(reasonKey("x".repeat(1000)).length, 300);
});

const WS = "ws_1";
const T0 = Date.UTC(2026, 11, 1);
const SEALER = eventSealer("a-test-secret-of-32-characters!!");

function ulidAt(n: number): string {
  return `${encodeTime(T0 + n * 1000, 10)}${String(n).padStart(16, "0")}`;
}

function destination(id: string, name: string): Destination {
  return {
    id,
    workspace_id: WS,
    type: "meta",
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

function failedRow(platformId: string, n: number, reason: string): DeliveryRow {
  return {
    platform_id: platformId,
    type: "meta",
    status: "failed",
    event_name: "purchase",
    attempts: 1,
    last_error: reason,
    updated_at: new Date(T0 + n * 1000 + 500).toISOString(),
  };
}

function event(n: number): SluiceEvent {
  return {
    id: ulidAt(n),
    workspace_id: WS,
    event_id: `e-${n}`,
    event_name: "purchase",
    event_time: T0,
    received_at: T0,
    source: "server",
    dialect: "native",
    user_data: {},
    properties: {},
    trace_id: "t",
  };
}

/**
 * Events 1–7 failed at dst_a with one Meta error (another trace id each); 8 and 9 skipped at
 * dst_b by consent; 10 failed at dst_b; 11 failed at a deleted platform; 12 delivered.
 * Event 1 is no longer stored.
 */
async function seeded(): Promise<Deno.Kv> {
  const kv = await Deno.openKv(":memory:");
  const op = kv.atomic();
  for (let n = 2; n <= 12; n++) {
    op.set(eventKey(WS, ulidAt(n)), sealEvent(JSON.stringify(event(n)), SEALER));
  }
  for (let n = 1; n <= 7; n++) {
    op.set(
      deliveryKey(WS, ulidAt(n), "dst_a"),
      failedRow("dst_a", n, `Meta error 100: Invalid parameter (fbtrace_id T${n})`),
    );
  }
  for (const n of [8, 9]) {
    op.set(
      handoffKey(WS, ulidAt(n)),
      {
        at: T0 + n * 1000,
        routes: {
          dst_b: { type: "meta", event_name: "purchase", skipped: "consent: ad_user_data denied" },
        },
      } satisfies RoutedHandoff,
    );
  }
  op.set(deliveryKey(WS, ulidAt(10), "dst_b"), failedRow("dst_b", 10, "HTTP 400: bad"));
  op.set(deliveryKey(WS, ulidAt(11), "dst_gone"), failedRow("dst_gone", 11, "HTTP 404"));
  op.set(deliveryKey(WS, ulidAt(12), "dst_a"), {
    ...failedRow("dst_a", 12, ""),
    status: "delivered",
  });
  await op.commit();
  return kv;
}

const DESTINATIONS = [destination("dst_a", "Meta A"), destination("dst_b", "Meta B")];
const RANGE = { start: T0, end: T0 + 60_000, limit: 50 };

Deno.test("failureReport() groups failed and skipped deliveries by platform, status and reason key", async () => {
  using kv = await seeded();
  const report = await failureReport(kv, SEALER, WS, DESTINATIONS, RANGE);
  assert.deepEqual(report, {
    data: [
      {
        platform_id: "dst_a",
        type: "meta",
        name: "Meta A",
        status: "failed",
        reason_key: "Meta error 100: Invalid parameter (fbtrace_id …)",
        example_reason: "Meta error 100: Invalid parameter (fbtrace_id T7)",
        count: 7,
        last_at: new Date(T0 + 7_500).toISOString(),
        event_ids: ["e-7", "e-6", "e-5", "e-4", "e-3"],
      },
      {
        platform_id: "dst_b",
        type: "meta",
        name: "Meta B",
        status: "skipped",
        reason_key: "consent: ad_user_data denied",
        example_reason: "consent: ad_user_data denied",
        count: 2,
        last_at: new Date(T0 + 9_000).toISOString(),
        event_ids: ["e-9", "e-8"],
      },
      {
        platform_id: "dst_gone",
        type: "meta",
        name: null,
        status: "failed",
        reason_key: "HTTP 404",
        example_reason: "HTTP 404",
        count: 1,
        last_at: new Date(T0 + 11_500).toISOString(),
        event_ids: ["e-11"],
      },
      {
        platform_id: "dst_b",
        type: "meta",
        name: "Meta B",
        status: "failed",
        reason_key: "HTTP 400: bad",
        example_reason: "HTTP 400: bad",
        count: 1,
        last_at: new Date(T0 + 10_500).toISOString(),
        event_ids: ["e-10"],
      },
    ],
    total_groups: 4,
    truncated: false,
    start: new Date(T0).toISOString(),
    end: new Date(T0 + 60_000).toISOString(),
    covered_from: new Date(T0).toISOString(),
  });
});

Deno.test("failureReport() filters by platform, cuts at limit and leaves out events no longer stored", async () => {
  using kv = await seeded();
  const onlyB = await failureReport(kv, SEALER, WS, DESTINATIONS, {
    ...RANGE,
    destinationId: "dst_b",
  });
  assert.deepEqual(onlyB.data.map((g) => [g.status, g.count]), [["skipped", 2], ["failed", 1]]);
  const top = await failureReport(kv, SEALER, WS, DESTINATIONS, { ...RANGE, limit: 1 });
  assert.equal(top.data.length, 1);
  assert.equal(top.total_groups, 4);
  const oldest = await failureReport(kv, SEALER, WS, DESTINATIONS, {
    ...RANGE,
    end: T0 + 2_000,
  });
  assert.deepEqual(oldest.data[0]?.event_ids, ["e-2"], "event 1 expired: its id is unknown");
  assert.equal(oldest.data[0]?.count, 2);
});

Deno.test("failureReport() reports a truncated scan and what it covered", async () => {
  using kv = await seeded();
  const report = await failureReport(kv, SEALER, WS, DESTINATIONS, { ...RANGE, maxScanned: 4 });
  assert.equal(report.truncated, true);
  assert.equal(report.covered_from, new Date(T0 + 9_000).toISOString());
  assert.deepEqual(report.data.map((g) => [g.platform_id, g.count]), [
    ["dst_gone", 1],
    ["dst_b", 1],
    ["dst_b", 1],
  ]);
});
