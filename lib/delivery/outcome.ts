/**
 * The pure heart of delivery: what one event's answer makes of its delivery row, and
 * whether and when it is tried again. No KV, no clock, no randomness of its own.
 *
 * @module
 */
import type { Outcome } from "../../connectors/types.ts";
import {
  type AttemptRecord,
  type DeliveryRow,
  HISTORY_SNIPPET_CHARS,
  type SentRequest,
  withAttempt,
} from "./rows.ts";
import type { SendResult } from "./send.ts";

/** Characters of the platform's answer kept on the row. */
const SNIPPET_CHARS = 2048;

/** What one attempt gave one event. */
export interface EventResult {
  outcome: Outcome;
  /** The answer to the request that carried the event; absent when nothing was sent. */
  answer?: SendResult;
  /** The connector left the event out (too old, not enough data): the row says skipped. */
  skipped?: boolean;
  /** The request that carried the event (secrets masked); absent when nothing was sent. */
  request?: SentRequest;
}

/** The attempt being settled, and the retry policy. */
export interface SettleContext {
  /** The attempt number, 1 for the first. */
  attempt: number;
  /** Delays between attempts, ms; attempts = length + 1. */
  schedule: readonly number[];
  /** Epoch ms. */
  now: number;
  /** A number in [0, 1) for the ±20 % jitter. */
  random: number;
}

/** A settled row, and what follows from it. */
export interface Settled {
  row: DeliveryRow;
  /** Tried again after this many ms (the row says retrying). */
  retryInMs?: number;
  /** The platform took it and reports later: ask with this token. */
  followUpToken?: string;
  /** The credentials were refused: the destination is paused. */
  authFailure?: string;
}

/**
 * The row after one attempt's result, with the retry or follow-up it calls for; the attempt
 * is appended to the row's history (the last {@linkcode MAX_HISTORY} are kept).
 */
export function settle(before: DeliveryRow, result: EventResult, ctx: SettleContext): Settled {
  const settled = settleRow(before, result, ctx);
  const { row } = settled;
  const { answer } = result;
  const entry: AttemptRecord = {
    at: row.updated_at,
    attempt: result.skipped ? before.attempts : ctx.attempt,
    status: row.status,
    ...(row.last_status !== undefined && answer?.response ? { http_status: row.last_status } : {}),
    ...(answer ? { latency_ms: row.latency_ms } : {}),
    ...(row.last_error !== undefined && row.status !== "delivered"
      ? { error: row.last_error }
      : {}),
    ...(row.detail ? { detail: row.detail } : {}),
    ...(answer?.bodySnippet
      ? { response: answer.bodySnippet.slice(0, HISTORY_SNIPPET_CHARS) }
      : {}),
    ...(answer?.error && !answer.response ? { error: answer.error } : {}),
    ...(result.request ? { request: result.request } : {}),
  };
  return { ...settled, row: { ...row, history: withAttempt(before.history, entry) } };
}

function settleRow(before: DeliveryRow, result: EventResult, ctx: SettleContext): Settled {
  const { outcome, answer } = result;
  const row: DeliveryRow = {
    ...before,
    attempts: result.skipped ? before.attempts : ctx.attempt,
    updated_at: new Date(ctx.now).toISOString(),
  };
  delete row.next_attempt_at;
  delete row.detail;
  if (answer?.response) row.last_status = answer.response.status;
  if (answer) {
    row.latency_ms = Math.round(answer.latencyMs);
    row.response = answer.bodySnippet.slice(0, SNIPPET_CHARS);
  }
  if (result.skipped) {
    return { row: { ...row, status: "skipped", last_error: reasonOf(outcome) } };
  }
  switch (outcome.kind) {
    case "delivered":
      delete row.last_error;
      return { row: { ...row, status: "delivered", ...detailOf(outcome.detail) } };
    case "accepted":
      delete row.last_error;
      return {
        row: { ...row, status: "accepted", ...detailOf(outcome.detail) },
        followUpToken: outcome.token,
      };
    case "retry": {
      if (ctx.attempt > ctx.schedule.length) {
        const reason = `gave up after ${ctx.attempt} attempts: ${outcome.reason}`;
        return { row: { ...row, status: "failed", last_error: reason } };
      }
      const base = ctx.schedule[ctx.attempt - 1]!;
      const retryInMs = Math.round(Math.max(base * (0.8 + 0.4 * ctx.random), outcome.afterMs ?? 0));
      return {
        row: { ...row, status: "retrying", last_error: outcome.reason },
        retryInMs,
      };
    }
    case "failed":
      return { row: { ...row, status: "failed", last_error: outcome.reason } };
    case "auth_failed":
      return {
        row: { ...row, status: "failed", last_error: outcome.reason },
        authFailure: outcome.reason,
      };
  }
}

function reasonOf(outcome: Outcome): string {
  return outcome.kind === "failed" || outcome.kind === "retry" || outcome.kind === "auth_failed"
    ? outcome.reason
    : "";
}

function detailOf(detail: string | undefined): { detail?: string } {
  return detail ? { detail } : {};
}

/**
 * How a follow-up answer settles an `accepted` row (noted in its history); still
 * processing leaves it as it is.
 */
export function settleFollowUp(before: DeliveryRow, outcome: Outcome, now: number): DeliveryRow {
  const row: DeliveryRow = { ...before, updated_at: new Date(now).toISOString() };
  let next: DeliveryRow;
  switch (outcome.kind) {
    case "delivered":
      next = { ...row, status: "delivered", ...detailOf(outcome.detail ?? before.detail) };
      break;
    case "failed":
    case "auth_failed":
      next = { ...row, status: "failed", last_error: outcome.reason };
      break;
    default:
      return before;
  }
  const entry: AttemptRecord = {
    at: next.updated_at,
    attempt: before.attempts,
    status: next.status,
    note: "follow-up check",
    ...(next.status === "failed" ? { error: next.last_error } : {}),
    ...(next.detail ? { detail: next.detail } : {}),
  };
  return { ...next, history: withAttempt(before.history, entry) };
}
