/**
 * `GET /v1/deliveries/failures`: a workspace's failed and skipped deliveries grouped by
 * destination, status and reason, so one platform error on 400 events reads as one line.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { PLATFORM_TYPES } from "../../connectors/mod.ts";
import type { Sealer } from "../crypto.ts";
import { openEvent, type SealedEvent } from "../event_store.ts";
import { eventPrefix } from "../kv/keys.ts";
import { readByIds } from "../kv/range_read.ts";
import type { Destination } from "./destinations.ts";
import type { DeliveryRow } from "./rows.ts";
import { REPORT_MAX_SCANNED, scanDeliveryRows, type ScanRange } from "./row_scan.ts";

/** Example event ids kept per group. */
export const EXAMPLES_PER_GROUP = 5;

/** Longest group key, characters. */
const MAX_KEY_LENGTH = 300;

/** What stands in for an event-specific part of a reason. */
const ELIDED = "…";

/** Quoted text holding a digit (an id, an order number, a date) becomes `"…"`; other quoted text stays. */
function elideQuoted(quoted: string): string {
  return /\d/.test(quoted) ? `${quoted[0]}${ELIDED}${quoted.at(-1)}` : quoted;
}

/**
 * Rewrites that strip event-specific parts from a reason, in order. Each keeps the words
 * around what it removes, so the key still reads as the reason.
 */
const REWRITES: readonly [RegExp, (match: string, ...groups: string[]) => string][] = [
  // Trace and request ids: `(fbtrace_id AbC…)`, `fbtrace_id=AbC`, `request id: 3f2a…`.
  [
    /\b((?:fb)?trace[_ -]?id|request[_ -]?id)\b([=:]?\s*)[^\s,;)]+/gi,
    (_, name, gap) => `${name}${gap}${ELIDED}`,
  ],
  // Quoted text, pair by pair from the left (so the gap between two JSON strings is never
  // read as one); a single quote only where it is no apostrophe.
  [/"[^"\n]*"/g, elideQuoted],
  [/(?<![\p{L}\d])'[^'\n]*'(?![\p{L}\d])/gu, elideQuoted],
  [/`[^`\n]*`/g, elideQuoted],
  [/“[^”\n]*”/g, elideQuoted],
  // E-mail addresses.
  [/[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}/g, () => ELIDED],
  // UUIDs, then long tokens holding a digit (ULIDs, hex digests, base64 ids).
  [/\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b/gi, () => ELIDED],
  [/\b(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}\b/g, () => ELIDED],
  // What follows "event", "order", "user", "profile" or "id" when it holds a digit.
  [
    /\b(event|order|user|profile|id)\b(\s*[:#=]?\s*)(?=[^\s,;)]*\d)[^\s,;)]+/gi,
    (_, word, gap) => `${word}${gap}${ELIDED}`,
  ],
  // Long numbers (timestamps, order numbers, phone numbers); error codes are shorter.
  [/\d{8,}/g, () => ELIDED],
];

/**
 * The stable part of a delivery's reason, for grouping: trace and request ids, quoted
 * values holding digits, e-mail addresses, UUIDs, long ids and long numbers become `…`;
 * white space is collapsed. Error codes, HTTP statuses and field names stay, so
 * `Meta error 100: Invalid parameter (fbtrace_id AbC)` and the same error with another
 * trace id share the key `Meta error 100: Invalid parameter (fbtrace_id …)`.
 */
export function reasonKey(reason: string): string {
  let key = reason;
  for (const [pattern, replacement] of REWRITES) key = key.replace(pattern, replacement);
  return key.replace(/\s+/g, " ").trim().slice(0, MAX_KEY_LENGTH);
}

/** One group of failed or skipped deliveries, as the API answers it. */
export const failureGroupSchema = z.object({
  platform_id: z.string(),
  type: z.enum(PLATFORM_TYPES),
  name: z.string().nullable().openapi({
    description: "The platform's name; null when it was deleted since",
  }),
  status: z.enum(["failed", "skipped"]),
  reason_key: z.string().openapi({
    description: "The reason with event-specific parts (ids, trace ids, quoted values " +
      "holding digits, long numbers) replaced by `…`: what the deliveries are grouped by",
    example: "Meta error 100: Invalid parameter (fbtrace_id …)",
  }),
  example_reason: z.string().openapi({
    description: "The newest delivery's reason in full",
    example: "Meta error 100: Invalid parameter (fbtrace_id AbC123)",
  }),
  count: z.number().int(),
  last_at: z.string().openapi({ description: "When the newest of them failed or was skipped" }),
  event_ids: z.array(z.string()).openapi({
    description: `Up to ${EXAMPLES_PER_GROUP} of the newest events' event_id (those still stored)`,
  }),
}).openapi("FailureGroup");

