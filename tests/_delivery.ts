/**
 * End-to-end delivery tests, shared: connect a platform, ingest events, read their delivery
 * rows and wait for them to settle, all through the HTTP API of a test Sluice. The platform
 * itself is a loopback mock (`./_mock_platform.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { connectorFor } from "../connectors/mod.ts";
import { jsonInit, type TestSluice } from "./_harness.ts";
import {
  type AcceptedJson,
  type BatchJson,
  bearer,
  type EventViewJson,
  expectJson,
} from "./_http.ts";
import { eventually } from "./_wait.ts";

/** Configuration for delivery tests: loopback endpoints allowed, retries within a second. */
export const DELIVERY_ENV: Record<string, string> = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms,300ms",
  SLUICE_DELIVERY_TIMEOUT: "1s",
};

/** Where an event stands with one destination. */
export type DeliveryStatusJson =
  | "pending"
  | "delivered"
  | "accepted"
  | "retrying"
  | "failed"
  | "skipped";

/** One delivery row, as `GET /v1/events/:event_id` lists it. */
export interface DeliveryJson {
  platform_id: string;
  type: string;
  status: DeliveryStatusJson;
  /** The name sent (after routing-rule renames). */
  event_name: string;
  attempts: number;
  /** HTTP status of the last answer. */
  last_status?: number;
  last_error?: string;
  /** The first 2 KiB of the platform's last answer. */
  response?: string;
  /** What the platform said on success (a request id, `requestId=…`, `processed: …`). */
  detail?: string;
  latency_ms?: number;
  next_attempt_at?: number;
  updated_at: string;
}

/** `GET /v1/events/:event_id` with its delivery rows typed. */
interface EventDeliveriesJson extends Omit<EventViewJson, "deliveries"> {
  deliveries: DeliveryJson[];
}

/** A destination as `POST /v1/platforms` takes it; `name` defaults to the connector's label. */
export interface NewPlatform {
  type: string;
  name?: string;
  config: Record<string, unknown>;
}

/** A destination as `GET /v1/platforms/:id` shows it (secret settings masked). */
export interface PlatformJson {
  id: string;
  type: string;
  name: string;
  enabled: boolean;
  config: Record<string, unknown>;
  health: { status: "healthy" | "unhealthy"; reason?: string; since?: string };
}

/** How a connector read an answer (`kind` and whatever goes with it). */
export interface OutcomeJson {
  kind: "delivered" | "accepted" | "retry" | "failed" | "auth_failed";
  reason?: string;
  detail?: string;
  [extra: string]: unknown;
}

/** The answer to `POST /v1/platforms/:id/test`. */
export interface PlatformTestJson {
  ok: boolean;
  sent: boolean;
  checked: "event" | "credentials" | "nothing";
  test_mode: string | null;
  outcome: OutcomeJson;
  classification: OutcomeJson;
  status: number | null;
  response: string;
  latency_ms: number;
}

/**
 * Connects a destination through `POST /v1/platforms` with the admin key and returns its id;
 * asserts 201 and that every secret setting given comes back masked.
 */
export async function connectPlatform(s: TestSluice, platform: NewPlatform): Promise<string> {
  const connector = connectorFor(platform.type);
  assert.ok(connector, `no connector for type "${platform.type}"`);
  const res = await s.request(
    "/v1/platforms",
    jsonInit({ ...platform, name: platform.name ?? connector.label }, s.workspace.admin_key),
  );
  const body = await expectJson<PlatformJson>(res, 201);
  for (const field of connector.secretFields) {
    if (field in platform.config) assert.equal(body.config[field], "********", field);
  }
  return body.id;
}

/** Connects a Meta destination (pixel 42) whose requests go to `endpoint`, a loopback mock. */
export function connectMeta(s: TestSluice, name: string, endpoint: string): Promise<string> {
  return connectPlatform(s, {
    type: "meta",
    name,
    config: { pixel_id: "42", access_token: "t", endpoint },
  });
}

/** A destination through `GET /v1/platforms/:id` (asserting 200). */
export async function platformOf(s: TestSluice, id: string): Promise<PlatformJson> {
  const res = await s.request(`/v1/platforms/${id}`, { headers: bearer(s.workspace.admin_key) });
  return await expectJson<PlatformJson>(res, 200);
}

/** Sends the platform test (`POST /v1/platforms/:id/test`), asserting 200, and returns its answer. */
export async function testPlatform(s: TestSluice, id: string): Promise<PlatformTestJson> {
  const res = await s.request(`/v1/platforms/${id}/test`, jsonInit({}, s.workspace.admin_key));
  return await expectJson<PlatformTestJson>(res, 200);
}

/** Posts `events` as one batch to `/v1/events` with the ingest key; asserts 202 and every one accepted. */
export async function ingestEvents(s: TestSluice, events: readonly unknown[]): Promise<BatchJson> {
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  const body = await expectJson<BatchJson>(res, 202);
  assert.equal(body.accepted, events.length, JSON.stringify(body));
  return body;
}

/** Posts one event to `/v1/events` with the ingest key; asserts 202. */
export async function ingestEvent(s: TestSluice, event: unknown): Promise<AcceptedJson> {
  const res = await s.request("/v1/events", jsonInit(event, s.workspace.ingest_key));
  return await expectJson<AcceptedJson>(res, 202);
}

/** The delivery rows of an event, one per destination, read with the admin key (asserting 200). */
export async function deliveriesOf(s: TestSluice, eventId: string): Promise<DeliveryJson[]> {
  const res = await s.request(`/v1/events/${encodeURIComponent(eventId)}`, {
    headers: bearer(s.workspace.admin_key),
  });
  return (await expectJson<EventDeliveriesJson>(res, 200)).deliveries;
}

/**
 * Polls an event's delivery rows until `done` holds for them and returns them; on time-out
 * the error shows the rows last read.
 */
export async function deliveriesWhen(
  s: TestSluice,
  eventId: string,
  done: (rows: DeliveryJson[]) => boolean,
): Promise<DeliveryJson[]> {
  let rows: DeliveryJson[] = [];
  try {
    return await eventually(`the deliveries of ${eventId}`, async () => {
      rows = await deliveriesOf(s, eventId);
      return done(rows) ? rows : undefined;
    });
  } catch (error) {
    const last = JSON.stringify(rows);
    throw new Error(`Waiting for the deliveries of ${eventId} failed; last read: ${last}`, {
      cause: error,
    });
  }
}

const SETTLED = /^(delivered|failed|skipped)$/;

/**
 * Waits for the event's (first) delivery row to reach `status` (a status, or a pattern the
 * status matches; by default any settled one: delivered, failed or skipped) and returns it.
 */
export async function settledDelivery(
  s: TestSluice,
  eventId: string,
  status: DeliveryStatusJson | RegExp = SETTLED,
): Promise<DeliveryJson> {
  const matches = (row: DeliveryJson | undefined): row is DeliveryJson =>
    row !== undefined &&
    (typeof status === "string" ? row.status === status : status.test(row.status));
  const [row] = await deliveriesWhen(s, eventId, (rows) => matches(rows[0]));
  assert.ok(matches(row));
  return row;
}

/**
 * Asserts that a destination whose credentials were refused is paused: it shows unhealthy,
 * and `event`, ingested now, is skipped there as paused.
 */
export async function expectPaused(
  s: TestSluice,
  id: string,
  event: { event_id: string },
): Promise<void> {
  assert.equal((await platformOf(s, id)).health.status, "unhealthy");
  await ingestEvents(s, [event]);
  const paused = await settledDelivery(s, event.event_id, "skipped");
  assert.match(paused.last_error ?? "", /paused/);
}
