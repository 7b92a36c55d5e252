import assert from "node:assert/strict";
import type { DeliveryRow } from "./rows.ts";
import { settle, type SettleContext, settleFollowUp } from "./outcome.ts";

const NOW = Date.UTC(2026, 11, 4, 12);
const PENDING: DeliveryRow = {
  platform_id: "dst_1",
  type: "meta",
  status: "pending",
  event_name: "purchase",
  attempts: 0,
  updated_at: "2026-12-04T11:59:00.000Z",
};
const ANSWER = {
  response: { status: 200, headers: new Headers(), body: '{"events_received":1}' },
  latencyMs: 12.6,
  bodySnippet: '{"events_received":1}',
};
const CTX: SettleContext = { attempt: 1, schedule: [1_000, 60_000], now: NOW, random: 0.5 };

Deno.test("settle() delivers with the answer's status, latency, snippet and detail", () => {
  const { row, retryInMs, followUpToken, authFailure } = settle(PENDING, {
    outcome: { kind: "delivered", detail: "events_received=1" },
    answer: ANSWER,
  }, CTX);
  assert.deepEqual(row, {
    ...PENDING,
    status: "delivered",
    attempts: 1,
    last_status: 200,
    latency_ms: 13,
    response: '{"events_received":1}',
    detail: "events_received=1",
    updated_at: "2026-12-04T12:00:00.000Z",
    history: [{
      at: "2026-12-04T12:00:00.000Z",
      attempt: 1,
      status: "delivered",
      http_status: 200,
      latency_ms: 13,
      detail: "events_received=1",
      response: '{"events_received":1}',
    }],
  });
  assert.deepEqual([retryInMs, followUpToken, authFailure], [undefined, undefined, undefined]);
});

Deno.test("settle() retries on the schedule with ±20 % jitter, honouring a longer Retry-After", () => {
  const retry = { kind: "retry", reason: "HTTP 503" } as const;
  assert.equal(settle(PENDING, { outcome: retry }, { ...CTX, random: 0 }).retryInMs, 800);
  assert.equal(settle(PENDING, { outcome: retry }, { ...CTX, random: 0.999 }).retryInMs, 1_200);
  const later = settle(PENDING, { outcome: { ...retry, afterMs: 30_000 } }, CTX);
  assert.equal(later.retryInMs, 30_000);
  assert.deepEqual([later.row.status, later.row.last_error], ["retrying", "HTTP 503"]);
});

Deno.test("settle() gives up after the last scheduled attempt", () => {
  const { row, retryInMs } = settle(
    { ...PENDING, status: "retrying", attempts: 2, next_attempt_at: NOW },
    { outcome: { kind: "retry", reason: "HTTP 500" } },
    { ...CTX, attempt: 3 },
  );
  assert.equal(retryInMs, undefined);
  assert.deepEqual(
    [row.status, row.attempts, row.last_error, row.next_attempt_at],
    ["failed", 3, "gave up after 3 attempts: HTTP 500", undefined],
  );
});

Deno.test("settle() fails, pauses on refused credentials and skips without counting an attempt", () => {
  const failed = settle(PENDING, { outcome: { kind: "failed", reason: "code 100" } }, CTX);
  assert.deepEqual([failed.row.status, failed.row.last_error], ["failed", "code 100"]);
  const auth = settle(PENDING, { outcome: { kind: "auth_failed", reason: "code 190" } }, CTX);
  assert.deepEqual([auth.row.status, auth.authFailure], ["failed", "code 190"]);
  const skipped = settle(PENDING, {
    outcome: { kind: "failed", reason: "event is older than X accepts (7 days)" },
    skipped: true,
  }, CTX);
  assert.deepEqual(
    [skipped.row.status, skipped.row.attempts, skipped.row.last_error],
    ["skipped", 0, "event is older than X accepts (7 days)"],
  );
});

Deno.test("settle() keeps accepted rows for a follow-up, and settleFollowUp() closes them", () => {
  const accepted = settle(PENDING, {
    outcome: { kind: "accepted", token: "req-42", detail: "requestId=req-42" },
    answer: ANSWER,
  }, CTX);
  assert.deepEqual([accepted.row.status, accepted.followUpToken], ["accepted", "req-42"]);
  const still = settleFollowUp(accepted.row, { kind: "accepted", token: "req-42" }, NOW + 1);
  assert.equal(still, accepted.row);
  const done = settleFollowUp(accepted.row, { kind: "delivered" }, NOW + 1);
  assert.deepEqual([done.status, done.detail], ["delivered", "requestId=req-42"]);
  const failed = settleFollowUp(accepted.row, { kind: "failed", reason: "FAILURE" }, NOW + 1);
  assert.deepEqual([failed.status, failed.last_error], ["failed", "FAILURE"]);
});

Deno.test("settle() appends each attempt to the history, keeping the last 10 with their requests", () => {
  const request = {
    method: "POST",
    url: "https://graph.example/v1/1/events",
    events: 3,
    position: 2,
  };
  let row = PENDING;
  for (let attempt = 1; attempt <= 12; attempt++) {
    row = settle(row, {
      outcome: { kind: "retry", reason: `HTTP 503 #${attempt}` },
      answer: { ...ANSWER, bodySnippet: "x".repeat(3000) },
      request,
    }, { ...CTX, attempt, schedule: new Array(20).fill(1_000) }).row;
  }
  assert.equal(row.history?.length, 10);
  assert.deepEqual(row.history?.map((h) => h.attempt), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const last = row.history!.at(-1)!;
  assert.deepEqual(
    [last.status, last.error, last.request, last.response?.length],
    ["retrying", "HTTP 503 #12", request, 512],
  );
  const done = settleFollowUp({ ...row, status: "accepted" }, { kind: "delivered" }, NOW + 1);
  assert.deepEqual([done.history?.length, done.history?.at(-1)?.note], [10, "follow-up check"]);
});
