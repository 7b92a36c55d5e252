import { z } from "@hono/zod-openapi";
import { PLATFORM_TYPES, type PlatformType } from "../../connectors/mod.ts";
import type { HandoffRecord } from "../event_store.ts";
import { eventDeliveriesPrefix, handoffKey } from "../kv/keys.ts";

/** Every delivery status. */
export const DELIVERY_STATUSES = [
  "pending",
  "delivered",
  "accepted",
  "retrying",
  "failed",
  "skipped",
] as const;

/**
 * Where one event stands with one destination; `accepted`: the platform took it in and is
 * still processing it (Google Data Manager), to be settled by a follow-up check.
 */
export type DeliveryStatus = typeof DELIVERY_STATUSES[number];

/** How many attempts a row remembers (the newest). */
export const MAX_HISTORY = 10;
/** Characters of the platform's answer one history entry keeps. */
export const HISTORY_SNIPPET_CHARS = 512;

/**
 * The request that carried an event, as far as the row keeps it: a request carries a
 * whole batch, so the row stores what identifies the event's part (the method, the URL
 * with secrets masked, how many events the request held and where this one sat), never
 * the batch body. The event page shows the event's own mapped payload beside it.
 */
export const sentRequestSchema = z.object({
  method: z.string(),
  url: z.string().openapi({ description: "The URL sent to, secrets masked" }),
  events: z.number().int().openapi({ description: "Events the request carried" }),
  position: z.number().int().openapi({ description: "This event's place in the request, from 0" }),
}).openapi("SentRequest");

/** The part of a request a row keeps. */
export type SentRequest = z.output<typeof sentRequestSchema>;

/** One attempt (or a requeue) in a row's history. */
export const attemptRecordSchema = z.object({
  at: z.string(),
  attempt: z.number().int().openapi({
    description: "The attempt number within its round (0 for a requeue note)",
  }),
  status: z.enum(DELIVERY_STATUSES).openapi({ description: "The row's status after it" }),
  http_status: z.number().int().optional(),
  latency_ms: z.number().optional(),
  error: z.string().optional(),
  detail: z.string().optional(),
  response: z.string().optional().openapi({
    description: `The first ${HISTORY_SNIPPET_CHARS} characters of the platform's answer`,
  }),
  request: sentRequestSchema.optional(),
  note: z.string().optional().openapi({
    description: "What put the row back in delivery: replay, forward, retry_failed",
  }),
}).openapi("DeliveryAttempt");

/** One attempt (or a requeue) in a row's history. */
export type AttemptRecord = z.output<typeof attemptRecordSchema>;

/** The history with one more entry, the oldest dropped past {@linkcode MAX_HISTORY}. */
export function withAttempt(
  history: readonly AttemptRecord[] | undefined,
  entry: AttemptRecord,
): AttemptRecord[] {
  return [...(history ?? []), entry].slice(-MAX_HISTORY);
}

/** One event's delivery to one destination: the answer to "did it reach Meta, and what did Meta say?". */
export const deliveryRowSchema = z.object({
  platform_id: z.string(),
  type: z.enum(PLATFORM_TYPES),
  status: z.enum(DELIVERY_STATUSES),
  event_name: z.string().openapi({ description: "The name sent (after routing-rule renames)" }),
  attempts: z.number().int(),
  last_status: z.number().int().optional().openapi({
    description: "HTTP status of the last answer",
  }),
  last_error: z.string().optional().openapi({
    description: "Why the last attempt did not deliver, or why the event was skipped",
  }),
  response: z.string().optional().openapi({
    description: "The first 2 KiB of the platform's last answer",
  }),
  detail: z.string().optional().openapi({
    description:
      "What the platform said on success (Meta's events_received and fbtrace_id, a request id)",
  }),
  latency_ms: z.number().optional(),
  next_attempt_at: z.number().optional().openapi({
    description: "Epoch ms of the next attempt, while retrying",
  }),
  updated_at: z.string(),
  history: z.array(attemptRecordSchema).optional().openapi({
    description:
      `The last ${MAX_HISTORY} attempts, oldest first; kept across retries, replays and forwards`,
  }),
});

/** One event's delivery to one destination, as stored. */
export type DeliveryRow = z.output<typeof deliveryRowSchema>;

/** A delivery row as the API shows it: every time in ISO 8601. */
export const shownDeliveryRowSchema = deliveryRowSchema.extend({
  next_attempt_at: z.string().optional().openapi({
    description: "When the next attempt is due (ISO 8601), while retrying",
  }),
}).openapi("DeliveryRow");

/** A delivery row as the API shows it. */
export type ShownDeliveryRow = z.output<typeof shownDeliveryRowSchema>;

/** A stored row as the API shows it. */
export function shownDeliveryRow(row: DeliveryRow): ShownDeliveryRow {
  const { next_attempt_at: next, ...rest } = row;
  return next === undefined ? rest : { ...rest, next_attempt_at: new Date(next).toISOString() };
}

/** How long delivery rows are kept, ms (with the events they describe). */
export const DELIVERY_ROW_TTL_MS = 30 * 86_400_000;

/** Where fan-out sent an event for one destination, or why it did not. */
export interface Route {
  type: PlatformType;
  /** The name to send (after routing-rule renames). */
  event_name: string;
  /** Why the event is not sent there (rules, consent, a paused destination). */
  skipped?: string;
}

/**
 * The hand-off record with fan-out's routes, by destination id. A route stands for the
 * event's row there until a send's answer writes the row: fan-out writes one record per
 * event instead of a row per destination.
 */
export interface RoutedHandoff extends HandoffRecord {
  routes?: Record<string, Route>;
}

/** The row a route stands for before any answer: pending, or skipped with its reason. */
export function routeRow(destinationId: string, route: Route, at: number): DeliveryRow {
  return {
    platform_id: destinationId,
    type: route.type,
    status: route.skipped === undefined ? "pending" : "skipped",
    event_name: route.event_name,
    attempts: 0,
    updated_at: new Date(at).toISOString(),
    ...(route.skipped === undefined ? {} : { last_error: route.skipped }),
  };
}

/** One event's delivery rows, by destination id: those written, then routes not yet answered. */
export async function deliveriesOf(
  kv: Deno.Kv,
  wsId: string,
  ulid: string,
): Promise<DeliveryRow[]> {
  const rows = new Map<string, DeliveryRow>();
  for await (const entry of kv.list<DeliveryRow>({ prefix: eventDeliveriesPrefix(wsId, ulid) })) {
    rows.set(entry.value.platform_id, entry.value);
  }
  const handoff = (await kv.get<RoutedHandoff>(handoffKey(wsId, ulid))).value;
  for (const [destinationId, route] of Object.entries(handoff?.routes ?? {})) {
    if (!rows.has(destinationId)) {
      rows.set(destinationId, routeRow(destinationId, route, handoff!.at));
    }
  }
  return [...rows.keys()].sort().map((destinationId) => rows.get(destinationId)!);
}