/** One group of failed or skipped deliveries. */
export type FailureGroup = z.output<typeof failureGroupSchema>;

/** The answer of `GET /v1/deliveries/failures`. */
export const failureReportSchema = z.object({
  data: z.array(failureGroupSchema).openapi({ description: "By count, largest first" }),
  total_groups: z.number().int().openapi({
    description: "Groups found; more than `data` holds when it was cut at `limit`",
  }),
  truncated: z.boolean().openapi({
    description: `The scan stopped after ${REPORT_MAX_SCANNED.toLocaleString("en")} ` +
      "deliveries: the counts cover events received from `covered_from` on",
  }),
  start: z.string(),
  end: z.string(),
  covered_from: z.string().openapi({
    description: "The counts cover events received from then to `end` (`start` unless truncated)",
  }),
}).openapi("FailureReport");

/** The answer of `GET /v1/deliveries/failures`. */
export type FailureReport = z.output<typeof failureReportSchema>;

/** What to report on. */
export interface FailureQuery extends ScanRange {
  /** One destination, or all. */
  destinationId?: string;
  /** Most groups answered. */
  limit: number;
  /** Most rows and hand-off records read. */
  maxScanned?: number;
}

/** A group while the scan runs. */
interface Tally {
  platformId: string;
  type: DeliveryRow["type"];
  status: "failed" | "skipped";
  key: string;
  example: string;
  count: number;
  lastAt: string;
  /** Storage ids of the newest events, newest first (the scan runs newest first). */
  ulids: string[];
}

/**
 * Groups the failed and skipped deliveries of the events received in the query's range
 * by destination, status and {@linkcode reasonKey}, largest first; up to `limit` groups,
 * each with the event_id of its newest events.
 */
export async function failureReport(
  kv: Deno.Kv,
  sealer: Sealer,
  wsId: string,
  destinations: readonly Destination[],
  query: FailureQuery,
): Promise<FailureReport> {
  const tallies = new Map<string, Tally>();
  const scan = await scanDeliveryRows(kv, wsId, query, (ulid, rows) => {
    for (const row of rows) {
      if (row.status !== "failed" && row.status !== "skipped") continue;
      if (query.destinationId && row.platform_id !== query.destinationId) continue;
      const reason = row.last_error ?? "";
      const key = reasonKey(reason);
      const id = JSON.stringify([row.platform_id, row.status, key]);
      const tally = tallies.get(id) ?? {
        platformId: row.platform_id,
        type: row.type,
        status: row.status,
        key,
        example: reason,
        count: 0,
        lastAt: row.updated_at,
        ulids: [],
      };
      tally.count++;
      if (row.updated_at > tally.lastAt) {
        tally.lastAt = row.updated_at;
        tally.example = reason;
      }
      if (tally.ulids.length < EXAMPLES_PER_GROUP) tally.ulids.push(ulid);
      tallies.set(id, tally);
    }
  }, query.maxScanned);
  const ranked = [...tallies.values()]
    .sort((a, b) => b.count - a.count || b.lastAt.localeCompare(a.lastAt))
    .slice(0, query.limit);
  const eventIds = await eventIdsOf(kv, sealer, wsId, ranked.flatMap((t) => t.ulids));
  const names = new Map(destinations.map((d) => [d.id, d.name]));
  return {
    data: ranked.map((t) => ({
      platform_id: t.platformId,
      type: t.type,
      name: names.get(t.platformId) ?? null,
      status: t.status,
      reason_key: t.key,
      example_reason: t.example,
      count: t.count,
      last_at: t.lastAt,
      event_ids: t.ulids.flatMap((ulid) => eventIds.get(ulid) ?? []),
    })),
    total_groups: tallies.size,
    truncated: scan.truncated,
    start: new Date(query.start).toISOString(),
    end: new Date(query.end).toISOString(),
    covered_from: new Date(scan.coveredFrom).toISOString(),
  };
}

/** The sender's event_id of each stored event, by storage id; expired events are left out. */
async function eventIdsOf(
  kv: Deno.Kv,
  sealer: Sealer,
  wsId: string,
  ulids: readonly string[],
): Promise<Map<string, string>> {
  const sealed = await readByIds<SealedEvent>(kv, ulids, { prefix: eventPrefix(wsId) });
  return new Map([...sealed].map(([ulid, bytes]) => [ulid, openEvent(bytes, sealer).event_id]));
}
