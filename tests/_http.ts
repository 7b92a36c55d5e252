import assert from "node:assert/strict";
import type { TestSluice } from "./_harness.ts";

/** One field-level problem, as the API reports it. */
export interface FieldErrorJson {
  path: string;
  message: string;
}

/** An RFC 7807 problem document as Sluice answers it. */
export interface ProblemJson {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldErrorJson[];
  [extra: string]: unknown;
}

/** The answer to one accepted event. */
export interface AcceptedJson {
  success: true;
  event_id: string;
  trace_id: string;
}

/** One per-event result of a batch. */
export interface BatchResultJson {
  event_id?: string;
  status: "accepted" | "duplicate" | "rejected";
  errors?: FieldErrorJson[];
}

/** The answer to a batch. */
export interface BatchJson {
  success: true;
  accepted: number;
  duplicates: number;
  rejected: number;
  trace_id: string;
  results: BatchResultJson[];
}

/** An event as `GET /v1/events` and `GET /v1/events/:id` return it. */
export interface EventJson {
  id: string;
  workspace_id: string;
  event_id: string;
  event_name: string;
  original_event_name?: string;
  /** ISO 8601. */
  event_time: string;
  /** ISO 8601. */
  received_at: string;
  source: string;
  dialect: string;
  user_data: {
    email?: string;
    phone?: string;
    first_name?: string;
    last_name?: string;
    customer_id?: string;
    anonymous_id?: string;
    client_ip?: string;
    user_agent?: string;
    browser_ids?: Record<string, string>;
    click_ids?: Record<string, string>;
    [extra: string]: unknown;
  };
  value?: number;
  currency?: string;
  order_id?: string;
  page?: { url?: string; path?: string; referrer?: string; title?: string };
  properties: Record<string, unknown>;
  trace_id: string;
  [extra: string]: unknown;
}

/** `GET /v1/events/:event_id`. */
export interface EventViewJson {
  event: EventJson;
  handed_off_at: string | null;
  deliveries: unknown[];
}

/** `GET /v1/events`. */
export interface EventPageJson {
  data: EventJson[];
  next_cursor: string | null;
}

/** Headers carrying `Authorization: Bearer <key>`. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** A JSON request init with extra headers (Origin, Cookie, User-Agent…) and no key. */
export function jsonWith(
  body: unknown,
  headers: Record<string, string>,
  method = "POST",
): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/**
 * Asserts that a response is an RFC 7807 problem with `status` and returns it; when
 * `paths` is given, the problem must carry exactly those field-error paths (any order).
 */
export async function expectProblem(
  res: Response,
  status: number,
  paths?: string[],
): Promise<ProblemJson> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const problem = JSON.parse(text) as ProblemJson;
  assert.equal(typeof problem.type, "string");
  assert.doesNotThrow(() => new URL(problem.type), `type "${problem.type}" is a URI`);
  assert.equal(typeof problem.title, "string");
  assert.ok(problem.title.length > 0);
  assert.equal(problem.status, status);
  assert.equal(typeof problem.detail, "string");
  assert.ok(problem.detail.length > 0);
  if (problem.errors !== undefined) {
    assert.ok(Array.isArray(problem.errors));
    for (const error of problem.errors) {
      assert.equal(typeof error.path, "string");
      assert.equal(typeof error.message, "string");
      assert.ok(error.message.length > 0);
    }
  }
  if (paths) {
    assert.ok(problem.errors, `problem has field errors: ${text}`);
    assert.deepEqual(problem.errors.map((e) => e.path).sort(), [...paths].sort());
  }
  return problem;
}

/** Reads a JSON body after checking the status and the JSON content type. */
export async function expectJson<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
  return JSON.parse(text) as T;
}

/** The stored event for an event id, read through `GET /v1/events/:event_id` with the admin key. */
export async function storedEvent(s: TestSluice, eventId: string): Promise<EventJson> {
  const res = await s.request(`/v1/events/${encodeURIComponent(eventId)}`, {
    headers: bearer(s.workspace.admin_key),
  });
  return (await expectJson<EventViewJson>(res, 200)).event;
}

/** Every stored event of the test workspace, newest first, through `GET /v1/events`. */
export async function listEvents(s: TestSluice, query = ""): Promise<EventJson[]> {
  const res = await s.request(`/v1/events?limit=200${query ? `&${query}` : ""}`, {
    headers: bearer(s.workspace.admin_key),
  });
  return (await expectJson<EventPageJson>(res, 200)).data;
}

/** How many raw event records the workspace has in KV. */
export async function countStored(s: TestSluice): Promise<number> {
  let n = 0;
  for await (const _ of s.rt.kv.list({ prefix: ["ev", s.workspace.id] })) n++;
  return n;
}

/** Changes the test workspace's settings through `PATCH /v1/workspace`. */
export async function patchSettings(
  s: TestSluice,
  settings: Record<string, number>,
): Promise<void> {
  const res = await s.request("/v1/workspace", {
    method: "PATCH",
    headers: { "content-type": "application/json", ...bearer(s.workspace.admin_key) },
    body: JSON.stringify({ settings }),
  });
  await expectJson(res, 200);
}

/**
 * Waits until the clock is not within `marginMs` of a minute boundary, so a sequence of
 * requests against a fixed one-minute rate-limit window all fall in the same window.
 */
export async function awayFromMinuteEdge(marginMs = 2_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

/** Basic credentials the way Segment libraries send a write key: user name, empty password. */
export function segmentBasic(writeKey: string): Record<string, string> {
  return { authorization: `Basic ${btoa(`${writeKey}:`)}` };
}
